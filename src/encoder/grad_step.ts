/**
 * One training step's gradients on a set of examples: the encoder's forward, the loss through the
 * frozen LM, and the gradients of the examples' mean loss with respect to the trainable weights
 * (and m, when it is learned). The same function runs in the training thread and in every
 * data-parallel worker (grad_pool.ts), so a share of a batch is differentiated exactly as the
 * whole batch would be.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type EncoderExample, disposeBatch, toBatch } from './batch.js';
import { type LossOptions, encoderLoss } from './losses.js';
import type { ProtoEncoder } from './types.js';

/** The name under which a learned m is a trainable parameter (`train --learn-m`). */
export const LEARNED_M = 'm';

/** Gradients by parameter name, and the loss terms [total, recon, distill, hit fraction] (means over the examples). */
export interface StepGradients {
  grads: Map<string, tf.Tensor>;
  terms: tf.Tensor1D;
}

/**
 * Differentiate the mean loss of `examples`, cut to their first `n` tokens (the N curriculum).
 * `params` are the trainable weights by name; `m` is [1, d], or [d] when it is a learned parameter
 * (then listed in `params` as LEARNED_M). The caller disposes the grads and terms.
 */
export function stepGradients(
  encoder: ProtoEncoder,
  lm: CausalLM,
  m: tf.Tensor,
  params: readonly (readonly [string, tf.Variable])[],
  examples: readonly EncoderExample[],
  n: number,
  loss: LossOptions,
): StepGradients {
  const d = lm.config.hiddenSize;
  const batch = toBatch(examples, d);
  try {
    if (n < batch.ids.shape[1]) {
      if (loss.kind !== 'recon') throw new Error('an N curriculum trains on window prefixes, which have no solved e: use the recon loss');
      const whole = batch.ids;
      batch.ids = tf.slice(whole, [0, 0], [-1, n]); // [B, n]
      whole.dispose();
    }
    const byTfName = new Map(params.map(([name, v]) => [v.name, name]));
    let terms: tf.Tensor1D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const eHat = encoder.apply(batch.ids, true, examples.map((x) => x.id));
      const mIn = m.rank === 1 ? tf.reshape(m, [1, d]) as tf.Tensor2D : m as tf.Tensor2D;
      const t = encoderLoss(eHat, { lm, m: mIn, targets: batch.ids, e: batch.e }, loss);
      const zero = tf.scalar(0);
      terms = tf.keep(tf.stack([t.total, t.recon ?? zero, t.distill ?? zero, t.hits ? tf.mean(t.hits) : zero]) as tf.Tensor1D);
      return t.total;
    }, params.map(([, v]) => v));
    value.dispose();
    return {
      grads: new Map(Object.entries(grads).map(([k, g]) => [byTfName.get(k) as string, g])),
      terms: terms as unknown as tf.Tensor1D,
    };
  } finally {
    disposeBatch(batch);
  }
}
