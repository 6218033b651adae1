/**
 * Sampling many texts from the LM at once: the rows of a batch advance in lockstep, one token per
 * step of the whole batch. The prompt is prefilled once into a key/value cache and every step feeds
 * only the rows' last tokens (`CausalLM.forwardCached`); a finished row leaves the batch (and the
 * cache) at once.
 *
 * Each row samples from its own seeded stream, so a row's tokens depend only on its seed and on
 * the logits; rows are grouped deterministically by the caller, so the same seeds and batch size
 * give the same texts on the same backend.
 */
import type { CausalLM } from './types.js';
import { KvCache } from './kv_cache.js';
import { chooseToken, nextLogits } from './generate.js';
import { Prng } from '../util/prng.js';

export interface SampleBatchOptions {
  /** Tokens given to every row before sampling (e.g. [BOS]); at least one. */
  prompt: readonly number[];
  /** New tokens per row at most (also capped by the model's positions). */
  maxNewTokens: number;
  /** Softmax temperature (> 0). Default 1. */
  temperature?: number;
  /** A row ends when it samples one of these; the stop id is not part of its text. Default none. */
  stopIds?: readonly number[];
  /** Stop ids are never drawn before this many new tokens (so no row is empty). Default 0. */
  minNewTokens?: number;
}

/** One sampled row: its new tokens (prompt and stop id excluded) and whether a stop id ended it. */
export interface SampledRow {
  ids: number[];
  stopped: boolean;
}

/** Sample one row per seed, all in one batch (see the module comment). */
export async function sampleBatch(lm: CausalLM, seeds: readonly number[], opts: SampleBatchOptions): Promise<SampledRow[]> {
  if (opts.prompt.length === 0) throw new Error('sampleBatch: the prompt must hold at least one token (e.g. BOS)');
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`sampleBatch: temperature must be > 0, got ${temperature}`);
  const stop = new Set(opts.stopIds ?? []);
  const minNew = opts.minNewTokens ?? 0;
  const maxNew = Math.min(opts.maxNewTokens, lm.config.maxPositions - opts.prompt.length);
  const rows = seeds.map((seed) => ({ rng: new Prng(seed), seq: [...opts.prompt], done: false, stopped: false }));
  if (maxNew <= 0 || rows.length === 0) return rows.map(() => ({ ids: [], stopped: false }));
  const V = lm.config.vocabSize;
  const cache = new KvCache(lm.config, opts.prompt.length + maxNew - 1);
  try {
    let live = rows;
    let input = live.flatMap((r) => r.seq); // [B*T]: the prompt of every row, then each row's last token
    for (let n = 0; n < maxNew && live.length > 0; n++) {
      const values = await nextLogits(lm, cache, input, live.length);
      live.forEach((r, b) => {
        const next = chooseToken(values.subarray(b * V, (b + 1) * V), temperature, r.rng, n < minNew ? stop : NONE);
        if (stop.has(next)) {
          r.done = true;
          r.stopped = true;
        } else {
          r.seq.push(next);
        }
      });
      const keep = live.flatMap((r, b) => (r.done ? [] : [b]));
      if (keep.length > 0) cache.keepRows(keep);
      live = keep.map((b) => live[b]);
      input = live.map((r) => r.seq[r.seq.length - 1]);
    }
  } finally {
    cache.dispose();
  }
  return rows.map((r) => ({ ids: r.seq.slice(opts.prompt.length), stopped: r.stopped }));
}

const NONE: ReadonlySet<number> = new Set();
