/** The ladder of a share of the texts, run in a ModelThreads worker (src/lm/threads.ts). */
import type { ThreadTaskContext } from '../lm/threads.js';
import { type LadderOptions, type LadderTexts, ladderTexts } from './ladder.js';

export interface LadderTaskInput {
  m: Float32Array;
  /** [n * N] int32 */
  targets: Int32Array;
  N: number;
  /** [n * d] starts */
  e: Float32Array;
  opts: LadderOptions;
}

export function run(ctx: ThreadTaskContext, input: LadderTaskInput): Promise<LadderTexts> {
  return ladderTexts(ctx.model.lm, input.m, input.targets, input.N, input.e, input.opts);
}
