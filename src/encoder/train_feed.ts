/**
 * Where the training loop's batches come from. Two sources behind one interface: the examples in
 * memory drawn by the EpochSampler (windows of text files, small datasets), and a solution
 * dataset streamed batch by batch through the datasets loader (datasets too big for memory). Both
 * report their position as {epoch, position}, which the checkpoint stores, so a resumed run draws
 * exactly the batches an uninterrupted one would. `openTrainSource` picks the one that
 * loadEncoderData's result calls for.
 */
import { openSolutionLoader, type SolutionLoader } from '../datasets/index.js';
import type { EncoderExample } from './batch.js';
import type { EncoderData } from './data.js';
import { EpochSampler, type SamplerState } from './sampler.js';

export interface ExampleSource {
  /**
   * The next batch: `batch` examples from memory; from a stream at most `batch` (an epoch's last
   * batch can be shorter, because the loader's batches never cross an epoch).
   */
  next(batch: number): Promise<EncoderExample[]>;
  /** The position a resumed source continues from. */
  state(): SamplerState;
  close(): Promise<void>;
}

/** The in-memory order: epochs of seeded permutations of `examples`. */
export function memorySource(examples: readonly EncoderExample[], seed: number, resumeFrom?: SamplerState): ExampleSource {
  const sampler = new EpochSampler(examples.length, seed, resumeFrom);
  return {
    next: (batch) => Promise.resolve(sampler.next(batch).map((i) => examples[i])),
    state: () => sampler.state(),
    close: () => Promise.resolve(),
  };
}

export interface StreamSourceOptions {
  /** Rows per batch: a stream's every next() must ask for exactly this many (the loader's batches are fixed). */
  batchRows: number;
  /** Seed of the shuffled order. */
  seed: number;
}

/** The solved training rows of the dataset in `dir`, streamed; memory about two shuffle windows. */
export async function openStreamSource(dir: string, opts: StreamSourceOptions, resumeFrom?: SamplerState): Promise<ExampleSource> {
  const loader: SolutionLoader = await openSolutionLoader(dir, { batchRows: opts.batchRows, seed: opts.seed, split: 'train', solvedOnly: true }, resumeFrom);
  return {
    async next(batch) {
      // A different size would silently desynchronise the order a checkpoint resumes from.
      if (batch !== opts.batchRows) throw new Error(`stream source: opened for batches of ${opts.batchRows}, asked for ${batch}`);
      const b = await loader.next();
      const { N, d } = b;
      // Views into this batch's own fresh arrays: nothing else holds them.
      return b.textIds.map((id, r) => ({ id, ids: b.tokenIds.subarray(r * N, (r + 1) * N), e: b.e.subarray(r * d, (r + 1) * d) }));
    },
    state: () => loader.state(),
    close: () => loader.close(),
  };
}

/**
 * The training rows of `data`: its examples in memory, or its dataset streamed in batches of
 * `batchRows`. Positioned at `resumeFrom` (a snapshot's data state), else at the start.
 */
export function openTrainSource(data: Pick<EncoderData, 'train' | 'dataset'>, opts: StreamSourceOptions, resumeFrom?: SamplerState): Promise<ExampleSource> {
  if (data.train) return Promise.resolve(memorySource(data.train, opts.seed, resumeFrom));
  return openStreamSource(data.dataset as string, opts, resumeFrom);
}

/** Whether trainLoop was handed a source or (the older form) the examples themselves. */
export function isExampleSource(x: readonly EncoderExample[] | ExampleSource): x is ExampleSource {
  return !Array.isArray(x);
}
