/**
 * Assemble dataset_info.json from combined rows and the parts they came from. Used by merge (which
 * writes it) and by the reader of an unmerged folder (which shows it without writing).
 */
import type { Combined } from './combine.js';
import { settingsOf, type DatasetInfo, type PartSummary } from './info.js';
import type { LoadedPart } from './parts.js';
import { describeSchema } from './schema.js';
import { computeStats, statColumns } from './stats.js';

/** A part as dataset_info.json lists it. */
export function partSummary(p: LoadedPart): PartSummary {
  return { file: p.name, rows: p.table.numRows, bytes: p.size, torn_bytes: p.scan.tornBytes, closed: p.scan.hasEndMarker };
}

/** Where the rows are stored: data.arrow with its sha256, or nowhere yet (unmerged parts). */
export interface StoredAs {
  dataFile: string;
  sha256: string;
}

/** dataset_info.json for `combined`; `stored` describes data.arrow once merged. */
export function buildDatasetInfo(combined: Combined, parts: readonly LoadedPart[], stored: StoredAs | null, now: Date): DatasetInfo {
  const { counts, ...stats } = computeStats(statColumns(combined.table));
  const settings = settingsOf(combined.meta);
  const what = settings.length === null ? 'rows of varying length' : `${settings.length}-token texts`;
  return {
    ...settings,
    description:
      `Proto-token solutions (${settings.kind}) for ${what} from ${settings.source.name} on ${settings.model.id}: ` +
      'per row, the input embedding e (and m) that make the frozen model emit the text in one forward pass.',
    schema: describeSchema(combined.d, combined.perTextM),
    shards: { counts: [...new Set(parts.map((p) => p.meta.shard.count))].sort((a, b) => a - b), parts: parts.map(partSummary) },
    data_file: stored?.dataFile ?? null,
    data_sha256: stored?.sha256 ?? null,
    merge_id: stored ? combined.meta.merge_id : null,
    counts,
    stats,
    created: combined.meta.created,
    updated: now.toISOString(),
  };
}
