/**
 * Reading a solution dataset into memory: the scan (scan.ts: data.arrow when it is up to date with
 * the parts, else the parts with duplicates dropped, exactly as merge reads them) plus a
 * concatenation of its batches.
 */
import { Table, type Vector } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';
import { recordBatchFromColumns } from './arrow_columns.js';
import { buildDatasetInfo, mergedMeta, partFactsOf } from './build_info.js';
import { concatColumns, rowReader, type SolutionColumns, type SolutionRow } from './columns.js';
import { StatAccumulator, computeStats, type DatasetStats } from './dataset_stats.js';
import { DATASET_META_KEY, type DatasetInfo, type DatasetMeta } from './info.js';
import { DATA_FILE, readSharedM, sha256OfFile } from './folder.js';
import { completenessOfScan } from './completeness.js';
import { openScan, shapeOf, type DatasetScan, type ScanBatch, type ScanOptions } from './scan.js';
import { solutionSchema, type ColumnName, type ColumnTypes } from './schema.js';

export type { SolutionRow };

/** A dataset in memory. */
export interface SolutionDataset {
  readonly dir: string;
  readonly info: DatasetInfo;
  /** 'data.arrow' when the merged file was current; 'parts' otherwise. */
  readonly readFrom: 'data.arrow' | 'parts';
  /** Files the rows came from. */
  readonly files: string[];
  /** Torn tails, staleness, missing shards, dropped duplicates: things a person should know. */
  readonly warnings: string[];
  readonly numRows: number;
  readonly d: number;
  readonly perTextM: boolean;
  /** Every restart is its own row (`solve --keep-all-restarts`); else one row per text, restart 0. */
  readonly allRestarts: boolean;
  /** The rows as an Arrow table. */
  readonly table: Table;
  /**
   * All e vectors, [numRows * d], row-major: a view of the Arrow column's own buffer (no copy) when
   * the table is a single record batch, which data.arrow of a small dataset is (merge writes
   * batches of about 8 MiB) and unmerged parts always are (concatenated into one batch while read).
   * A larger data.arrow is concatenated here; stream those with scanDataset or the loader instead.
   */
  readonly e: Float32Array;
  /** Per-text m, [numRows * d], same sharing rules as `e`; null when m is shared. */
  readonly m: Float32Array | null;
  /** The shared m from m.safetensors, or null when m is per text. */
  sharedM(): Promise<Float32Array | null>;
  /** One column as an Arrow vector (`m` only exists when per text). */
  column<K extends ColumnName>(name: K): Vector<ColumnTypes[K]>;
  /** Every row, in storage order. */
  rows(): IterableIterator<SolutionRow>;
  /** The first `limit` rows (default: all). */
  toRecords(limit?: number): SolutionRow[];
}

/**
 * Read the dataset in `dir` into memory (small datasets: `--init DATASET`, tests). Checksums are
 * verified unless `verify: false`, and a data.arrow also against the sha256 dataset_info.json
 * recorded. Throws a PrototokenError naming the file for anything truncated or corrupt. Large
 * datasets: `scanDataset` or `openSolutionLoader`, which stream.
 */
export async function readDataset(dir: string, options: ScanOptions = {}): Promise<SolutionDataset> {
  const scan = await openScan(dir, { verify: options.verify ?? true, wholeFile: true });
  try {
    const read: ScanBatch[] = [];
    for await (const b of scan.batches()) read.push(b);
    const shape = shapeOf(scan);
    const columns = concatColumns(read.map((b) => b.columns), shape);
    if (scan.readFrom === 'data.arrow') {
      // Already merged into large batches: keep them as they are (no re-encoding).
      const data = scan.sources[0];
      const table = read.length ? new Table(read.map((b) => b.stored)) : new Table(data.file.schema);
      const info = scan.info ?? buildDatasetInfo({ meta: data.meta as DatasetMeta, ...shape }, statsOf(columns), [], { dataFile: DATA_FILE, sha256: await sha256OfFile(data.path) }, new Date());
      return makeDataset(scan, info, table, columns);
    }
    const meta = await mergedMeta(scan.sources, scan.parts);
    const schema = solutionSchema(shape, new Map([[DATASET_META_KEY, JSON.stringify(meta)]]));
    const table = columns.rows > 0 ? new Table(schema, [recordBatchFromColumns(columns, schema)]) : new Table(schema);
    const completeness = await completenessOfScan(scan, columns.textId);
    return makeDataset(scan, buildDatasetInfo({ meta, ...shape }, statsOf(columns), scan.parts.map(partFactsOf), null, new Date(), completeness), table, columns);
  } finally {
    await scan.close();
  }
}

/** Statistics as merge computes them. */
function statsOf(columns: SolutionColumns): DatasetStats {
  const acc = new StatAccumulator();
  acc.add(columns);
  return computeStats(acc.columns());
}

/** `columns` and `table` hold the same rows; vectors and rows come from `columns`. */
function makeDataset(scan: DatasetScan, info: DatasetInfo, table: Table, columns: SolutionColumns): SolutionDataset {
  const { dir, d, perTextM } = scan;
  const column = <K extends ColumnName>(name: K): Vector<ColumnTypes[K]> => {
    const v = table.getChild(name);
    if (!v) {
      throw new PrototokenError(`the dataset has no column '${name}'${name === 'm' ? ' (m is shared: see sharedM() / m.safetensors)' : ''}`, { file: dir });
    }
    return v as Vector<ColumnTypes[K]>;
  };
  function* rows(limit = Infinity): IterableIterator<SolutionRow> {
    const n = Math.min(columns.rows, limit);
    const row = rowReader(columns);
    for (let i = 0; i < n; i++) yield row(i);
  }
  return {
    dir,
    info,
    readFrom: scan.readFrom,
    files: scan.files,
    warnings: scan.warnings,
    numRows: columns.rows,
    d,
    perTextM,
    allRestarts: scan.allRestarts,
    table,
    e: columns.e,
    m: columns.m,
    sharedM: () => (perTextM ? Promise.resolve(null) : readSharedM(dir)),
    column,
    rows: () => rows(),
    toRecords: (limit) => [...rows(limit)],
  };
}
