/**
 * Rows in column form: what the writer appends, what merge filters and concatenates, what the
 * readers hand out. All of it is derived from the column table (column_table.ts).
 *
 * Each column is one typed array (strings: one JS array), so a batch of B rows becomes an Arrow
 * record batch without per-row work, and e / m stay [rows * d] buffers end to end.
 */
import { PrototokenError } from '../util/errors.js';
import { splitOf, type SplitRatios } from '../texts/split.js';
import { COLUMN_SPECS, HELD_COLUMNS, INPUT_COLUMNS, specOfField, type COLUMNS, type ColumnKind, type ColumnSpec, type ShapeFlag } from './column_table.js';
import type { SchemaShape } from './schema.js';

type Column = (typeof COLUMNS)[number];
/** Computed columns: never handed over by the writer's caller. */
type Derived = Extract<Column, { derived: object }>;
/** Recomputed on read: not held in column sets. */
type Recomputed = Extract<Column, { derived: { rule: 'lengths' } }>;
/** Stored only in some datasets: optional when handed over. */
type Optional = Extract<Column, { only: ShapeFlag }>;
/** Optional and without a stand-in value: null in column sets, absent from rows. */
type Nullable = Exclude<Optional, { absentAsZero: true }>;
type Tokens = Extract<Column, { kind: 'tokens' }>;

/** One row's value of each kind. */
interface RowValueOf {
  string: string;
  tokens: Int32Array;
  /** [d] */
  vector: Float32Array;
  int32: number;
  /** Any safe integer. */
  int64: number;
  float32: number;
  float64: number;
  bool: boolean;
}

/** A batch's values of each kind, one per row (vectors: [rows * d], e.g. from `tensor.dataSync()`). */
interface BatchValueOf {
  string: readonly string[];
  tokens: readonly Int32Array[];
  vector: Float32Array;
  int32: ArrayLike<number>;
  int64: ArrayLike<number>;
  float32: ArrayLike<number>;
  float64: ArrayLike<number>;
  bool: ArrayLike<boolean>;
}

/** How a column set holds each kind (tokens: flat, with offsets in their own field). */
interface HeldValueOf {
  string: string[];
  tokens: Int32Array;
  vector: Float32Array;
  int32: Int32Array;
  int64: BigInt64Array;
  float32: Float32Array;
  float64: Float64Array;
  /** 0 / 1 per row. */
  bool: Uint8Array;
}

type Flatten<T> = { [K in keyof T]: T[K] } & {};
type FieldsOf<C extends Column, V extends Record<ColumnKind, unknown>, Opt extends Column> = Flatten<
  { [K in Exclude<C, Opt> as K['field']]: V[K['kind']] } & { [K in Extract<C, Opt> as K['field']]?: V[K['kind']] }
>;

/**
 * One solved (text, restart), as the solver hands it over. Derived columns (`n_tokens`, `split`)
 * are not part of it; `m` is required when m is per text and forbidden otherwise; `restart`
 * defaults to 0 and is stored only when the dataset keeps every restart.
 */
export type SolutionRecord = FieldsOf<Exclude<Column, Derived>, RowValueOf, Optional>;

/** The same rows column-wise: vectors are [rows * d], every other field has one entry per row. */
export type SolutionBatch = FieldsOf<Exclude<Column, Derived>, BatchValueOf, Optional>;

/**
 * Every held column of `rows` rows, in memory. Token lists are flat with `tokenOffsets` (rows + 1
 * entries); `m` is null when m is shared; `restart` is all 0 when the dataset has no such column.
 */
export type SolutionColumns = Flatten<
  { rows: number; d: number } & { [K in Exclude<Column, Recomputed | Nullable> as K['field']]: HeldValueOf[K['kind']] } & {
    [K in Nullable as K['field']]: HeldValueOf[K['kind']] | null;
  } & { [K in Tokens as K['offsets']]: Int32Array }
>;

/** One stored row, every column included (`m` only when per text; vectors are views, no copy). */
export type SolutionRow = FieldsOf<Column, RowValueOf, Nullable>;

/** What the conversion needs to know about the dataset. */
export interface ColumnContext extends SchemaShape {
  splitRatios: SplitRatios;
  /** Named in error messages. */
  where: string;
}

