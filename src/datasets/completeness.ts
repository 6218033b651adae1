/**
 * Whether a dataset holds every text its runs set out to solve. A run stopped by Ctrl-C, a shard
 * that never ran or a part ending in a torn batch leaves rows that look like a whole dataset;
 * this decides, from the parts' plans (plan.ts), their saved solver states (solver_state.ts) and
 * the text ids of the rows read, whether it is complete, and counts the texts done, in progress
 * and never started. Merge records the verdict in dataset_info.json and the card; inspect shows
 * it; export and `train --dataset` refuse an incomplete dataset unless told to accept it.
 */
import { PrototokenError } from '../util/errors.js';
import type { Completeness, CompletenessStatus } from './info.js';
import { listParts, missingShards } from './folder.js';
import { readPlan } from './plan.js';
import { openScan, type DatasetScan } from './scan.js';
import { savedStateIds } from './solver_state.js';

export type { Completeness, CompletenessStatus } from './info.js';

/** What is known about the files besides plans: missing shards and torn parts. */
export interface FileFacts {
  missingShards: readonly string[];
  tornParts: readonly string[];
}

/**
 * Assess the dataset in `dir` whose surviving rows have `textIds` (one entry per row, duplicates
 * already dropped). Null when the folder has no parts (only a data.arrow: its parts were removed),
 * so the caller falls back on what dataset_info.json recorded.
 */
export async function assessCompleteness(dir: string, textIds: readonly string[], facts: FileFacts): Promise<Completeness | null> {
  const parts = await listParts(dir);
  if (parts.length === 0) return null;
  const planned = new Map<string, number>();
  const unplanned: string[] = [];
  const problems: string[] = [];
  const inFlight = new Set<string>();
  for (const p of parts) {
    const { plan, problem } = await readPlan(p.path);
    if (problem) problems.push(problem);
    if (!plan) unplanned.push(p.name);
    else for (const id of plan.ids) planned.set(id, plan.restarts ?? 1);
    for (const id of await savedStateIds(p.path)) inFlight.add(id);
  }
  const rows = new Map<string, number>();
  for (const id of textIds) rows.set(id, (rows.get(id) ?? 0) + 1);
  let done = 0;
  let inProgress = 0;
  for (const [id, need] of planned) {
    const have = rows.get(id) ?? 0;
    if (have >= need) done++;
    else if (have > 0 || inFlight.has(id)) inProgress++;
  }
  const known = planned.size > 0;
  const notStarted = known ? planned.size - done - inProgress : null;
  const filesMissing = facts.missingShards.length > 0 || facts.tornParts.length > 0;
  const status: CompletenessStatus =
    filesMissing || (known && done < planned.size) ? 'incomplete' : unplanned.length > 0 ? 'unknown' : 'complete';
  const c: Completeness = {
    status,
    texts_planned: known ? planned.size : null,
    texts_done: done,
    texts_in_progress: inProgress,
    texts_not_started: notStarted,
    missing_shards: [...facts.missingShards],
    torn_parts: [...facts.tornParts],
    summary: '',
  };
  c.summary = summaryOf(c, unplanned, problems);
  return c;
}

/** The one line of `c`. */
function summaryOf(c: Completeness, unplanned: readonly string[], problems: readonly string[]): string {
  const bits: string[] = [];
  if (c.texts_planned !== null) {
    if (c.status === 'complete') bits.push(`complete: all ${c.texts_planned} planned texts done`);
    else {
      bits.push(`${c.texts_done} of ${c.texts_planned} planned texts done`);
      if (c.texts_in_progress) bits.push(`${c.texts_in_progress} in progress (their solver state is saved; a rerun continues them)`);
      if (c.texts_not_started) bits.push(`${c.texts_not_started} not started`);
    }
  }
  if (c.missing_shards.length) bits.push(`missing shards (their texts never ran): ${c.missing_shards.join(', ')}`);
  if (c.torn_parts.length) bits.push(`parts ending in a torn batch (left out): ${c.torn_parts.join(', ')}`);
  if (unplanned.length) bits.push(`no plan recorded for ${unplanned.join(', ')} (written before plans were, or not by a solve run), so its texts cannot be counted`);
  bits.push(...problems);
  if (c.status === 'incomplete') return `INCOMPLETE: ${bits.join('; ')}; rerun the solve command that made it to finish it`;
  if (c.status === 'unknown') return `completeness unknown: ${bits.join('; ')}`;
  return bits.join('; ');
}

/** The verdict recorded for datasets from before completeness was: nothing known. */
export const UNKNOWN_COMPLETENESS: Completeness = {
  status: 'unknown', texts_planned: null, texts_done: 0, texts_in_progress: 0, texts_not_started: null, missing_shards: [], torn_parts: [],
  summary: 'completeness unknown: the dataset records no plan (made before plans were recorded, or not by a solve run)',
};

/**
 * The completeness of the dataset in `dir`: as merge recorded it when data.arrow is current, else
 * assessed from the parts with one pass over the rows' text ids.
 */
export async function datasetCompleteness(dir: string): Promise<Completeness> {
  // Verified like any read, so damage is named as such rather than read as rows.
  const scan = await openScan(dir, { verify: true });
  try {
    if (recorded(scan)) return recorded(scan) as Completeness;
    const ids: string[] = [];
    for await (const b of scan.batches()) for (const id of b.columns.textId) ids.push(id);
    return await completenessOfScan(scan, ids);
  } finally {
    await scan.close();
  }
}

/** What merge recorded, when what is read is the data.arrow it wrote. */
function recorded(scan: DatasetScan): Completeness | null {
  return scan.readFrom === 'data.arrow' ? scan.info?.completeness ?? null : null;
}

/**
 * The completeness of what `scan` read, once its rows (`textIds`, one per row) are known: as merge
 * recorded it for a current data.arrow, else assessed from the parts (torn tails and missing shards
 * as the scan found them), else unknown.
 */
export async function completenessOfScan(scan: DatasetScan, textIds: readonly string[]): Promise<Completeness> {
  const known = recorded(scan);
  if (known) return known;
  const facts = scan.readFrom === 'parts'
    ? { missingShards: scan.missingShards, tornParts: scan.parts.filter((p) => p.tornBytes > 0).map((p) => p.name) }
    : { missingShards: missingShards(await listParts(scan.dir)), tornParts: [] };
  return (await assessCompleteness(scan.dir, textIds, facts)) ?? scan.info?.completeness ?? UNKNOWN_COMPLETENESS;
}

/**
 * Refuse an incomplete dataset for `action` (e.g. "exported") unless `allowPartial`; returns the
 * verdict either way, so a caller that accepts partial data can say so.
 */
export async function requireComplete(dir: string, action: string, allowPartial: boolean): Promise<Completeness> {
  const c = await datasetCompleteness(dir);
  if (c.status === 'incomplete' && !allowPartial) {
    throw new PrototokenError(`the dataset is incomplete, so it was not ${action}: ${c.summary.replace(/^INCOMPLETE: /, '')}`, {
      file: dir,
      fix: 'finish it first (rerun the solve command that made it: it resumes where it stopped and merges), or pass --allow-partial to use the rows it has',
    });
  }
  return c;
}
