/** What an encoder needs from the frozen LM and the training data to be built. */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import type { EStats } from './head.js';

export interface EncoderContext {
  /** The frozen LM (its config gives d and the vocabulary; lm-pool also reads its hidden states). */
  lm: CausalLM;
  /** BOS id of the LM's tokenizer, prepended by encoders that read the text through the LM. */
  bosId: number | null;
  /** Statistics of the training e the output head starts from. */
  stats: EStats;
}

/** The frozen LM's token embedding table [V, d] on the host (initialises encoders' own embeddings). */
export function embeddingTable(lm: CausalLM): Float32Array {
  return tf.tidy(() => {
    const V = lm.config.vocabSize;
    const ids = tf.tensor2d(Int32Array.from({ length: V }, (_, i) => i), [1, V], 'int32');
    return lm.embed(ids).dataSync() as Float32Array;
  });
}

/** Standard deviation of the embedding table: the scale of a "typical" input vector. */
export function embeddingStd(table: Float32Array): number {
  let s = 0;
  let s2 = 0;
  for (const x of table) {
    s += x;
    s2 += x * x;
  }
  const n = table.length;
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}
