/**
 * Reading a solution dataset: data.arrow when it is up to date with the parts, else the stream
 * parts themselves (unmerged or appended to since the merge), combined exactly as merge would.
 */
import type { Table, Vector } from 'apache-arrow';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { buildDatasetInfo } from './build_info.js';
import { columnsFromTable } from './arrow_columns.js';
import { concatColumns, rowReader, type SolutionRow } from './columns.js';
import { combineSources, type Combined } from './combine.js';
import type { DatasetInfo, DatasetMeta } from './info.js';
import { readSharedM, DATA_FILE, currentStamp, listParts, missingShards, loadMergedData, loadPart, readInfoFile, type LoadedDataFile, type LoadedPart, type LoadOptions, type PartListing } from './folder.js';
import { computeStats, statColumns, type DatasetStats } from './dataset_stats.js';
import type { ColumnName, ColumnTypes } from './schema.js';

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
   * batches of about 8 MiB) and unmerged parts always are (combined into one batch while read).
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
 * verified unless `verify: false`. Throws a PrototokenError naming the file for anything truncated
 * or corrupt. Large datasets: `scanDataset` or `openSolutionLoader`, which stream.
 */
export async function readDataset(dir: string, options: LoadOptions = {}): Promise<SolutionDataset> {
  const { listing, info, warnings } = await openDatasetFolder(dir);
  const merged = await loadMergedData(dir, info, options);
  const dataFile = merged?.data ?? null;
  if (!merged && listing.length === 0) throw notADataset(dir);
  if (merged) {
    const stale = await staleParts(merged.data.meta, listing);
    if (stale.length === 0) return fromDataFile(dir, merged.data, merged.infoMatches ? info : null, warnings);
    warnings.push(`data.arrow is older than ${stale.join(', ')}; reading the parts instead (run \`prototoken merge\` to update it)`);
  } else {
    warnings.push('not merged yet: reading the stream parts (run `prototoken merge` to write data.arrow)');
  }
  const parts: LoadedPart[] = [];
  for (const l of listing) parts.push(await loadPart(l.path, options));
  for (const p of parts) {
    if (p.scan.tornBytes > 0) warnings.push(`${p.name} ends in an incomplete batch of ${p.scan.tornBytes} bytes (its writer was stopped mid-write or is still writing); ignored`);
  }
  const missing = missingShards(listing);
  if (missing.length) warnings.push(`missing shards: ${missing.join(', ')}`);
  const combined = combineSources(parts, dataFile);
  if (combined.duplicatesDropped) warnings.push(`${combined.duplicatesDropped} duplicate rows ignored (text already in an earlier part)`);
  const files = [...parts.map((p) => p.path), ...(dataFile ? [dataFile.path] : [])];
  const facts = parts.map((p) => ({ name: p.name, rows: p.table.numRows, size: p.size, tornBytes: p.scan.tornBytes, hasEndMarker: p.scan.hasEndMarker, shardCount: p.meta.shard.count }));
  for (const p of parts) if (!p.indexed) warnings.push(`${p.name} has no checksum index (written before checksums): read unverified`);
  return makeDataset(dir, buildDatasetInfo(combined, statsOf(combined), facts, null, new Date()), 'parts', files, warnings, combined);
}

/** What every reader of a dataset folder starts from. */
export interface DatasetFolder {
  listing: PartListing[];
  /** dataset_info.json; null when absent or unreadable (then with a warning). */
  info: DatasetInfo | null;
  /** Things a person should know, so far. */
  warnings: string[];
}

/** List the parts of `dir` and read its dataset_info.json, which only warns when it cannot be read. */
export async function openDatasetFolder(dir: string): Promise<DatasetFolder> {
  const listing = await listParts(dir);
  const warnings: string[] = [];
  let info: DatasetInfo | null = null;
  try {
    info = await readInfoFile(dir);
  } catch (err) {
    warnings.push(`${errorMessage(err).split('\n')[0]}; ignored (run \`prototoken merge\` to rewrite it)`);
  }
  return { listing, info, warnings };
}

/** The error for a folder with neither data.arrow nor parts. */
export function notADataset(dir: string): PrototokenError {
  return new PrototokenError('no data.arrow and no part-*.arrows files: not a prototoken dataset folder', {
    file: dir,
    fix: 'pass the --out folder of `prototoken solve`',
  });
}

function statsOf(combined: Combined): DatasetStats {
  return computeStats(statColumns(combined.table));
}

/** Parts whose bytes differ from what data.arrow (with `meta`) was merged from. */
export async function staleParts(meta: DatasetMeta, listing: readonly PartListing[]): Promise<string[]> {
  const merged = new Map(meta.merged_from.map((s) => [s.file, s]));
  const stale: string[] = [];
  for (const l of listing) {
    const now = await currentStamp(l.path);
    const then = merged.get(l.name);
    if (!then || then.size !== now.size || then.tail_sha256 !== now.tail_sha256) stale.push(l.name);
  }
  return stale;
}

function fromDataFile(dir: string, data: LoadedDataFile, info: DatasetInfo | null, warnings: string[]): SolutionDataset {
  const combined: Combined = { table: data.table, meta: data.meta, ...data.shape, duplicatesDropped: 0, carriedOver: 0 };
  if (!data.indexed) warnings.push('data.arrow has no checksum index (merged before checksums): read unverified; run `prototoken merge` to add one');
  if (!info) {
    warnings.push('dataset_info.json is missing or from another merge (was a merge interrupted?); statistics computed from data.arrow (run `prototoken merge` to rewrite it)');
  }
  const shown = info ?? buildDatasetInfo(combined, statsOf(combined), [], { dataFile: DATA_FILE, sha256: data.sha256 }, new Date());
  return makeDataset(dir, shown, 'data.arrow', [data.path], warnings, combined);
}

function makeDataset(
  dir: string,
  info: DatasetInfo,
  readFrom: 'data.arrow' | 'parts',
  files: string[],
  warnings: string[],
  combined: Combined,
): SolutionDataset {
  const { table, d, perTextM, allRestarts } = combined;
  // Rows and vectors come from one column set: a view of the Arrow buffers when the table is one batch.
  const columns = concatColumns(columnsFromTable(table, combined, dir), combined);
  const { e, m } = columns;
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
    readFrom,
    files,
    warnings,
    numRows: table.numRows,
    d,
    perTextM,
    allRestarts,
    table,
    e,
    m,
    sharedM: () => (perTextM ? Promise.resolve(null) : readSharedM(dir)),
    column,
    rows: () => rows(),
    toRecords: (limit) => [...rows(limit)],
  };
}
