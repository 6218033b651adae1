/**
 * Streaming a dataset batch by batch: data.arrow when it is up to date with the parts, else the
 * stream parts (plus rows only a previous data.arrow still holds), with duplicates dropped exactly
 * as merge drops them. Memory: one batch plus the set of text ids (for that rule), whatever the
 * size of the dataset. Used by inspect, verify, export and the encoder's loader.
 */
import { takeRows, type SolutionColumns } from './columns.js';
import { checkCompatible } from './combine.js';
import { RowFilter } from './dedup.js';
import type { DatasetInfo, DatasetMeta, DatasetSettings, PartMeta } from './info.js';
import { missingShards } from './merge.js';
import { openPreviousData } from './previous_data.js';
import { notADataset, openDatasetFolder, staleParts } from './reader.js';
import { openPartSource, readColumns, type SourceFile } from './dataset_file.js';

/** How to read. */
export interface ScanOptions {
  /** Check every batch against its checksum (and a pre-checksum data.arrow against its sha256). Default true. */
  verify?: boolean;
}

/** One batch of surviving rows. */
export interface ScanBatch {
  /** File name the rows come from. */
  source: string;
  /** Record batch number within that file. */
  batch: number;
  /** Byte offset of the batch in that file. */
  offset: number;
  /** The rows (vectors are views into the batch just read). */
  columns: SolutionColumns;
}

/** An open dataset, ready to stream; `close()` it when done. */
export interface DatasetScan {
  readonly dir: string;
  readonly readFrom: 'data.arrow' | 'parts';
  readonly files: string[];
  /** Torn tails, staleness, missing shards, unverified files: things a person should know. */
  readonly warnings: string[];
  readonly d: number;
  readonly perTextM: boolean;
  /** Every restart is its own row (a `restart` column). */
  readonly allRestarts: boolean;
  readonly settings: DatasetSettings;
  /** dataset_info.json when it describes exactly what is read (a current data.arrow); else null. */
  readonly info: DatasetInfo | null;
  /** The files read, in order (parts by shard, then data.arrow). */
  readonly sources: readonly SourceFile[];
  /** Whether rows may repeat across sources, so the duplicate rule must run. */
  readonly needsDedup: boolean;
  readonly verify: boolean;
  /** Every surviving row, batch by batch, in storage order. Each call starts over. */
  batches(): AsyncGenerator<ScanBatch>;
  close(): Promise<void>;
}

/** Open the dataset in `dir` for streaming. */
export async function scanDataset(dir: string, options: ScanOptions = {}): Promise<DatasetScan> {
  const verify = options.verify ?? true;
  const { listing, info, warnings } = await openDatasetFolder(dir);
  const previous = await openPreviousData(dir, info, verify);
  const sources: SourceFile<PartMeta | DatasetMeta>[] = [];
  try {
    if (!previous && listing.length === 0) throw notADataset(dir);
    if (previous?.indexIgnored) warnings.push('data.index.jsonl belongs to another merge (was a merge interrupted?); data.arrow read unverified');
    const stale = previous ? await staleParts(previous.meta, listing) : [];
    let readFrom: 'data.arrow' | 'parts';
    if (previous && stale.length === 0) {
      readFrom = 'data.arrow';
      sources.push(previous);
      if (!previous.infoMatches) warnings.push('dataset_info.json is missing or from another merge (was a merge interrupted?); run `prototoken merge` to rewrite it');
    } else {
      readFrom = 'parts';
      warnings.push(previous
        ? `data.arrow is older than ${stale.join(', ')}; reading the parts instead (run \`prototoken merge\` to update it)`
        : 'not merged yet: reading the stream parts (run `prototoken merge` to write data.arrow)');
      for (const l of listing) sources.push(await openPartSource(l.path));
      if (previous) sources.push(previous);
      for (const s of sources) {
        if (s.tornBytes > 0) warnings.push(`${s.name} ends in an incomplete batch of ${s.tornBytes} bytes (its writer was stopped mid-write or is still writing); ignored`);
      }
      const missing = missingShards(listing);
      if (missing.length) warnings.push(`missing shards: ${missing.join(', ')}`);
      checkCompatible(sources.map((s) => ({ name: s.name, path: s.path, settings: s.meta })));
    }
    const unverified = sources.filter((s) => !s.index).map((s) => s.name);
    if (unverified.length) warnings.push(`no checksum index, read unverified: ${unverified.join(', ')}`);
    const first = sources[0];
    const needsDedup = readFrom === 'parts';
    return {
      dir,
      readFrom,
      files: sources.map((s) => s.path),
      warnings,
      d: first.shape.d,
      perTextM: first.shape.perTextM,
      allRestarts: first.shape.allRestarts,
      settings: first.meta,
      info: readFrom === 'data.arrow' && previous?.infoMatches ? info : null,
      sources,
      needsDedup,
      verify,
      async *batches() {
        const filter = new RowFilter(first.shape.allRestarts);
        for (const [si, s] of sources.entries()) {
          for (const ref of s.batches) {
            if (ref.rows === 0) continue;
            const { columns: cols } = await readColumns(s, ref, verify);
            const keep = needsDedup ? filter.keep(cols, si, s.kind === 'data') : null;
            const columns = keep === null || keep.length === cols.rows ? cols : takeRows(cols, keep);
            if (columns.rows > 0) yield { source: s.name, batch: ref.index, offset: ref.offset, columns };
          }
        }
      },
      async close() {
        for (const s of sources) await s.close();
      },
    };
  } catch (err) {
    for (const s of sources) await s.close();
    if (previous && !sources.includes(previous)) await previous.close();
    throw err;
  }
}

