/** The frozen LM's token embedding table as a whole: its values and their spread. */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from './types.js';

/** Every token's embedding [V, d], row-major on the host (initialises encoders' own embeddings). */
export function embeddingTable(lm: CausalLM): Float32Array {
  return tf.tidy(() => allEmbeddings(lm).dataSync() as Float32Array);
}

/** Standard deviation over the whole table: the scale of a "typical" input vector. */
export function embeddingStd(lm: CausalLM): number {
  return tf.tidy(() => Math.sqrt(tf.moments(allEmbeddings(lm)).variance.dataSync()[0]));
}

function allEmbeddings(lm: CausalLM): tf.Tensor3D {
  const V = lm.config.vocabSize;
  return lm.embed(tf.tensor2d(Int32Array.from({ length: V }, (_, i) => i), [1, V], 'int32')); // [1, V, d]
}
