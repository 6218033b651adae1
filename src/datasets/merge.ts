/**
 * `prototoken merge`: validate every part, combine them into data.arrow, and rewrite
 * dataset_info.json and README.md.
 *
 * It streams: parts are read one record batch at a time (checksums verified), duplicates are
 * dropped by text id (by text id and restart when the dataset keeps every restart, see dedup.ts), and data.arrow is written batch by batch to a temporary file that is only
 * renamed into place once every input has been read and checked. Memory is one output batch plus
 * the set of text ids and the per-row statistics, never the vectors of the whole dataset. A
 * failed merge leaves the folder as it was.
 */
import * as path from 'node:path';
import { PrototokenError } from '../util/errors.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs_atomic.js';
import { buildDatasetInfo, partSummary, type PartFacts } from './build_info.js';
import { renderCard } from './card.js';
import { BatchCoalescer } from './coalesce.js';
import { takeRows } from './columns.js';
import { checkCompatible, mergedMeta } from './combine.js';
import { createDataFileSink } from './data_file_writer.js';
import { RowFilter } from './dedup.js';
import { DATASET_META_KEY, type DatasetInfo, type DatasetMeta, type PartMeta, type PartSummary } from './info.js';
import { CARD_FILE, DATA_FILE, INFO_FILE, currentStamp, listParts, readInfoFile, partFileName } from './folder.js';
import { openPreviousData } from './previous_data.js';
import { solutionSchema } from './schema.js';
import { forEachColumns, openPartSource, type SourceFile } from './dataset_file.js';
import { StatAccumulator, computeStats } from './dataset_stats.js';
import { indexFileFor } from './checksums.js';

/** How strict merge is. */
export interface MergeOptions {
  /**
   * Merge even when shards are missing or a part ends in a torn (incomplete) batch, which is then
   * left out. Default false: such a dataset is refused, because a shard has not finished.
   */
  allowIncomplete?: boolean;
  /** Check every batch against its checksum while reading. Default true. */
  verify?: boolean;
  /** Target size of data.arrow's record batches (larger input batches kept whole are copied as they are). Default 8 MiB. */
  batchBytes?: number;
  /** Called after each input batch with the rows read so far (for progress lines). Default: none. */
  onRows?: (rowsRead: number, rowsTotal: number) => void;
}

/** What merge did. */
export interface MergeReport {
  dir: string;
  /** Path of data.arrow, or null when nothing was written (no parts: data.arrow is already all there is). */
  dataFile: string | null;
  rows: number;
  texts: number;
  parts: PartSummary[];
  /** Rows dropped because an earlier part already held their text. */
  duplicatesDropped: number;
  /** Rows kept from the previous data.arrow because their parts are gone. */
  carriedOver: number;
  /** Bytes of torn batches left out (only with allowIncomplete). */
  tornBytesDropped: number;
  /** Part files that should exist but do not (only with allowIncomplete). */
  missingShards: string[];
  /** Parts (and data.arrow) read without checksums: written before checksums existed. */
  unverified: string[];
  /** Human-readable notes about the above. */
  warnings: string[];
}

/** Part files missing from complete shard sets, e.g. part-00002-of-00004.arrows when 0, 1 and 3 exist. */
export function missingShards(parts: readonly { shard: { index: number; count: number } }[]): string[] {
  const byCount = new Map<number, Set<number>>();
  for (const p of parts) byCount.set(p.shard.count, (byCount.get(p.shard.count) ?? new Set()).add(p.shard.index));
  const missing: string[] = [];
  for (const [count, present] of [...byCount].sort((a, b) => a[0] - b[0])) {
    for (let i = 0; i < count; i++) if (!present.has(i)) missing.push(partFileName({ index: i, count }));
  }
  return missing;
}

/** What dataset_info.json lists of an open part. */
export function partFactsOf(p: SourceFile<PartMeta>): PartFacts {
  return { name: p.name, rows: p.rows, size: p.file.size, tornBytes: p.tornBytes, hasEndMarker: p.hasEndMarker, shardCount: p.meta.shard.count };
}

