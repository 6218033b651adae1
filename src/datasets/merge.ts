/**
 * `prototoken merge`: validate every part, combine them into data.arrow, and rewrite
 * dataset_info.json and README.md. Nothing is written until every input has been read and
 * checked, and data.arrow is replaced atomically, so a failed merge leaves the folder as it was.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { tableToIPC } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';
import { buildDatasetInfo, partSummary } from './build_info.js';
import { renderCard } from './card.js';
import { combineSources } from './combine.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs_atomic.js';
import type { DatasetInfo, PartSummary } from './info.js';
import { CARD_FILE, DATA_FILE, INFO_FILE, listParts, loadMergedData, loadPart, readInfoFile, type LoadedPart } from './parts.js';
import { partFileName } from './shard.js';

/** How strict merge is. */
export interface MergeOptions {
  /**
   * Merge even when shards are missing or a part ends in a torn (incomplete) batch, which is then
   * left out. Default false: such a dataset is refused, because a shard has not finished.
   */
  allowIncomplete?: boolean;
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

/** Merge the dataset in `dir` into `dir/data.arrow`; see the module comment. */
export async function mergeDataset(dir: string, options: MergeOptions = {}): Promise<MergeReport> {
  const listing = await listParts(dir);
  const dataPath = path.join(dir, DATA_FILE);
  // A damaged dataset_info.json is no reason to refuse: merge rewrites it.
  const oldInfo = await readInfoFile(dir).catch((): DatasetInfo | null => null);
  const previous = (await loadMergedData(dir, oldInfo))?.data ?? null;
  if (listing.length === 0) {
    if (!previous) {
      throw new PrototokenError('no part-*.arrows files and no data.arrow: not a prototoken dataset folder', {
        file: dir,
        fix: 'pass the --out folder of `prototoken solve`',
      });
    }
    const rows = previous.table.numRows;
    const texts = new Set([...(previous.table.getChild('text_id') ?? [])]).size;
    return { dir, dataFile: null, rows, texts, parts: [], duplicatesDropped: 0, carriedOver: rows, tornBytesDropped: 0, missingShards: [], warnings: ['no part files: data.arrow is already the whole dataset; nothing to merge'] };
  }
  // Read everything first: any bad input stops the merge before a single byte is written.
  const parts: LoadedPart[] = [];
  for (const l of listing) parts.push(await loadPart(l.path));

  const missing = missingShards(listing);
  const torn = parts.filter((p) => p.scan.tornBytes > 0);
  const warnings: string[] = [];
  if (missing.length) warnings.push(`missing shards: ${missing.join(', ')}`);
  for (const p of torn) warnings.push(`${p.name} ends in an incomplete batch of ${p.scan.tornBytes} bytes (its writer was killed); left out`);
  if ((missing.length || torn.length) && !options.allowIncomplete) {
    throw new PrototokenError(`the dataset is not complete, so nothing was merged:\n  ${warnings.join('\n  ')}`, {
      file: dir,
      fix: 'run (or resume) the missing or interrupted shards with the same command and --shard i/n (resume cuts off a torn batch and re-solves only what is missing), or merge anyway with --allow-incomplete',
    });
  }

  const combined = combineSources(parts, previous);
  if (combined.duplicatesDropped) warnings.push(`${combined.duplicatesDropped} duplicate rows dropped (text already present in an earlier part)`);
  if (combined.carriedOver) warnings.push(`${combined.carriedOver} rows kept from the previous data.arrow (their parts are gone)`);
  const bytes = tableToIPC(combined.table, 'file');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const info = buildDatasetInfo(combined, parts, { dataFile: DATA_FILE, sha256 }, new Date());

  await removeStaleTemps(dir, [DATA_FILE, INFO_FILE, CARD_FILE]);
  // data.arrow first: if we die before dataset_info.json, readers see a merge_id mismatch, not bad data.
  await writeFileAtomic(dataPath, bytes);
  await writeFileAtomic(path.join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, CARD_FILE), renderCard(info));
  return {
    dir,
    dataFile: dataPath,
    rows: info.counts.rows,
    texts: info.counts.texts,
    parts: parts.map(partSummary),
    duplicatesDropped: combined.duplicatesDropped,
    carriedOver: combined.carriedOver,
    tornBytesDropped: torn.reduce((n, p) => n + p.scan.tornBytes, 0),
    missingShards: missing,
    warnings,
  };
}