/** Column sets and batches seen as plain objects by the generic loops below. */
type Loose = Record<string, unknown>;

/** The typed arrays of vector, numeric and bool columns, seen alike. */
interface Typed {
  readonly length: number;
  [i: number]: number | bigint;
  subarray(begin?: number, end?: number): Typed;
  set(values: ArrayLike<number | bigint>, offset?: number): void;
}

type TypedKind = Exclude<ColumnKind, 'string' | 'tokens'>;
const ARRAY_OF: Record<TypedKind, new (length: number) => Typed> = {
  vector: Float32Array, int32: Int32Array, int64: BigInt64Array, float32: Float32Array, float64: Float64Array, bool: Uint8Array,
};

/** Why an optional column must be there, or must not: by the flag that stores it. */
const FLAG_WORDING: Record<ShapeFlag, { needs: string; without: string }> = {
  perTextM: { needs: 'this dataset stores m per text', without: 'this dataset uses one shared m (m.safetensors)' },
  allRestarts: { needs: 'this dataset keeps every restart', without: 'this dataset keeps one row per text' },
  ordered: { needs: 'this dataset records each row\'s input position', without: 'this dataset has no order column (it was created before the column existed)' },
  margins: { needs: 'this dataset records each row\'s margin and polishing steps', without: 'this dataset has no margin columns (it was created before they existed)' },
};

/** Whether a dataset of `shape` has the column (only nullable columns can be missing from a set). */
function isHeld(spec: ColumnSpec, shape: Pick<SchemaShape, ShapeFlag>): boolean {
  return !spec.only || spec.absentAsZero === true || shape[spec.only];
}

/** What a column set holds for a column the dataset does not store: all 0, or null. */
export function absentColumn(spec: ColumnSpec, rows: number): Typed | null {
  return spec.absentAsZero ? new ARRAY_OF[spec.kind as TypedKind](rows) : null;
}

/** A column's own width in values per row. */
function widthOf(spec: ColumnSpec, d: number): number {
  return spec.kind === 'vector' ? d : 1;
}

/** Turn records into columns, checking every field. */
export function columnsFromRecords(records: readonly SolutionRecord[], ctx: ColumnContext): SolutionColumns {
  const batch: Loose = {};
  for (const spec of INPUT_COLUMNS) {
    const values = records.map((r) => (r as Loose)[spec.field]);
    if (spec.only && !spec.absentAsZero) {
      const wording = FLAG_WORDING[spec.only];
      records.forEach((r, i) => {
        if (ctx[spec.only!] && values[i] === undefined) throw badRow(r.textId, `has no ${spec.field}, but ${wording.needs}`, ctx);
        if (!ctx[spec.only!] && values[i] !== undefined) throw badRow(r.textId, `has its own ${spec.field}, but ${wording.without}`, ctx);
      });
      if (!ctx[spec.only]) continue;
    }
    if (spec.kind !== 'vector') {
      batch[spec.field] = values;
      continue;
    }
    const { d } = ctx;
    const flat = new Float32Array(records.length * d);
    records.forEach((r, i) => {
      const v = values[i] as Float32Array | undefined;
      if (!(v instanceof Float32Array) || v.length !== d) {
        throw badRow(r.textId, `has ${spec.field} of length ${v?.length}, but d_model is ${d} (a Float32Array is expected)`, ctx);
      }
      flat.set(v, i * d);
    });
    batch[spec.field] = flat;
  }
  return columnsFromBatch(batch as SolutionBatch, ctx);
}

