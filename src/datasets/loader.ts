/**
 * The encoder's data loader: (text, e) batches streamed from a solution dataset in a seeded,
 * resumable, shuffled order, never holding the whole `e` matrix.
 *
 * Shuffle granularity: the dataset's record batches ("units") are permuted per epoch with
 * Prng(deriveSeed(seed, epoch)); consecutive units of that permutation form windows of about
 * `shuffleWindowBytes` of vectors, and the rows of a window are permuted with
 * Prng(deriveSeed(epochSeed, window + 1)). The epoch's row order is the windows' rows in turn;
 * batches are consecutive `batchRows` rows of it and never cross an epoch (an epoch's last batch may
 * be shorter). Everything is a function of (dataset, options, seed, epoch), so the position
 * `{epoch, position = rows handed out this epoch}` is all a resume needs. Memory: at most two
 * windows plus one batch.
 */
import { PrototokenError } from '../util/errors.js';
import { Prng, deriveSeed } from '../util/prng.js';
import type { BatchRef } from './arrow_read.js';
import { scanDataset, type DatasetScan } from './scan.js';
import { readColumns } from './dataset_file.js';
import type { SolutionColumns } from './columns.js';

export interface SolutionLoaderOptions {
  /** Rows per batch handed out. */
  batchRows: number;
  /** Seed of the shuffled order (order of record batches, and rows within a window of batches). */
  seed: number;
  /** Only rows of this split ('train' | 'val' | 'test'); null = all. Default null. */
  split?: 'train' | 'val' | 'test' | null;
  /** Only solved rows. Default true. */
  solvedOnly?: boolean;
  /** Verify checksums while reading. Default true. */
  verify?: boolean;
  /** Bytes of `e` per shuffle window (rows are shuffled within a window). Default 128 MiB. */
  shuffleWindowBytes?: number;
}

/** JSON-serialisable position in the order; saved in encoder checkpoints, so resume continues exactly. */
export interface LoaderState {
  epoch: number;
  position: number;
}

export interface LoaderBatch {
  textIds: string[];
  N: number;
  d: number;
  /** [b*N] */
  tokenIds: Int32Array;
  /** [b*d] */
  e: Float32Array;
}

export interface SolutionLoader {
  readonly numRows: number;
  readonly d: number;
  readonly N: number;
  /** The next batch; epochs roll over forever, each epoch reshuffled from (seed, epoch). */
  next(): Promise<LoaderBatch>;
  state(): LoaderState;
  close(): Promise<void>;
}

const DEFAULT_WINDOW_BYTES = 128 << 20;

/** One record batch and which of its rows pass the filters (null: decide when read). */
interface Unit {
  source: number;
  ref: BatchRef;
  count: number;
  rows: Int32Array | null;
}

/** A loaded window: its rows in shuffled order. */
interface Window {
  index: number;
  start: number;
  textIds: string[];
  tokenIds: Int32Array;
  e: Float32Array;
  order: Uint32Array;
}

