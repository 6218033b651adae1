/**
 * Assemble dataset_info.json from the statistics of combined rows and the parts they came from.
 * Used by merge (which writes it) and by the readers of an unmerged folder (which show it).
 */
import { settingsOf, type DatasetInfo, type DatasetMeta, type PartSummary } from './info.js';
import { describeSchema, type SchemaShape } from './schema.js';
import type { DatasetStats } from './dataset_stats.js';

/** What dataset_info.json lists of a part. */
export interface PartFacts {
  name: string;
  rows: number;
  size: number;
  tornBytes: number;
  hasEndMarker: boolean;
  shardCount: number;
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
export function buildDatasetInfo(shape: CombinedShape, stats: DatasetStats, parts: readonly PartFacts[], stored: StoredAs | null, now: Date): DatasetInfo {
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
    stats: rest,
    created: shape.meta.created,
    updated: now.toISOString(),
  };
}
