/**
 * Solver results -> dataset rows: each finished (text, restart) with its target tokens and text,
 * and H_LM of the target under the plain LM (the text's own likelihood, a column of every row).
 */
import type { LoadedModel } from '../lm/load.js';
import { scoreTexts } from '../lm/score.js';
import type { SolveResult, SolveTarget } from '../solver/types.js';
import type { SolutionRecord } from './columns.js';
import { readDataset } from './reader.js';

/** Dataset rows of finished texts, with H_LM of each target under the plain LM. */
export async function recordsFor(
  results: readonly SolveResult[],
  targets: readonly (SolveTarget & { text: string })[],
  model: LoadedModel,
): Promise<SolutionRecord[]> {
  const ids = results.map((r) => Array.from(targets[r.targetIndex].ids));
  const scores = await scoreTexts(model.lm, ids, { bosId: model.tokenizer.bosId });
  return results.map((r, i) => ({
    textId: r.id,
    text: targets[r.targetIndex].text,
    tokenIds: Int32Array.from(ids[i]),
    e: r.e,
    ...(r.m ? { m: r.m } : {}),
    seed: r.seed,
    restart: r.restart,
    steps: r.steps,
    accuracy: r.accuracy,
    cTokens: r.cTokens,
    prefixLen: r.prefixLen,
    loss: r.loss,
    hLmNats: scores[i].nats,
    solved: r.solved,
    seconds: r.seconds,
  }));
}

/** The e of every row of the dataset in `dir`, by text id: per-text starts for `--init DATASET`. */
export async function eByTextId(dir: string): Promise<Map<string, Float32Array>> {
  const ds = await readDataset(dir);
  const e = new Map<string, Float32Array>();
  for (const row of ds.rows()) e.set(row.textId, row.e);
  return e;
}
