/**
 * A solution dataset's rows as the encoder stage takes them: which rows count as solved, which
 * datasets it refuses (m per text, another N), and one row visitor over either reading path:
 * the whole dataset in memory (`readDataset`), or batch by batch (`scanDataset`).
 */
import { readDataset, readSharedM, scanDataset } from '../datasets/index.js';
import { PrototokenError } from '../util/errors.js';

/** Whether a dataset row's e counts as a solution for the encoder stage (by default: the solver's own verdict). */
export function usableRow(solved: boolean, accuracy: number, minAccuracy = 1): boolean {
  return solved || (minAccuracy < 1 && accuracy >= minAccuracy);
}

/** A usable row. Its vectors may be views into a batch just read: copy what is kept. */
export interface UsableRow {
  textId: string;
  split: string;
  tokenIds: Int32Array;
  e: Float32Array;
}

export interface UsableRowsOptions {
  /** Tokens per row the encoder trains on; a dataset of another N is refused. */
  N: number;
  /** Read batch by batch (memory: one batch) instead of the whole dataset at once. Default false. */
  stream?: boolean;
  /** As usableRow's. Default 1. */
  minAccuracy?: number;
}

/** One place for the shared-m rule, so both reading paths refuse the same datasets alike. */
function perTextMError(file: string): PrototokenError {
  return new PrototokenError('this dataset was solved with m per text; an encoder needs one fixed m shared by all texts', {
    file,
    fix: 'fit one m (`prototoken fit-m`), then solve the windows with `prototoken solve --m M.safetensors`',
  });
}

function wrongNError(file: string, rowN: number, N: number, what: string): PrototokenError {
  return new PrototokenError(`${what} has N=${rowN} tokens but the encoder trains on windows of ${N}`, { file, fix: `use --window ${rowN}, or a dataset solved at N=${N}` });
}

/**
 * Call `visit` with every usable row of the dataset in `dir`, in storage order; returns the
 * dataset's shared m. In memory every row is checked for N (naming the first wrong one); a stream
 * checks the dataset's length setting, so a wrong N fails before any batch is read.
 */
export async function forEachUsableRow(dir: string, opts: UsableRowsOptions, visit: (row: UsableRow) => void): Promise<Float32Array | null> {
  const { N } = opts;
  if (!opts.stream) {
    const ds = await readDataset(dir);
    if (ds.perTextM) throw perTextMError(dir);
    const datasetM = await ds.sharedM();
    for (const row of ds.rows()) {
      if (row.nTokens !== N) throw wrongNError(dir, row.nTokens, N, `row "${row.textId}"`);
      if (usableRow(row.solved, row.accuracy, opts.minAccuracy)) visit(row);
    }
    return datasetM;
  }
  const scan = await scanDataset(dir);
  try {
    if (scan.perTextM) throw perTextMError(dir);
    if (scan.settings.length !== N) throw wrongNError(dir, scan.settings.length ?? NaN, N, 'this dataset');
    for await (const { columns: c } of scan.batches()) {
      for (let r = 0; r < c.rows; r++) {
        if (!usableRow(c.solved[r] === 1, c.accuracy[r], opts.minAccuracy)) continue;
        visit({ textId: c.textId[r], split: c.split[r], tokenIds: c.tokenIds.subarray(c.tokenOffsets[r], c.tokenOffsets[r + 1]), e: c.e.subarray(r * c.d, (r + 1) * c.d) });
      }
    }
  } finally {
    await scan.close();
  }
  return readSharedM(dir);
}

/**
 * Validation rows whose tokens equal a solved training row's, for a run that never holds the
 * training rows: a second pass, holding only val's keys.
 */
export async function countStreamedCopies(dir: string, val: readonly { ids: ArrayLike<number> }[]): Promise<number> {
  if (val.length === 0) return 0;
  const key = (ids: ArrayLike<number>): string => Array.prototype.join.call(ids, ',');
  const open = new Map<string, number>();
  for (const v of val) open.set(key(v.ids), (open.get(key(v.ids)) ?? 0) + 1);
  let copies = 0;
  const scan = await scanDataset(dir);
  try {
    for await (const { columns: c } of scan.batches()) {
      for (let r = 0; r < c.rows && open.size > 0; r++) {
        if (c.split[r] !== 'train' || c.solved[r] !== 1) continue;
        const k = key(c.tokenIds.subarray(c.tokenOffsets[r], c.tokenOffsets[r + 1]));
        const n = open.get(k);
        if (n !== undefined) {
          copies += n;
          open.delete(k);
        }
      }
    }
  } finally {
    await scan.close();
  }
  return copies;
}
