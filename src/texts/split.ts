/**
 * The train/val/test split of a text, decided by its story alone: every window of a story shares
 * its split, so no test story is seen in training. It is a pure function of the id, like shards,
 * but hashed with a prefix so that splits do not line up with shards.
 */
import { PrototokenError } from '../util/errors.js';
import { stableHash64 } from '../util/hash.js';
import { storyOf } from './windows.js';

/** Fractions of texts per split; must be >= 0 and sum to 1. */
export interface SplitRatios {
  train: number;
  val: number;
  test: number;
}

/** 90 / 5 / 5. */
export const DEFAULT_SPLIT_RATIOS: Readonly<SplitRatios> = Object.freeze({ train: 0.9, val: 0.05, test: 0.05 });

/** Throw a PrototokenError unless `r` is usable (each >= 0, sum 1 within 1e-6). */
export function checkSplitRatios(r: SplitRatios): void {
  const parts = [r.train, r.val, r.test];
  const sum = parts.reduce((a, b) => a + b, 0);
  if (parts.some((p) => !Number.isFinite(p) || p < 0) || Math.abs(sum - 1) > 1e-6) {
    throw new PrototokenError(`split ratios train=${r.train} val=${r.val} test=${r.test} must be >= 0 and sum to 1`, {
      fix: 'pass ratios such as 0.9/0.05/0.05',
    });
  }
}

/**
 * The split of a text: u = top 53 bits of stableHash64("prototoken-split:" + storyOf(id)) / 2^53,
 * in [0, 1); train if u < train, val if u < train + val, else test. Hashing the story rather than
 * the window keeps every window of a story in one split, so no test story is seen in training; an
 * id without a window marker is its own story, so older datasets keep their splits.
 */
export function splitOf(textId: string, ratios: SplitRatios = DEFAULT_SPLIT_RATIOS): 'train' | 'val' | 'test' {
  const u = Number(stableHash64(`prototoken-split:${storyOf(textId)}`) >> 11n) / 2 ** 53;
  if (u < ratios.train) return 'train';
  return u < ratios.train + ratios.val ? 'val' : 'test';
}
