/**
 * Validation of an encoder on held-out windows: the recon loss, one-pass token accuracy and
 * exact-match rate of e_hat, and its cosine to the solved e where the examples have one.
 * One download per batch of a few numbers per text.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type EncoderExample, disposeBatch, toBatch } from './batch.js';
import { LOSS_DEFAULTS, encoderLoss, rowCosine } from './losses.js';
import type { ProtoEncoder } from './types.js';

export interface ValMetrics {
  examples: number;
  /** Mean over texts of the summed cross-entropy (nats). */
  reconLoss: number;
  tokenAccuracy: number;
  exactMatch: number;
  /** Mean cosine between e_hat and the solved e; null when no example has one. */
  cosine: number | null;
}

export async function validate(encoder: ProtoEncoder, lm: CausalLM, m: tf.Tensor2D, examples: readonly EncoderExample[], batchSize = 64): Promise<ValMetrics> {
  const d = lm.config.hiddenSize;
  let loss = 0;
  let hitsTotal = 0;
  let tokens = 0;
  let exact = 0;
  let cosSum = 0;
  let cosCount = 0;
  for (let s = 0; s < examples.length; s += batchSize) {
    const chunk = examples.slice(s, s + batchSize);
    const b = toBatch(chunk, d);
    const packed = tf.tidy(() => {
      const eHat = encoder.apply(b.ids); // [B, d]
      const t = encoderLoss(eHat, { lm, m, targets: b.ids, e: null }, { kind: 'recon', ...LOSS_DEFAULTS });
      const hits = t.hits as tf.Tensor2D; // [B, N]
      const N = hits.shape[1];
      const perText = tf.sum(hits, 1); // [B]
      const cos = b.e ? rowCosine(eHat, b.e) : tf.zeros([chunk.length]); // [B]
      return tf.concat([tf.reshape(t.recon as tf.Scalar, [1]), tf.div(perText, N), cos]); // [1 + 2B]
    });
    const host = await packed.data();
    packed.dispose();
    const B = chunk.length;
    const N = chunk[0].ids.length;
    loss += host[0] * B;
    for (let r = 0; r < B; r++) {
      hitsTotal += host[1 + r] * N;
      tokens += N;
      if (host[1 + r] >= 1 - 1e-6) exact++;
      if (b.e) {
        cosSum += host[1 + B + r];
        cosCount++;
      }
    }
    disposeBatch(b);
  }
  const n = examples.length;
  return { examples: n, reconLoss: loss / n, tokenAccuracy: hitsTotal / tokens, exactMatch: exact / n, cosine: cosCount ? cosSum / cosCount : null };
}
