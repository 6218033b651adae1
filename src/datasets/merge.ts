/**
 * `prototoken merge`: validate every part, combine them into data.arrow, and rewrite
 * dataset_info.json and README.md.
 *
 * It streams through the one read path (scan.ts, always from the parts): parts are read one record
 * batch at a time (checksums verified), duplicates are dropped by text id (by text id and restart
 * when the dataset keeps every restart, see dedup.ts), and data.arrow is written batch by batch to
 * a temporary file that is only renamed into place once every input has been read and checked.
 * Memory is one output batch plus the set of text ids and the per-row statistics, never the
 * vectors of the whole dataset. A failed merge leaves the folder as it was.
 */
import * as path from 'node:path';
import { PrototokenError } from '../util/errors.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs_atomic.js';
import { buildDatasetInfo, mergedMeta, partFactsOf, partSummary } from './build_info.js';
import { renderCard } from './card.js';
import { BatchCoalescer } from './coalesce.js';
import { createDataFileSink } from './data_file_writer.js';
import { DATASET_META_KEY, type PartSummary } from './info.js';
import { CARD_FILE, DATA_FILE, INFO_FILE } from './folder.js';
import { notes, openScan, shapeOf, type DatasetScan } from './scan.js';
import { solutionSchema } from './schema.js';
import { StatAccumulator, computeStats } from './dataset_stats.js';
import { indexFileFor } from './checksums.js';
import { assessCompleteness, type Completeness } from './completeness.js';

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
  /** Whether every planned text is there (as recorded in dataset_info.json); null when nothing was merged. */
  completeness: Completeness | null;
}

/** Merge the dataset in `dir` into `dir/data.arrow`; see the module comment. */
export async function mergeDataset(dir: string, options: MergeOptions = {}): Promise<MergeReport> {
  const verify = options.verify ?? true;
  const dataPath = path.join(dir, DATA_FILE);
  // Framing, settings, torn tails and missing shards first: a bad input stops the merge before any byte is written.
  const scan = await openScan(dir, { verify, fromParts: true });
  try {
    if (scan.parts.length === 0) return await nothingToMerge(scan);
    const torn = scan.parts.filter((p) => p.tornBytes > 0);
    const warnings: string[] = [];
    if (scan.missingShards.length) warnings.push(notes.missingShards(scan.missingShards));
    for (const p of torn) warnings.push(notes.torn(p, 'left out'));
    if ((scan.missingShards.length || torn.length) && !options.allowIncomplete) {
      throw new PrototokenError(`the dataset is not complete, so nothing was merged:\n  ${warnings.join('\n  ')}`, {
        file: dir,
        fix: 'run (or resume) the missing or interrupted shards with the same command and --shard i/n (resume cuts off a torn batch and re-solves only what is missing), or merge anyway with --allow-incomplete',
      });
    }
    if (scan.unverified.length) warnings.push(notes.unverified(scan.unverified));

    const meta = await mergedMeta(scan.sources, scan.parts);
    const shape = shapeOf(scan);
    const schema = solutionSchema(shape, new Map([[DATASET_META_KEY, JSON.stringify(meta)]]));
    await removeStaleTemps(dir, [DATA_FILE, path.basename(indexFileFor(dataPath)), INFO_FILE, CARD_FILE]);
    const sink = await createDataFileSink(dataPath, schema, meta.merge_id);
    const stats = new StatAccumulator();
    let written: { sha256: string };
    try {
      const out = new BatchCoalescer(sink, schema, shape, options.batchBytes);
      const total = scan.sources.reduce((n, s) => n + s.rows, 0);
      let reported = 0;
      for await (const b of scan.batches()) {
        stats.add(b.columns);
        await out.add(b.columns, b.bytes, b.whole, b.sha256);
        options.onRows?.((reported = b.rowsRead), total);
      }
      // Batches whose rows were all duplicates yield nothing; the count still ends at the total.
      if (reported < total) options.onRows?.(total, total);
      await out.flush();
      written = await sink.finish();
      await sink.commit();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    if (scan.duplicatesDropped) warnings.push(notes.duplicates(scan.duplicatesDropped));
    if (scan.carriedOver) warnings.push(notes.carriedOver(scan.carriedOver));
    const facts = scan.parts.map(partFactsOf);
    const rowStats = stats.columns();
    const completeness = await assessCompleteness(dir, rowStats.textId, { missingShards: scan.missingShards, tornParts: torn.map((p) => p.name) });
    const info = buildDatasetInfo({ meta, ...shape }, computeStats(rowStats), facts, { dataFile: DATA_FILE, sha256: written.sha256 }, new Date(), completeness);
    // data.arrow first: if we die before dataset_info.json, readers see a merge_id mismatch, not bad data.
    await writeFileAtomic(path.join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    await writeFileAtomic(path.join(dir, CARD_FILE), renderCard(info));
    return {
      dir,
      dataFile: dataPath,
      rows: info.counts.rows,
      texts: info.counts.texts,
      parts: facts.map(partSummary),
      duplicatesDropped: scan.duplicatesDropped,
      carriedOver: scan.carriedOver,
      tornBytesDropped: torn.reduce((n, p) => n + p.tornBytes, 0),
      missingShards: [...scan.missingShards],
      unverified: [...scan.unverified],
      warnings,
      completeness,
    };
  } finally {
    await scan.close();
  }
}

/** A folder whose only source is data.arrow (its parts were deleted): report it, write nothing. */
async function nothingToMerge(scan: DatasetScan): Promise<MergeReport> {
  const ids = new Set<string>();
  for await (const b of scan.batches()) b.columns.textId.forEach((id) => ids.add(id));
  const rows = scan.sources[0].rows;
  return {
    dir: scan.dir, dataFile: null, rows, texts: ids.size, parts: [], duplicatesDropped: 0, carriedOver: rows, tornBytesDropped: 0, missingShards: [],
    unverified: [...scan.unverified], warnings: [notes.nothingToMerge], completeness: scan.info?.completeness ?? null,
  };
}
