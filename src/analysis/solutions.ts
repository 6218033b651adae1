/**
 * Several solutions of one text, gathered for `interpolate`: rows with the same text_id and
 * different restarts in one dataset (`solve --keep-all-restarts`), or the same text_id across
 * several datasets. A path between two solutions only means something when everything else fed
 * to the LM is the same, so every dataset must use one N, one arrangement and either one fixed m
 * or m per text (a solution is then e and m, and a path moves both); any difference is refused,
 * naming the files.
 */
import { promises as fsp } from 'node:fs';
import { readDataset, type SolutionDataset } from '../datasets/index.js';
import { type Arrangement, parseArrangement } from '../solver/arrangements.js';
import { PrototokenError } from '../util/errors.js';

/** One solution: where it is stored and its e. */
export interface Endpoint {
  /** Index into `SolutionPairs.datasets`. */
  dataset: number;
  /** Its restart (0 in datasets that keep one row per text). */
  restart: number;
  /** [d] */
  e: Float32Array;
  /** [d] when m is per text; else null (the datasets' fixed m). */
  m: Float32Array | null;
  /** Its smallest logit margin (column `margin`); null when the dataset does not record one. */
  margin: number | null;
  /** Its polishing steps (column `polish_steps`); null when the dataset does not record them. */
  polishSteps: number | null;
}

/** A solution as one vector: e, or e then m when m is per text. */
export function pointOf(end: Endpoint): Float32Array {
  if (!end.m) return end.e;
  const x = new Float32Array(end.e.length + end.m.length);
  x.set(end.e);
  x.set(end.m, end.e.length);
  return x;
}

/** Two solutions of one text. */
export interface SolutionPair {
  textId: string;
  /** The N target tokens. */
  tokenIds: Int32Array;
  a: Endpoint;
  b: Endpoint;
}

/** What `interpolate` works on. */
export interface SolutionPairs {
  datasets: string[];
  /** Hub id or folder of the model the first dataset was solved with (for the error that asks for it). */
  modelId: string;
  /** sha256 of those weights. */
  modelFingerprint: string;
  N: number;
  arrangement: Arrangement;
  /** The fixed m every dataset was solved with, [d]; null when m is per text. */
  m: Float32Array | null;
  pairs: SolutionPair[];
  /** Every solution of the texts in `pairs` (all their restarts and datasets), for `localization`. */
  solutions: { textId: string; end: Endpoint }[];
  /** Texts that have two or more solutions (before `maxPairs`). */
  textsWithPairs: number;
  /** Rows left out because they are not solved (`solvedOnly`). */
  unsolvedRows: number;
}

/** How pairs are chosen. */
export interface PairOptions {
  /** At most this many pairs, taken round-robin over texts (each text's first pair, then second, ...). Default 16. */
  maxPairs?: number;
  /** Only rows whose text is fully decoded (`solved`): a path from a non-solution says little. Default true. */
  solvedOnly?: boolean;
}

/** Read `paths` (dataset folders), check that they agree, and pair the solutions of each text. */
export async function loadSolutionPairs(paths: readonly string[], options: PairOptions = {}): Promise<SolutionPairs> {
  if (paths.length === 0) throw new PrototokenError('no dataset given', { fix: 'pass one or more solution dataset folders' });
  const maxPairs = options.maxPairs ?? 16;
  const solvedOnly = options.solvedOnly ?? true;
  const sets: SolutionDataset[] = [];
  for (const p of paths) sets.push(await openOne(p));
  const first = sets[0];
  const m = first.perTextM ? null : await sharedMOf(first);
  for (const ds of sets.slice(1)) checkSame(first, ds);

  const N = first.info.length as number;
  const byText = new Map<string, { tokenIds: Int32Array; where: string; ends: Endpoint[] }>();
  let unsolvedRows = 0;
  sets.forEach((ds, i) => {
    for (const row of ds.rows()) {
      if (solvedOnly && !row.solved) {
        unsolvedRows++;
        continue;
      }
      if (row.tokenIds.length !== N) {
        throw new PrototokenError(`row of text '${row.textId}' has ${row.tokenIds.length} tokens, the dataset says N = ${N}`, { file: ds.dir, fix: 'the dataset is inconsistent; rebuild it' });
      }
      let t = byText.get(row.textId);
      if (!t) byText.set(row.textId, (t = { tokenIds: row.tokenIds, where: ds.dir, ends: [] }));
      else if (!sameValues(t.tokenIds, row.tokenIds)) {
        throw new PrototokenError(`text '${row.textId}' has other target tokens here than in ${t.where}`, {
          file: ds.dir,
          fix: 'interpolate between datasets of the same texts cut the same way (same --length / --window)',
        });
      }
      const margin = row.margin === undefined || Number.isNaN(row.margin) ? null : row.margin;
      // Views: the dataset's vectors are in memory anyway.
      t.ends.push({ dataset: i, restart: row.restart, e: row.e, m: row.m ?? null, margin, polishSteps: row.polishSteps ?? null });
    }
  });
  const perText = [...byText].map(([textId, t]) => ({ textId, tokenIds: t.tokenIds, ends: t.ends, pairs: pairsOf(t.ends) })).filter((t) => t.pairs.length > 0);
  if (perText.length === 0) {
    throw new PrototokenError(`no text has two or more ${solvedOnly ? 'solved ' : ''}solutions${unsolvedRows ? ` (${unsolvedRows} unsolved rows left out)` : ''}`, {
      file: paths.join(', '),
      fix: 'solve with `--restarts 2 --keep-all-restarts` and a fixed `--m FILE`, or give several datasets of the same texts solved with the same --m and different --seed',
    });
  }
  // Round-robin, so a small --pairs covers many texts before a second pair of any one.
  const pairs: SolutionPair[] = [];
  for (let k = 0; pairs.length < maxPairs && perText.some((t) => k < t.pairs.length); k++) {
    for (const t of perText) {
      if (k < t.pairs.length && pairs.length < maxPairs) pairs.push({ textId: t.textId, tokenIds: t.tokenIds, ...t.pairs[k] });
    }
  }
  const info = first.info;
  const paired = new Set(pairs.map((p) => p.textId));
  return {
    datasets: [...paths],
    modelId: info.model.id,
    modelFingerprint: info.model.fingerprint,
    N,
    arrangement: parseArrangement(info.arrangement),
    m,
    pairs,
    solutions: perText.filter((t) => paired.has(t.textId)).flatMap((t) => t.ends.map((end) => ({ textId: t.textId, end }))),
    textsWithPairs: perText.length,
    unsolvedRows,
  };
}

