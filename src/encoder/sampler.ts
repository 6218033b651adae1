/**
 * The order training examples are drawn in: epoch after epoch, each a permutation seeded by
 * (seed, epoch). The position in that order is two integers, saved in checkpoints, so a resumed
 * run draws exactly the batches an uninterrupted one would have.
 */
import { Prng, deriveSeed } from '../util/prng.js';

export interface SamplerState {
  epoch: number;
  /** Examples of this epoch already handed out. */
  position: number;
}

export class EpochSampler {
  private order: Uint32Array;
  private epoch: number;
  private position: number;

  constructor(
    private readonly count: number,
    private readonly seed: number,
    state: SamplerState = { epoch: 0, position: 0 },
  ) {
    if (count < 1) throw new Error('EpochSampler: nothing to sample');
    this.epoch = state.epoch;
    this.position = state.position;
    this.order = permutation(count, deriveSeed(seed, this.epoch));
  }

  /** The next `batch` example indices; an epoch boundary inside a batch continues into the next epoch. */
  next(batch: number): number[] {
    const out: number[] = [];
    while (out.length < batch) {
      if (this.position >= this.count) {
        this.epoch++;
        this.position = 0;
        this.order = permutation(this.count, deriveSeed(this.seed, this.epoch));
      }
      out.push(this.order[this.position++]);
    }
    return out;
  }

  state(): SamplerState {
    return { epoch: this.epoch, position: this.position };
  }
}

/** Fisher-Yates with our PRNG. */
function permutation(n: number, seed: number): Uint32Array {
  const rng = new Prng(seed);
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
