/**
 * Parts (and a previous data.arrow) -> one table, the way merge and the unmerged reader both see
 * a dataset. Rules:
 *
 * - Every source must have compatible settings (`compatDiff`), else an error naming both files.
 * - A text id belongs to the first source (parts in shard order, then data.arrow) that holds it;
 *   its rows in later sources are duplicates and dropped. Restarts of one text live in one source,
 *   so they all survive; an exact (text_id, seed) repeat inside a source is dropped too. A dataset
 *   that keeps every restart keys rows by (text_id, restart) instead (dedup.ts).
 * - data.arrow comes last, so it only contributes rows whose parts are gone ("carried over").
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Table } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';
import { recordBatchFromColumns, columnsFromTable } from './arrow_columns.js';
import { concatColumns, takeRows, type SolutionColumns } from './columns.js';
import { RowFilter } from './dedup.js';
import { DATASET_META_KEY, compatDiff, settingsOf, type DatasetMeta, type DatasetSettings } from './info.js';
import type { LoadedDataFile, LoadedPart } from './folder.js';
import { solutionSchema, type SchemaShape } from './schema.js';

/** The combined rows and what was dropped on the way. */
export interface Combined extends SchemaShape {
  /** One record batch (zero rows: no batch), schema metadata holds the DatasetMeta. */
  table: Table;
  meta: DatasetMeta;
  /** Rows dropped because an earlier part already held their text (or the same text and seed). */
  duplicatesDropped: number;
  /** Rows taken from the previous data.arrow because no part holds their text any more. */
  carriedOver: number;
}

interface Source extends SchemaShape {
  name: string;
  path: string;
  settings: DatasetSettings;
  table: Table;
  fromDataFile: boolean;
}

/** Combine `parts` (in order) and an optional previous data.arrow. Needs at least one source. */
export function combineSources(parts: readonly LoadedPart[], dataFile: LoadedDataFile | null): Combined {
  const sources: Source[] = parts.map((p) => ({ name: p.name, path: p.path, settings: p.meta, table: p.table, ...p.shape, fromDataFile: false }));
  if (dataFile) sources.push({ name: 'data.arrow', path: dataFile.path, settings: dataFile.meta, table: dataFile.table, ...dataFile.shape, fromDataFile: true });
  if (sources.length === 0) throw new Error('combineSources needs at least one source');
  const first = sources[0];
  checkCompatible(sources);
  const shape: SchemaShape = { d: first.d, perTextM: first.perTextM, allRestarts: first.allRestarts };
  const filter = new RowFilter(shape.allRestarts);
  const kept: SolutionColumns[] = [];
  sources.forEach((s, si) => {
    for (const cols of columnsFromTable(s.table, shape, s.path)) {
      const keep = filter.keep(cols, si, s.fromDataFile);
      kept.push(keep.length === cols.rows ? cols : takeRows(cols, keep));
    }
  });
  const { duplicatesDropped, carriedOver } = filter;
  const meta = mergedMeta(sources.map((s) => s.settings), parts.map((p) => p.stamp));
  return finishCombined(kept, meta, shape, duplicatesDropped, carriedOver);
}

/** The settings every source must share, checked against the first; throws naming both files. */
export function checkCompatible(sources: readonly { name: string; path: string; settings: DatasetSettings }[]): void {
  const first = sources[0];
  for (const s of sources.slice(1)) {
    const diff = compatDiff(first.settings, s.settings);
    if (diff.length) {
      throw new PrototokenError(`${s.name} and ${first.name} were made with different settings:\n  ${diff.join('\n  ')}`, {
        file: path.dirname(s.path),
        fix: 'every part of a dataset must come from the same model, m, N, arrangement and solver config; move the odd part to its own folder',
      });
    }
  }
}

/** The DatasetMeta of a merge of sources with `settings`: a fresh merge_id, the parts' stamps. */
export function mergedMeta(settings: readonly DatasetSettings[], stamps: DatasetMeta['merged_from']): DatasetMeta {
  return {
    ...settingsOf(settings[0]),
    created: earliest(settings.map((s) => ('created' in s ? String(s.created) : ''))),
    merge_id: randomBytes(8).toString('hex'),
    merged_from: stamps,
  };
}

function finishCombined(kept: SolutionColumns[], meta: DatasetMeta, shape: SchemaShape, duplicatesDropped: number, carriedOver: number): Combined {
  const schema = solutionSchema(shape, new Map([[DATASET_META_KEY, JSON.stringify(meta)]]));
  const all = concatColumns(kept, shape);
  const table = all.rows > 0 ? new Table(schema, [recordBatchFromColumns(all, schema)]) : new Table(schema);
  return { table, meta, ...shape, duplicatesDropped, carriedOver };
}

function earliest(isoTimes: string[]): string {
  const valid = isoTimes.filter((t) => t !== '').sort();
  return valid[0] ?? new Date().toISOString();
}