/** Open a loader over the dataset in `dir`; `resumeFrom` continues a previous loader's order exactly. */
export async function openSolutionLoader(dir: string, opts: SolutionLoaderOptions, resumeFrom?: LoaderState): Promise<SolutionLoader> {
  if (!Number.isInteger(opts.batchRows) || opts.batchRows < 1) {
    throw new PrototokenError(`batchRows must be a positive integer, got ${opts.batchRows}`, { fix: 'this is a bug in the caller of openSolutionLoader' });
  }
  const scan = await scanDataset(dir, { verify: opts.verify ?? true });
  try {
    const N = scan.settings.length;
    if (N === null) {
      throw new PrototokenError('rows of this dataset vary in length (a capacity run); the loader needs one N for all rows', {
        file: dir,
        fix: 'train on a dataset written by `prototoken solve --length N`',
      });
    }
    const split = opts.split ?? null;
    const solvedOnly = opts.solvedOnly ?? true;
    const units = await planUnits(scan, split, solvedOnly);
    const numRows = units.reduce((n, u) => n + u.count, 0);
    if (numRows === 0) {
      throw new PrototokenError(`no rows${split ? ` in split ${split}` : ''}${solvedOnly ? ' that are solved' : ''}`, {
        file: dir,
        fix: 'check the split and solvedOnly options against `prototoken inspect`',
      });
    }
    const d = scan.d;
    const rowBytes = d * 4;
    const avgUnit = (numRows / units.length) * rowBytes;
    const perWindow = Math.max(1, Math.floor((opts.shuffleWindowBytes ?? DEFAULT_WINDOW_BYTES) / Math.max(1, avgUnit)));
    const filter = { split, solvedOnly };
    let epoch = resumeFrom?.epoch ?? 0;
    let position = resumeFrom?.position ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(position) || position < 0 || position > numRows) {
      throw new PrototokenError(`cannot resume from ${JSON.stringify(resumeFrom)}: this dataset selection has ${numRows} rows per epoch`, {
        file: dir,
        fix: 'resume with the same dataset, split and solvedOnly as the checkpoint was trained on',
      });
    }
    let plan = epochPlan(units, perWindow, opts.seed, epoch);
    let windows: Window[] = [];

    const windowAt = async (w: number): Promise<Window> => {
      const have = windows.find((x) => x.index === w);
      if (have) return have;
      const loaded = await loadWindow(scan, plan, w, N, filter, opts.seed, epoch);
      windows = [...windows.filter((x) => x.index === w - 1), loaded];
      return loaded;
    };
    if (position === numRows) {
      epoch++;
      position = 0;
      plan = epochPlan(units, perWindow, opts.seed, epoch);
    }
    return {
      numRows,
      d,
      N,
      async next() {
        const b = Math.min(opts.batchRows, numRows - position);
        const out: LoaderBatch = { textIds: [], N, d, tokenIds: new Int32Array(b * N), e: new Float32Array(b * d) };
        let filled = 0;
        while (filled < b) {
          const w = plan.windowOf(position);
          const win = await windowAt(w);
          const take = Math.min(b - filled, win.start + win.order.length - position);
          for (let k = 0; k < take; k++) {
            const r = win.order[position - win.start + k];
            out.textIds.push(win.textIds[r]);
            out.tokenIds.set(win.tokenIds.subarray(r * N, (r + 1) * N), (filled + k) * N);
            out.e.set(win.e.subarray(r * d, (r + 1) * d), (filled + k) * d);
          }
          filled += take;
          position += take;
        }
        if (position === numRows) {
          epoch++;
          position = 0;
          plan = epochPlan(units, perWindow, opts.seed, epoch);
          windows = [];
        }
        return out;
      },
      state: () => ({ epoch, position }),
      close: () => scan.close(),
    };
  } catch (err) {
    await scan.close();
    throw err;
  }
}

/**
 * The units and their row counts. A merged data.arrow with a checksum index has per-batch split
 * counts, so nothing is read; otherwise (unmerged parts: duplicates to drop; old files) one pass
 * over the rows fixes which rows of each batch are in.
 */
async function planUnits(scan: DatasetScan, split: string | null, solvedOnly: boolean): Promise<Unit[]> {
  const units: Unit[] = [];
  const fromIndex = !scan.needsDedup && scan.sources.every((s) => s.batches.every((b) => b.rows === 0 || s.entryOf(b.index)?.split_rows));
  if (fromIndex) {
    scan.sources.forEach((s, si) => {
      for (const ref of s.batches) {
        const counts = s.entryOf(ref.index)?.split_rows;
        if (!counts) continue;
        const c = (k: 'train' | 'val' | 'test'): number => counts[k][solvedOnly ? 1 : 0];
        const count = split ? c(split as 'train' | 'val' | 'test') : c('train') + c('val') + c('test');
        if (count > 0) units.push({ source: si, ref, count, rows: null });
      }
    });
    return units;
  }
  const bySource = new Map(scan.sources.map((s, i) => [s.name, i]));
  for await (const b of scan.batches()) {
    const si = bySource.get(b.source) ?? 0;
    const ref = scan.sources[si].batches[b.batch];
    const rows = selectRows(b.columns, { split, solvedOnly });
    // Kept rows after duplicates are dropped are a subset; map them back to the batch's own row numbers.
    const original = scan.needsDedup && b.columns.rows !== ref.rows ? await originalRows(scan, si, ref, b.columns) : null;
    const picked = original ? rows.map((i) => original[i]) : rows;
    if (picked.length) units.push({ source: si, ref, count: picked.length, rows: picked });
  }
  return units;
}