/** Turn a column-wise batch into a column set, checking lengths and types. */
export function columnsFromBatch(b: SolutionBatch, ctx: ColumnContext): SolutionColumns {
  const rows = b.textId.length;
  const { d } = ctx;
  const given = b as Loose;
  for (const spec of INPUT_COLUMNS) {
    const v = given[spec.field] as ArrayLike<unknown> | undefined;
    if (spec.only && !spec.absentAsZero && ctx[spec.only] !== (v !== undefined)) {
      const wording = FLAG_WORDING[spec.only];
      throw new PrototokenError(ctx[spec.only] ? `batch has no ${spec.field}, but ${wording.needs}` : `batch has ${spec.field}, but ${wording.without}`, { file: ctx.where });
    }
    if (v === undefined) continue;
    if (spec.kind === 'vector' && v.length !== rows * d) {
      throw new PrototokenError(`batch ${spec.field} has ${v.length} floats; ${rows} rows of d_model ${d} need ${rows * d}`, { file: ctx.where });
    }
    if (spec.kind !== 'vector' && v.length !== rows) {
      throw new PrototokenError(`batch field ${spec.field} has ${v.length} entries but textId has ${rows}`, { file: ctx.where });
    }
  }
  // The text id names the row in every later message, so it is checked first.
  b.textId.forEach((id) => {
    if (typeof id !== 'string' || id === '') throw badRow(String(id), 'has an empty or non-string text id', ctx);
  });
  const out: Loose = { rows, d };
  for (const spec of HELD_COLUMNS) {
    if (spec.derived?.rule === 'split') {
      out[spec.field] = (given[spec.derived.of] as readonly string[]).map((id) => splitOf(id, ctx.splitRatios));
      continue;
    }
    const v = given[spec.field] as ArrayLike<unknown> | undefined;
    if (v === undefined) {
      out[spec.field] = absentColumn(spec, rows);
      continue;
    }
    const problem = (i: number, what: string): PrototokenError => badRow(b.textId[i], what, ctx);
    switch (spec.kind) {
      case 'string': {
        const strings = Array.from(v as ArrayLike<string>);
        strings.forEach((s, i) => {
          if (typeof s !== 'string') throw problem(i, `has no ${spec.field}`);
        });
        out[spec.field] = strings;
        break;
      }
      case 'tokens': {
        const lists = v as readonly Int32Array[];
        const offsets = new Int32Array(rows + 1);
        lists.forEach((t, i) => {
          if (!(t instanceof Int32Array)) throw problem(i, `${spec.field} must be an Int32Array`);
          offsets[i + 1] = offsets[i] + t.length;
        });
        const flat = new Int32Array(offsets[rows]);
        lists.forEach((t, i) => flat.set(t, offsets[i]));
        out[spec.offsets!] = offsets;
        out[spec.field] = flat;
        break;
      }
      case 'vector':
        out[spec.field] = v;
        break;
      case 'int64': {
        const seeds = new BigInt64Array(rows);
        for (let i = 0; i < rows; i++) {
          const s = v[i] as number;
          if (!Number.isSafeInteger(s)) throw problem(i, `has ${spec.field} ${s}, which is not a safe integer`);
          seeds[i] = BigInt(s);
        }
        out[spec.field] = seeds;
        break;
      }
      case 'int32': {
        const ints = new Int32Array(rows);
        for (let i = 0; i < rows; i++) {
          const x = (v[i] as number | undefined) ?? 0;
          if (spec.nonNegative && (!Number.isInteger(x) || x < 0 || x > 0x7fffffff)) throw problem(i, `has ${spec.field} ${x}, which is not a non-negative integer`);
          ints[i] = x;
        }
        out[spec.field] = ints;
        break;
      }
      case 'bool':
        out[spec.field] = Uint8Array.from(v as ArrayLike<boolean>, (s) => (s ? 1 : 0));
        break;
      default:
        out[spec.field] = spec.kind === 'float64' ? Float64Array.from(v as ArrayLike<number>) : Float32Array.from(v as ArrayLike<number>);
    }
  }
  return out as SolutionColumns;
}

/** Rows `indices` of `c`, in that order (copies). */
export function takeRows(c: SolutionColumns, indices: readonly number[]): SolutionColumns {
  const rows = indices.length;
  const from = c as Loose;
  const out: Loose = { rows, d: c.d };
  for (const spec of HELD_COLUMNS) {
    const v = from[spec.field];
    if (spec.kind === 'string') {
      out[spec.field] = indices.map((i) => (v as string[])[i]);
    } else if (spec.kind === 'tokens') {
      const offsets = from[spec.offsets!] as Int32Array;
      const ids = v as Int32Array;
      const outOffsets = new Int32Array(rows + 1);
      indices.forEach((src, i) => (outOffsets[i + 1] = outOffsets[i] + offsets[src + 1] - offsets[src]));
      const outIds = new Int32Array(outOffsets[rows]);
      indices.forEach((src, i) => outIds.set(ids.subarray(offsets[src], offsets[src + 1]), outOffsets[i]));
      out[spec.offsets!] = outOffsets;
      out[spec.field] = outIds;
    } else {
      out[spec.field] = v === null ? null : gather(v as Typed, indices, widthOf(spec, c.d), ARRAY_OF[spec.kind as TypedKind]);
    }
  }
  return out as SolutionColumns;
}

