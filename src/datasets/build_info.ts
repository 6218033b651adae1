/**
 * Assemble what a merge records (data.arrow's DatasetMeta, dataset_info.json) from the sources
 * read, the statistics of the surviving rows and the parts they came from. Used by merge (which
 * writes it) and by the in-memory reader of an unmerged folder (which shows it).
 */
import { randomBytes } from 'node:crypto';
import { settingsOf, type DatasetInfo, type DatasetMeta, type PartMeta, type PartSummary } from './info.js';
import { describeSchema, type SchemaShape } from './schema.js';
import type { DatasetStats } from './dataset_stats.js';
import type { SourceFile } from './dataset_file.js';
import { currentStamp } from './folder.js';
import type { Completeness } from './completeness.js';

/** What dataset_info.json lists of a part. */
export interface PartFacts {
  name: string;
  rows: number;
  size: number;
  tornBytes: number;
  hasEndMarker: boolean;
  shardCount: number;
}

/** What dataset_info.json lists of an open part. */
export function partFactsOf(p: SourceFile<PartMeta>): PartFacts {
  return { name: p.name, rows: p.rows, size: p.file.size, tornBytes: p.tornBytes, hasEndMarker: p.hasEndMarker, shardCount: p.meta.shard.count };
}

/**
 * The DatasetMeta of a merge of `sources` (parts in order, then a previous data.arrow): the first
 * one's settings, the earliest creation time, a fresh merge_id, and the stamps of `parts` as they
 * are now (so a later append makes data.arrow stale).
 */
export async function mergedMeta(sources: readonly SourceFile[], parts: readonly SourceFile<PartMeta>[]): Promise<DatasetMeta> {
  const stamps = [];
  for (const p of parts) stamps.push(await currentStamp(p.path));
  const created = sources.map((s) => s.meta.created).sort();
  return {
    ...settingsOf(sources[0].meta),
    created: created.find((t) => t !== '') ?? new Date().toISOString(),
    merge_id: randomBytes(8).toString('hex'),
    merged_from: stamps,
  };
}

/** A part as dataset_info.json lists it. */
export function partSummary(p: PartFacts): PartSummary {
  return { file: p.name, rows: p.rows, bytes: p.size, torn_bytes: p.tornBytes, closed: p.hasEndMarker };
}

/** Where the rows are stored: data.arrow with its sha256, or nowhere yet (unmerged parts). */
export interface StoredAs {
  dataFile: string;
  sha256: string;
}

/** The shape of the combined rows. */
export interface CombinedShape extends SchemaShape {
  meta: DatasetMeta;
}

/** dataset_info.json for rows of `shape` with statistics `stats`; `stored` describes data.arrow once merged. */
export function buildDatasetInfo(
  shape: CombinedShape,
  stats: DatasetStats,
  parts: readonly PartFacts[],
  stored: StoredAs | null,
  now: Date,
  completeness: Completeness | null = null,
): DatasetInfo {
  const { counts, ...rest } = stats;
  const settings = settingsOf(shape.meta);
  const what = settings.length === null ? 'rows of varying length' : `${settings.length}-token texts`;
  return {
    ...settings,
    description:
      `Proto-token solutions (${settings.kind}) for ${what} from ${settings.source.name} on ${settings.model.id}: ` +
      'per row, the input embedding e (and m) that make the frozen model emit the text in one forward pass.',
    schema: describeSchema(shape),
    shards: { counts: [...new Set(parts.map((p) => p.shardCount))].sort((a, b) => a - b), parts: parts.map(partSummary) },
    data_file: stored?.dataFile ?? null,
    data_sha256: stored?.sha256 ?? null,
    merge_id: stored ? shape.meta.merge_id : null,
    counts,
    ...(completeness ? { completeness } : {}),
    stats: rest,
    created: shape.meta.created,
    updated: now.toISOString(),
  };
}