/** Row numbers (within the stored batch) of the rows in `kept`, matched by (text id, seed). */
async function originalRows(scan: DatasetScan, si: number, ref: BatchRef, kept: SolutionColumns): Promise<Int32Array> {
  const { columns } = await readColumns(scan.sources[si], ref, false);
  const at = new Map<string, number>();
  for (let i = 0; i < columns.rows; i++) at.set(`${columns.textId[i]}\u0000${columns.seed[i]}`, i);
  return Int32Array.from({ length: kept.rows }, (_, i) => at.get(`${kept.textId[i]}\u0000${kept.seed[i]}`) ?? -1);
}

function selectRows(c: SolutionColumns, f: { split: string | null; solvedOnly: boolean }): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < c.rows; i++) if ((!f.split || c.split[i] === f.split) && (!f.solvedOnly || c.solved[i] === 1)) out.push(i);
  return Int32Array.from(out);
}

/** An epoch's permuted units, cut into windows. */
interface EpochPlan {
  units: Unit[];
  /** Per window: [first unit, end unit) and first row. */
  windows: { from: number; to: number; start: number; rows: number }[];
  windowOf(position: number): number;
}

function epochPlan(units: readonly Unit[], perWindow: number, seed: number, epoch: number): EpochPlan {
  const rng = new Prng(deriveSeed(seed, epoch));
  const order = units.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const windows: EpochPlan['windows'] = [];
  let start = 0;
  for (let from = 0; from < order.length; from += perWindow) {
    const to = Math.min(order.length, from + perWindow);
    const rows = order.slice(from, to).reduce((n, u) => n + u.count, 0);
    windows.push({ from, to, start, rows });
    start += rows;
  }
  return {
    units: order,
    windows,
    windowOf(position) {
      let lo = 0;
      let hi = windows.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (windows[mid].start <= position) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
  };
}

async function loadWindow(
  scan: DatasetScan,
  plan: EpochPlan,
  w: number,
  N: number,
  filter: { split: string | null; solvedOnly: boolean },
  seed: number,
  epoch: number,
): Promise<Window> {
  const spec = plan.windows[w];
  const d = scan.d;
  const textIds: string[] = [];
  const tokenIds = new Int32Array(spec.rows * N);
  const e = new Float32Array(spec.rows * d);
  let at = 0;
  for (const unit of plan.units.slice(spec.from, spec.to)) {
    const source = scan.sources[unit.source];
    const { columns: c } = await readColumns(source, unit.ref, scan.verify);
    const rows = unit.rows ?? selectRows(c, filter);
    if (rows.length !== unit.count) {
      throw new PrototokenError(`record batch ${unit.ref.index} has ${rows.length} selected rows, its checksum index says ${unit.count}`, {
        file: source.path,
        fix: `run \`prototoken verify ${scan.dir}\`; rebuild data.arrow with \`prototoken merge\``,
      });
    }
    for (const r of rows) {
      const n = c.tokenOffsets[r + 1] - c.tokenOffsets[r];
      if (n !== N) {
        throw new PrototokenError(`row of text '${c.textId[r]}' has ${n} tokens, the dataset says N = ${N}`, { file: source.path, fix: 'the dataset is inconsistent; rebuild it' });
      }
      textIds.push(c.textId[r]);
      tokenIds.set(c.tokenIds.subarray(c.tokenOffsets[r], c.tokenOffsets[r + 1]), at * N);
      e.set(c.e.subarray(r * d, (r + 1) * d), at * d);
      at++;
    }
  }
  const rng = new Prng(deriveSeed(deriveSeed(seed, epoch), w + 1));
  const order = Uint32Array.from({ length: spec.rows }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return { index: w, start: spec.start, textIds, tokenIds, e, order };
}
