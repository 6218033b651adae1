/**
 * Solver results -> dataset rows: each finished (text, restart) with its target tokens and text,
 * and H_LM of the target under the plain LM (the text's own likelihood, a column of every row).
 */
import type { LoadedModel } from '../lm/load.js';
import { scoreTexts } from '../lm/score.js';
import type { SolveResult, SolveTarget } from '../solver/types.js';
import type { SolutionRecord } from './columns.js';
import { PrototokenError } from '../util/errors.js';
import { readDataset } from './reader.js';

/**
 * Dataset rows of finished texts, with H_LM of each target under the plain LM. `layout` says which
 * optional columns the dataset has (a writer's `ordered` and `margins`): `order` is filled from
 * each target's `order` (its input position), `margin` and `polish_steps` from the solver's result.
 */
export async function recordsFor(
  results: readonly SolveResult[],
  targets: readonly (SolveTarget & { text: string; order?: number })[],
  model: LoadedModel,
  layout: { ordered: boolean; margins: boolean } = { ordered: false, margins: false },
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
    ...(layout.ordered ? { order: targets[r.targetIndex].order } : {}),
    ...(layout.margins ? { margin: r.margin ?? NaN, polishSteps: r.polishSteps ?? 0 } : {}),
  }));
}

/**
 * The e of every row of the dataset in `dir`, by text id: per-text starts for `--init DATASET`.
 * With `N`, a dataset solved at another N is refused: its e solve other targets (a longer text's
 * e with its own m, cut to 8 tokens, is no start for those 8 tokens).
 */
export async function eByTextId(dir: string, N: number | null = null): Promise<Map<string, Float32Array>> {
  const ds = await readDataset(dir);
  if (N !== null && ds.info.length !== null && ds.info.length !== N) {
    throw new PrototokenError(`--init: this dataset's e were solved for N=${ds.info.length} targets${ds.perTextM ? ', each with its own m' : ''}; this run solves N=${N} targets`, {
      file: dir,
      fix: `init from a dataset solved at N=${N}, or use --init normal`,
    });
  }
  const e = new Map<string, Float32Array>();
  for (const row of ds.rows()) e.set(row.textId, row.e);
  return e;
}
