/** solveTexts on a share of the texts, run in a ModelThreads worker (src/lm/threads.ts). */
import type { ThreadTaskContext } from '../lm/threads.js';
import { solveTexts } from './solve.js';
import type { SolveResult, SolveTarget, SolverOptions } from './types.js';

export interface SolveTaskInput {
  targets: SolveTarget[];
  options: SolverOptions;
}

/** Results in target order (`targetIndex` within this share); `interrupted` when the pool was asked to stop. */
export interface SolveTaskOutput {
  results: SolveResult[];
  interrupted: boolean;
}

export async function run(ctx: ThreadTaskContext, input: SolveTaskInput): Promise<SolveTaskOutput> {
  const results = new Array<SolveResult>(input.targets.length);
  const run = await solveTexts(ctx.model.lm, input.targets, input.options, {
    onResults: (rs) => rs.forEach((r) => (results[r.targetIndex] = r)),
    shouldStop: ctx.shouldStop,
  });
  return { results, interrupted: run.interrupted };
}
