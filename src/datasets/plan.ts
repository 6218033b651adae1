/**
 * A part's plan: the texts the run of its shard set out to solve, so a dataset can say whether it
 * is finished and count the texts never run. Rows alone cannot: a run stopped after half its texts
 * leaves a dataset that looks whole.
 *
 * `part-SSSSS-of-NNNNN.plan.json` beside the part, written atomically when the writer opens, so
 * the last run of a shard defines its plan (a rerun with another --limit plans anew). It holds the
 * shard's text ids in input order; merge and inspect take the union over the parts.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ShardSpec } from '../jobs/shard.js';
import { errorMessage } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs_atomic.js';

/** Value of `format` in a plan file. */
export const PLAN_FORMAT = 'prototoken-plan';

/** What a plan file holds. */
export interface PartPlan {
  format: typeof PLAN_FORMAT;
  version: 1;
  shard: ShardSpec;
  /** Restarts each text must have stored to be done (every restart kept); null: one row per text. */
  restarts: number | null;
  /** How many texts (= ids.length). */
  texts: number;
  /** sha256 of the ids joined by newlines: tells two plans apart at a glance. */
  ids_sha256: string;
  /** The shard's text ids, in input order. */
  ids: string[];
  written: string;
}

/** The plan file of the part at `partPath`. */
export function planFileFor(partPath: string): string {
  return partPath.replace(/\.arrows$/, '.plan.json');
}

/** Record (replace) the plan of the part at `partPath`. */
export async function writePlan(partPath: string, shard: ShardSpec, ids: readonly string[], restarts: number | null): Promise<void> {
  const plan: PartPlan = {
    format: PLAN_FORMAT,
    version: 1,
    shard,
    restarts,
    texts: ids.length,
    ids_sha256: createHash('sha256').update(ids.join('\n')).digest('hex'),
    ids: [...ids],
    written: new Date().toISOString(),
  };
  await writeFileAtomic(planFileFor(partPath), `${JSON.stringify(plan)}\n`);
}

/** The plan of the part at `partPath`: null when it has none; `problem` when the file is unreadable. */
export async function readPlan(partPath: string): Promise<{ plan: PartPlan | null; problem: string | null }> {
  const file = planFileFor(partPath);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { plan: null, problem: null };
    return { plan: null, problem: `${path.basename(file)} is unreadable (${errorMessage(err)})` };
  }
  try {
    const plan = JSON.parse(text) as PartPlan;
    if (plan.format !== PLAN_FORMAT || !Array.isArray(plan.ids) || !plan.ids.every((id) => typeof id === 'string')) throw new Error('not a plan file');
    return { plan, problem: null };
  } catch (err) {
    return { plan: null, problem: `${path.basename(file)} is not a valid plan (${errorMessage(err)}); rerun its shard to rewrite it` };
  }
}
