/**
 * Rows in column form: what the writer appends, what merge filters and concatenates.
 *
 * Each column is one typed array (strings: one JS array), so a batch of B rows becomes an Arrow
 * record batch without per-row work, and e / m stay [rows * d] buffers end to end.
 */
import { PrototokenError } from '../util/errors.js';
import { splitOf, type SplitRatios } from '../texts/split.js';

/** One solved (text, restart), as the solver hands it over. `n_tokens` and `split` are derived. */
export interface SolutionRecord {
  textId: string;
  text: string;
  tokenIds: Int32Array;
  /** [d] */
  e: Float32Array;
  /** [d]; required when m is per text, forbidden otherwise. */
  m?: Float32Array;
  /** Any safe integer (stored as Int64). */
  seed: number;
  /** Which restart of the text (0-based); stored only when the dataset keeps every restart. Default 0. */
  restart?: number;
  steps: number;
  accuracy: number;
  cTokens: number;
  prefixLen: number;
  loss: number;
  hLmNats: number;
  solved: boolean;
  seconds: number;
}

/**
 * The same rows column-wise, e.g. straight from a solver batch: `e` is [rows * d] as returned by
 * `tensor.dataSync()`. Every other field has one entry per row.
 */
export interface SolutionBatch {
  textId: readonly string[];
  text: readonly string[];
  tokenIds: readonly Int32Array[];
  /** [rows * d] */
  e: Float32Array;
  /** [rows * d]; only when m is per text. */
  m?: Float32Array;
  seed: ArrayLike<number>;
  /** Restart of each row; only stored when the dataset keeps every restart. Default all 0. */
  restart?: ArrayLike<number>;
  steps: ArrayLike<number>;
  accuracy: ArrayLike<number>;
  cTokens: ArrayLike<number>;
  prefixLen: ArrayLike<number>;
  loss: ArrayLike<number>;
  hLmNats: ArrayLike<number>;
  solved: ArrayLike<boolean>;
  seconds: ArrayLike<number>;
}

/** Every stored column of `rows` rows, in memory. `tokenOffsets` has rows + 1 entries. */
export interface SolutionColumns {
  rows: number;
  d: number;
  textId: string[];
  text: string[];
  tokenOffsets: Int32Array;
  tokenIds: Int32Array;
  e: Float32Array;
  m: Float32Array | null;
  seed: BigInt64Array;
  /** All 0 when the dataset has no `restart` column. */
  restart: Int32Array;
  steps: Int32Array;
  accuracy: Float32Array;
  cTokens: Int32Array;
  prefixLen: Int32Array;
  loss: Float32Array;
  hLmNats: Float64Array;
  /** 0 / 1 per row. */
  solved: Uint8Array;
  seconds: Float32Array;
  split: string[];
}

/** What the conversion needs to know about the dataset. */
export interface ColumnContext {
  d: number;
  perTextM: boolean;
  splitRatios: SplitRatios;
  /** Named in error messages. */
  where: string;
}

/** Turn records into columns, checking every field. */
export function columnsFromRecords(records: readonly SolutionRecord[], ctx: ColumnContext): SolutionColumns {
  const pick = <T>(f: (r: SolutionRecord) => T): T[] => records.map(f);
  const { d } = ctx;
  const e = new Float32Array(records.length * d);
  const m = ctx.perTextM ? new Float32Array(records.length * d) : null;
  records.forEach((r, i) => {
    checkVector(r.e, d, 'e', r.textId, ctx);
    e.set(r.e, i * d);
    if (m) {
      if (!r.m) throw badRow(r.textId, 'has no m, but this dataset stores m per text', ctx);
      checkVector(r.m, d, 'm', r.textId, ctx);
      m.set(r.m, i * d);
    } else if (r.m) {
      throw badRow(r.textId, 'has its own m, but this dataset uses one shared m (m.safetensors)', ctx);
    }
  });
  return columnsFromBatch(
    {
      textId: pick((r) => r.textId),
      text: pick((r) => r.text),
      tokenIds: pick((r) => r.tokenIds),
      e,
      m: m ?? undefined,
      seed: pick((r) => r.seed),
      restart: pick((r) => r.restart ?? 0),
      steps: pick((r) => r.steps),
      accuracy: pick((r) => r.accuracy),
      cTokens: pick((r) => r.cTokens),
      prefixLen: pick((r) => r.prefixLen),
      loss: pick((r) => r.loss),
      hLmNats: pick((r) => r.hLmNats),
      solved: pick((r) => r.solved),
      seconds: pick((r) => r.seconds),
    },
    ctx,
  );
}

