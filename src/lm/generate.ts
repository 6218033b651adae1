/**
 * Plain sampling from the LM (no KV cache: each step re-runs the prefix, which is cheap for the
 * small models this runs on CPU and keeps one code path with the solver's forward).
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from './types.js';
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
  const maxNew = opts.maxNewTokens ?? 40;
  const temperature = opts.temperature ?? 0;
  const stop = new Set(opts.stopIds ?? []);
  const rng = new Prng(opts.seed ?? 0);
  const ids = [...promptIds];
  if (ids.length === 0) throw new Error('generate: the prompt must hold at least one token (e.g. BOS)');
  for (let n = 0; n < maxNew && ids.length < lm.config.maxPositions; n++) {
    const last = tf.tidy(() => {
      const logits = lm.forward(lm.embed(tf.tensor2d(ids, [1, ids.length], 'int32'))); // [1, T, V]
      return tf.squeeze(tf.slice(logits, [0, ids.length - 1, 0], [1, 1, -1])); // [V]
    });
    const values = await last.data();
    last.dispose();
    for (const id of opts.banIds ?? []) values[id] = -Infinity;
    const next = temperature === 0 ? argmax(values) : sample(values, temperature, rng);
    ids.push(next);
    if (stop.has(next)) break;
  }
  return ids;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function sample(logits: ArrayLike<number>, temperature: number, rng: Prng): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const w = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) w[i] = logits[i] === -Infinity ? 0 : Math.exp((logits[i] - max) / temperature);
  return rng.categorical(w);
}