async function openOne(path: string): Promise<SolutionDataset> {
  const stat = await fsp.stat(path).catch(() => null);
  if (!stat?.isDirectory()) {
    throw new PrototokenError(stat ? 'is a file, not a dataset folder' : 'no such dataset folder', { file: path, fix: 'pass the --out folder of `prototoken solve`' });
  }
  const ds = await readDataset(path);
  if (ds.info.length === null) {
    throw new PrototokenError('its rows vary in length (a capacity dataset); interpolation needs one N', { file: path, fix: 'use a dataset from `prototoken solve --length N`' });
  }
  return ds;
}

async function sharedMOf(ds: SolutionDataset): Promise<Float32Array> {
  const m = await ds.sharedM();
  if (!m) throw new PrototokenError('the dataset records a shared m but has no m.safetensors', { file: ds.dir, fix: 'restore m.safetensors from the run that wrote the dataset' });
  return m;
}

/** Refuse a second dataset whose m, N, arrangement or model differ from the first's. */
function checkSame(first: SolutionDataset, other: SolutionDataset): void {
  const [a, b] = [first.info, other.info];
  const fp = (x: typeof a): string => (x.m.mode === 'shared' ? x.m.fingerprint : 'per-text');
  const short = (h: string): string => (h.length > 16 ? `sha256 ${h.slice(0, 12)}…` : h);
  const differences: [string, string, string, string][] = [
    ['m', fp(a), fp(b), 'solve every dataset with the same --m FILE'],
    ['N', String(a.length), String(b.length), 'interpolate datasets of one --length'],
    ['arrangement', a.arrangement, b.arrangement, 'interpolate datasets of one --arrangement'],
    ['model weights', a.model.fingerprint, b.model.fingerprint, 'interpolate datasets solved with one model'],
  ];
  for (const [what, x, y, fix] of differences) {
    if (x !== y) {
      throw new PrototokenError(`its ${what} (${short(y)}) differs from that of ${first.dir} (${short(x)}): solutions are only comparable with the same ${what}`, { file: other.dir, fix });
    }
  }
}

/** Every pair (i < j) of a text's solutions in (dataset, restart) order, skipping identical e (the same seed solved twice). */
function pairsOf(unordered: readonly Endpoint[]): { a: Endpoint; b: Endpoint }[] {
  const ends = [...unordered].sort((x, y) => x.dataset - y.dataset || x.restart - y.restart);
  const out: { a: Endpoint; b: Endpoint }[] = [];
  for (let i = 0; i < ends.length; i++) {
    for (let j = i + 1; j < ends.length; j++) if (!sameValues(ends[i].e, ends[j].e)) out.push({ a: ends[i], b: ends[j] });
  }
  return out;
}

function sameValues(x: ArrayLike<number>, y: ArrayLike<number>): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The pairs' datasets must have been solved with these very weights. */
export function checkPairsModel(input: SolutionPairs, fingerprint: string, model: string): void {
  if (fingerprint !== input.modelFingerprint) {
    throw new PrototokenError(`the dataset was solved with other model weights than ${model}`, {
      file: input.datasets[0],
      fix: `pass --model ${input.modelId}`,
    });
  }
}