/** Merge the dataset in `dir` into `dir/data.arrow`; see the module comment. */
export async function mergeDataset(dir: string, options: MergeOptions = {}): Promise<MergeReport> {
  const verify = options.verify ?? true;
  const listing = await listParts(dir);
  const dataPath = path.join(dir, DATA_FILE);
  // A damaged dataset_info.json is no reason to refuse: merge rewrites it.
  const oldInfo = await readInfoFile(dir).catch((): DatasetInfo | null => null);
  const parts: SourceFile<PartMeta>[] = [];
  const previous = await openPreviousData(dir, oldInfo, verify);
  try {
    if (listing.length === 0) {
      if (!previous) {
        throw new PrototokenError('no part-*.arrows files and no data.arrow: not a prototoken dataset folder', {
          file: dir,
          fix: 'pass the --out folder of `prototoken solve`',
        });
      }
      const ids = new Set<string>();
      await forEachColumns(previous, verify, (cols) => cols.textId.forEach((id) => ids.add(id)));
      const rows = previous.rows;
      return {
        dir, dataFile: null, rows, texts: ids.size, parts: [], duplicatesDropped: 0, carriedOver: rows, tornBytesDropped: 0, missingShards: [],
        unverified: previous.index ? [] : [DATA_FILE], warnings: ['no part files: data.arrow is already the whole dataset; nothing to merge'],
      };
    }
    // Framing, settings, torn tails and missing shards first: a bad input stops the merge before any byte is written.
    for (const l of listing) parts.push(await openPartSource(l.path));
    const missing = missingShards(listing);
    const torn = parts.filter((p) => p.tornBytes > 0);
    const warnings: string[] = [];
    if (missing.length) warnings.push(`missing shards: ${missing.join(', ')}`);
    for (const p of torn) warnings.push(`${p.name} ends in an incomplete batch of ${p.tornBytes} bytes (its writer was killed); left out`);
    if ((missing.length || torn.length) && !options.allowIncomplete) {
      throw new PrototokenError(`the dataset is not complete, so nothing was merged:\n  ${warnings.join('\n  ')}`, {
        file: dir,
        fix: 'run (or resume) the missing or interrupted shards with the same command and --shard i/n (resume cuts off a torn batch and re-solves only what is missing), or merge anyway with --allow-incomplete',
      });
    }
    const sources: SourceFile<PartMeta | DatasetMeta>[] = [...parts, ...(previous ? [previous] : [])];
    checkCompatible(sources.map((s) => ({ name: s.name, path: s.path, settings: s.meta })));
    const unverified = sources.filter((s) => !s.index).map((s) => s.name);
    if (unverified.length) warnings.push(`no checksum index (written before checksums), read unverified: ${unverified.join(', ')}`);

    const stamps = [];
    for (const p of parts) stamps.push(await currentStamp(p.path));
    const meta = mergedMeta(sources.map((s) => s.meta), stamps);
    const shape = parts[0].shape;
    const schema = solutionSchema(shape, new Map([[DATASET_META_KEY, JSON.stringify(meta)]]));
    await removeStaleTemps(dir, [DATA_FILE, path.basename(indexFileFor(dataPath)), INFO_FILE, CARD_FILE]);
    const sink = await createDataFileSink(dataPath, schema, meta.merge_id);
    const filter = new RowFilter(shape.allRestarts);
    const stats = new StatAccumulator();
    let written: { sha256: string };
    try {
      const out = new BatchCoalescer(sink, schema, shape, options.batchBytes);
      const total = sources.reduce((n, s) => n + s.rows, 0);
      let read = 0;
      for (const [si, s] of sources.entries()) {
        await forEachColumns(s, verify, async (cols, ref, bytes) => {
          const keep = filter.keep(cols, si, s.kind === 'data');
          const kept = keep.length === cols.rows ? cols : takeRows(cols, keep);
          stats.add(kept);
          await out.add(kept, bytes, keep.length === cols.rows, verify ? (s.entryOf(ref.index)?.sha256 ?? null) : null);
          read += cols.rows;
          options.onRows?.(read, total);
        });
      }
      await out.flush();
      written = await sink.finish();
      await sink.commit();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    if (filter.duplicatesDropped) warnings.push(`${filter.duplicatesDropped} duplicate rows dropped (text already present in an earlier part)`);
    if (filter.carriedOver) warnings.push(`${filter.carriedOver} rows kept from the previous data.arrow (their parts are gone)`);
    const facts = parts.map(partFactsOf);
    const info = buildDatasetInfo({ meta, ...shape }, computeStats(stats.columns()), facts, { dataFile: DATA_FILE, sha256: written.sha256 }, new Date());
    // data.arrow first: if we die before dataset_info.json, readers see a merge_id mismatch, not bad data.
    await writeFileAtomic(path.join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    await writeFileAtomic(path.join(dir, CARD_FILE), renderCard(info));
    return {
      dir,
      dataFile: dataPath,
      rows: info.counts.rows,
      texts: info.counts.texts,
      parts: facts.map(partSummary),
      duplicatesDropped: filter.duplicatesDropped,
      carriedOver: filter.carriedOver,
      tornBytesDropped: torn.reduce((n, p) => n + p.tornBytes, 0),
      missingShards: missing,
      unverified,
      warnings,
    };
  } finally {
    for (const p of parts) await p.close();
    await previous?.close();
  }
}
