/** One group of sampled texts, run in a ModelThreads worker (threads.ts). */
import { type SampleBatchOptions, type SampledRow, sampleBatch } from './sample_batch.js';
import type { ThreadTaskContext } from './threads.js';

export interface SampleTaskInput {
  seeds: number[];
  opts: SampleBatchOptions;
}

export function run(ctx: ThreadTaskContext, input: SampleTaskInput): Promise<SampledRow[]> {
  return sampleBatch(ctx.model.lm, input.seeds, input.opts);
}