/** Turn a column-wise batch into stored columns, checking lengths and types. */
export function columnsFromBatch(b: SolutionBatch, ctx: ColumnContext): SolutionColumns {
  const rows = b.textId.length;
  const { d } = ctx;
  const lengths: [string, number][] = [
    ['text', b.text.length], ['tokenIds', b.tokenIds.length], ['seed', b.seed.length], ['restart', b.restart?.length ?? rows], ['steps', b.steps.length],
    ['accuracy', b.accuracy.length], ['cTokens', b.cTokens.length], ['prefixLen', b.prefixLen.length],
    ['loss', b.loss.length], ['hLmNats', b.hLmNats.length], ['solved', b.solved.length], ['seconds', b.seconds.length],
  ];
  for (const [name, n] of lengths) {
    if (n !== rows) throw new PrototokenError(`batch field ${name} has ${n} entries but textId has ${rows}`, { file: ctx.where });
  }
  if (b.e.length !== rows * d) {
    throw new PrototokenError(`batch e has ${b.e.length} floats; ${rows} rows of d_model ${d} need ${rows * d}`, { file: ctx.where });
  }
  if (ctx.perTextM !== (b.m !== undefined)) {
    throw new PrototokenError(
      ctx.perTextM ? 'batch has no m, but this dataset stores m per text' : 'batch has m, but this dataset uses a shared m',
      { file: ctx.where },
    );
  }
  if (b.m && b.m.length !== rows * d) {
    throw new PrototokenError(`batch m has ${b.m.length} floats; ${rows} rows of d_model ${d} need ${rows * d}`, { file: ctx.where });
  }
  const tokenOffsets = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) {
    const id = b.textId[i];
    if (typeof id !== 'string' || id === '') throw badRow(String(id), 'has an empty or non-string text id', ctx);
    if (typeof b.text[i] !== 'string') throw badRow(id, 'has no text', ctx);
    if (!(b.tokenIds[i] instanceof Int32Array)) throw badRow(id, 'tokenIds must be an Int32Array', ctx);
    tokenOffsets[i + 1] = tokenOffsets[i] + b.tokenIds[i].length;
  }
  const tokenIds = new Int32Array(tokenOffsets[rows]);
  b.tokenIds.forEach((t, i) => tokenIds.set(t, tokenOffsets[i]));
  const seed = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) {
    const s = b.seed[i];
    if (!Number.isSafeInteger(s)) throw badRow(b.textId[i], `has seed ${s}, which is not a safe integer`, ctx);
    seed[i] = BigInt(s);
  }
  const restart = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = b.restart?.[i] ?? 0;
    if (!Number.isInteger(r) || r < 0 || r > 0x7fffffff) throw badRow(b.textId[i], `has restart ${r}, which is not a non-negative integer`, ctx);
    restart[i] = r;
  }
  return {
    rows,
    d,
    textId: [...b.textId],
    text: [...b.text],
    tokenOffsets,
    tokenIds,
    e: b.e,
    m: b.m ?? null,
    seed,
    restart,
    steps: Int32Array.from(b.steps),
    accuracy: Float32Array.from(b.accuracy),
    cTokens: Int32Array.from(b.cTokens),
    prefixLen: Int32Array.from(b.prefixLen),
    loss: Float32Array.from(b.loss),
    hLmNats: Float64Array.from(b.hLmNats),
    solved: Uint8Array.from(b.solved, (s) => (s ? 1 : 0)),
    seconds: Float32Array.from(b.seconds),
    split: b.textId.map((id) => splitOf(id, ctx.splitRatios)),
  };
}

