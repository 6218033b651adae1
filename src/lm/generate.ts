/**
 * Decoding from the LM with a key/value cache: one prefill of the prompt, then one position per new
 * token attending to the cached keys/values (`CausalLM.forwardCached`), so a token costs O(1)
 * positions of work instead of re-running the whole prefix. Also the token choice (greedy or
 * temperature sampling) that every sampler of the package uses.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from './types.js';
import type { TextTokenizer } from './tokenizer.js';
import { KvCache } from './kv_cache.js';
import { Prng } from '../util/prng.js';

export interface GenerateOptions {
  /** Tokens to add after the prompt. Default 40. */
  maxNewTokens?: number;
  /** 0 = greedy (argmax); otherwise softmax(logits / temperature) sampling. Default 0. */
  temperature?: number;
  /** Seed of the sampling stream. Default 0. */
  seed?: number;
  /** Generation stops after emitting any of these ids (the id is kept in the output). Default none. */
  stopIds?: readonly number[];
  /** Ids that are never emitted (e.g. end-of-text, to force a continuation of full length). Default none. */
  banIds?: readonly number[];
}

/** Continue `promptIds`; returns prompt + new ids. Stops at the model's position limit. */
export async function generate(lm: CausalLM, promptIds: readonly number[], opts: GenerateOptions = {}): Promise<number[]> {
  const temperature = opts.temperature ?? 0;
  const stop = new Set(opts.stopIds ?? []);
  const banned = new Set(opts.banIds ?? []);
  const rng = new Prng(opts.seed ?? 0);
  const ids = [...promptIds];
  if (ids.length === 0) throw new Error('generate: the prompt must hold at least one token (e.g. BOS)');
  const maxNew = Math.min(opts.maxNewTokens ?? 40, lm.config.maxPositions - ids.length);
  if (maxNew <= 0) return ids;
  const cache = new KvCache(lm.config, ids.length + maxNew - 1);
  try {
    let input: number[] = ids; // the prompt, then the last new token
    for (let n = 0; n < maxNew; n++) {
      const values = await nextLogits(lm, cache, input, 1);
      const next = chooseToken(values, temperature, rng, banned);
      ids.push(next);
      if (stop.has(next)) break;
      input = [next];
    }
  } finally {
    cache.dispose();
  }
  return ids;
}

/**
 * Feed B rows of t new tokens each (`ids` row-major, B*t) after the positions `cache` holds, and
 * download the logits of each row's last position: [B*V], row b at [b*V, (b+1)*V).
 */
export async function nextLogits(lm: CausalLM, cache: KvCache, ids: readonly number[], B: number): Promise<Float32Array> {
  const t = ids.length / B;
  const V = lm.config.vocabSize;
  const last = tf.tidy(() => {
    const logits = lm.forwardCached(lm.embed(tf.tensor2d(Int32Array.from(ids), [B, t], 'int32')), cache); // [B, t, V]
    return tf.reshape(tf.slice(logits, [0, t - 1, 0], [B, 1, V]), [B, V]); // [B, V]
  });
  try {
    return (await last.data()) as Float32Array;
  } finally {
    last.dispose();
  }
}

/**
 * The next token from one position's logits [V]: the argmax when temperature is 0, else a draw from
 * softmax(logits / temperature) (in float64). Ids in `banned` are never chosen: they are left out of
 * the max as well as the draw, so a banned id far above the rest cannot underflow every weight.
 */
export function chooseToken(logits: ArrayLike<number>, temperature: number, rng: Prng, banned: ReadonlySet<number>): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++) if (!banned.has(i) && (best < 0 || logits[i] > logits[best])) best = i;
  if (best < 0) throw new Error('chooseToken: every id is banned');
  if (temperature === 0) return best;
  const max = logits[best];
  const w = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) w[i] = banned.has(i) ? 0 : Math.exp((logits[i] - max) / temperature);
  return rng.categorical(w);
}

/**
 * Ids that end a text: EOS, and BOS too when the model was fed BOS-first text (llama2.c-style
 * models such as stories260k end a story by emitting BOS).
 */
export function stopIdsFor(tokenizer: TextTokenizer, prompt: readonly number[]): number[] {
  const ids: number[] = [];
  if (tokenizer.eosId !== null) ids.push(tokenizer.eosId);
  if (tokenizer.bosId !== null && prompt[0] === tokenizer.bosId) ids.push(tokenizer.bosId);
  return ids;
}