function gather(a: Typed, indices: readonly number[], width: number, make: new (length: number) => Typed): Typed {
  const out = new make(indices.length * width);
  if (width === 1) indices.forEach((src, i) => (out[i] = a[src]));
  else indices.forEach((src, i) => out.set(a.subarray(src * width, (src + 1) * width), i * width));
  return out;
}

/**
 * All rows of `parts`, in order, as one column set. A single part is returned as it is (its
 * vectors stay views of what they view); several are copied. All parts must be of `shape`.
 */
export function concatColumns(parts: readonly SolutionColumns[], shape: SchemaShape): SolutionColumns {
  if (parts.length === 1) return parts[0];
  const { d } = shape;
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const from = parts as readonly Loose[];
  const out: Loose = { rows, d };
  for (const spec of HELD_COLUMNS) {
    if (spec.kind === 'string') {
      out[spec.field] = from.flatMap((p) => p[spec.field] as string[]);
    } else if (spec.kind === 'tokens') {
      const offsets = new Int32Array(rows + 1);
      const ids = new Int32Array(from.reduce((n, p) => n + (p[spec.offsets!] as Int32Array)[(p.rows as number)], 0));
      let row = 0;
      for (const p of from) {
        const pOffsets = p[spec.offsets!] as Int32Array;
        const n = p.rows as number;
        const base = offsets[row];
        for (let i = 0; i < n; i++) offsets[row + i + 1] = base + pOffsets[i + 1];
        ids.set((p[spec.field] as Int32Array).subarray(0, pOffsets[n]), base);
        row += n;
      }
      out[spec.offsets!] = offsets;
      out[spec.field] = ids;
    } else if (!isHeld(spec, shape)) {
      out[spec.field] = null;
    } else {
      const width = widthOf(spec, d);
      const all = new ARRAY_OF[spec.kind as TypedKind](rows * width);
      let at = 0;
      for (const p of from) {
        const n = (p.rows as number) * width;
        all.set((p[spec.field] as Typed).subarray(0, n), at);
        at += n;
      }
      out[spec.field] = all;
    }
  }
  return out as SolutionColumns;
}

/** A function that builds row `i` of `c` (vectors are views into `c`, token ids a copy). */
export function rowReader(c: SolutionColumns): (i: number) => SolutionRow {
  const from = c as Loose;
  const { d } = c;
  const readers: [string, (i: number) => unknown][] = [];
  for (const spec of COLUMN_SPECS) {
    if (spec.derived?.rule === 'lengths') {
      const offsets = from[specOfField(spec.derived.of).offsets!] as Int32Array;
      readers.push([spec.field, (i) => offsets[i + 1] - offsets[i]]);
      continue;
    }
    const v = from[spec.field];
    if (v === null) continue;
    switch (spec.kind) {
      case 'tokens': {
        const offsets = from[spec.offsets!] as Int32Array;
        readers.push([spec.field, (i) => (v as Int32Array).slice(offsets[i], offsets[i + 1])]);
        break;
      }
      case 'vector':
        readers.push([spec.field, (i) => (v as Float32Array).subarray(i * d, (i + 1) * d)]);
        break;
      case 'int64':
        readers.push([spec.field, (i) => Number((v as BigInt64Array)[i])]);
        break;
      case 'bool':
        readers.push([spec.field, (i) => (v as Uint8Array)[i] === 1]);
        break;
      default:
        readers.push([spec.field, (i) => (v as ArrayLike<unknown>)[i]]);
    }
  }
  return (i) => {
    const row: Loose = {};
    for (const [field, read] of readers) row[field] = read(i);
    return row as SolutionRow;
  };
}

function badRow(textId: string, problem: string, ctx: ColumnContext): PrototokenError {
  return new PrototokenError(`row for text '${textId}' ${problem}`, {
    file: ctx.where,
    fix: 'this is a bug in the caller of the dataset writer; the dataset itself is unchanged',
  });
}