/** Rows `indices` of `c`, in that order (copies). */
export function takeRows(c: SolutionColumns, indices: readonly number[]): SolutionColumns {
  const { d } = c;
  const rows = indices.length;
  const tokenOffsets = new Int32Array(rows + 1);
  indices.forEach((src, i) => (tokenOffsets[i + 1] = tokenOffsets[i] + c.tokenOffsets[src + 1] - c.tokenOffsets[src]));
  const tokenIds = new Int32Array(tokenOffsets[rows]);
  const e = new Float32Array(rows * d);
  const m = c.m ? new Float32Array(rows * d) : null;
  indices.forEach((src, i) => {
    tokenIds.set(c.tokenIds.subarray(c.tokenOffsets[src], c.tokenOffsets[src + 1]), tokenOffsets[i]);
    e.set(c.e.subarray(src * d, (src + 1) * d), i * d);
    m?.set((c.m as Float32Array).subarray(src * d, (src + 1) * d), i * d);
  });
  const gather = <A extends { [i: number]: number | bigint; length: number }>(a: A, make: (n: number) => A): A => {
    const out = make(rows);
    indices.forEach((src, i) => (out[i] = a[src]));
    return out;
  };
  return {
    rows,
    d,
    textId: indices.map((i) => c.textId[i]),
    text: indices.map((i) => c.text[i]),
    tokenOffsets,
    tokenIds,
    e,
    m,
    seed: gather(c.seed, (n) => new BigInt64Array(n)),
    restart: gather(c.restart, (n) => new Int32Array(n)),
    steps: gather(c.steps, (n) => new Int32Array(n)),
    accuracy: gather(c.accuracy, (n) => new Float32Array(n)),
    cTokens: gather(c.cTokens, (n) => new Int32Array(n)),
    prefixLen: gather(c.prefixLen, (n) => new Int32Array(n)),
    loss: gather(c.loss, (n) => new Float32Array(n)),
    hLmNats: gather(c.hLmNats, (n) => new Float64Array(n)),
    solved: gather(c.solved, (n) => new Uint8Array(n)),
    seconds: gather(c.seconds, (n) => new Float32Array(n)),
    split: indices.map((i) => c.split[i]),
  };
}

/** What `concatColumns` needs of a typed array (any element type). */
interface TypedColumn<A> {
  set(values: A, offset: number): void;
  subarray(begin: number, end: number): A;
}

/** All rows of `parts`, in order, as one set of columns (copies). All parts must share d and m mode. */
export function concatColumns(parts: readonly SolutionColumns[], d: number, perTextM: boolean): SolutionColumns {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const tokenOffsets = new Int32Array(rows + 1);
  const tokenIds = new Int32Array(parts.reduce((n, p) => n + p.tokenIds.length, 0));
  let row = 0;
  let tok = 0;
  for (const p of parts) {
    for (let i = 0; i < p.rows; i++) tokenOffsets[row + i + 1] = tok + p.tokenOffsets[i + 1];
    tokenIds.set(p.tokenIds.subarray(0, p.tokenOffsets[p.rows]), tok);
    row += p.rows;
    tok += p.tokenOffsets[p.rows];
  }
  function cat<A extends TypedColumn<A>>(get: (p: SolutionColumns) => A, make: (n: number) => A, width = 1): A {
    const out = make(rows * width);
    let at = 0;
    for (const p of parts) {
      out.set(get(p).subarray(0, p.rows * width), at);
      at += p.rows * width;
    }
    return out;
  }
  return {
    rows,
    d,
    textId: parts.flatMap((p) => p.textId),
    text: parts.flatMap((p) => p.text),
    tokenOffsets,
    tokenIds,
    e: cat((p) => p.e, (n) => new Float32Array(n), d),
    m: perTextM ? cat((p) => p.m as Float32Array, (n) => new Float32Array(n), d) : null,
    seed: cat((p) => p.seed, (n) => new BigInt64Array(n)),
    restart: cat((p) => p.restart, (n) => new Int32Array(n)),
    steps: cat((p) => p.steps, (n) => new Int32Array(n)),
    accuracy: cat((p) => p.accuracy, (n) => new Float32Array(n)),
    cTokens: cat((p) => p.cTokens, (n) => new Int32Array(n)),
    prefixLen: cat((p) => p.prefixLen, (n) => new Int32Array(n)),
    loss: cat((p) => p.loss, (n) => new Float32Array(n)),
    hLmNats: cat((p) => p.hLmNats, (n) => new Float64Array(n)),
    solved: cat((p) => p.solved, (n) => new Uint8Array(n)),
    seconds: cat((p) => p.seconds, (n) => new Float32Array(n)),
    split: parts.flatMap((p) => p.split),
  };
}

function checkVector(v: Float32Array, d: number, name: string, textId: string, ctx: ColumnContext): void {
  if (!(v instanceof Float32Array) || v.length !== d) {
    throw badRow(textId, `has ${name} of length ${v?.length}, but d_model is ${d} (a Float32Array is expected)`, ctx);
  }
}

function badRow(textId: string, problem: string, ctx: ColumnContext): PrototokenError {
  return new PrototokenError(`row for text '${textId}' ${problem}`, {
    file: ctx.where,
    fix: 'this is a bug in the caller of the dataset writer; the dataset itself is unchanged',
  });
}
