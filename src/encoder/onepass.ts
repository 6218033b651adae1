/**
 * One-pass reconstruction: feed [e][m]x(N-1) to the frozen LM once and read each output's argmax.
 * This is the product's yardstick: an e is good exactly when this pass emits the text.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { argmaxHits } from '../lm/cross_entropy.js';
import { type Arrangement, arrange, layoutFor } from '../solver/arrangements.js';
import { rowMetrics } from '../solver/step.js';
import type { OnePassRow } from './types.js';

export interface OnePassOptions {
  /** Input layout; the encoder stage uses the paper's `e-m`. Default 'e-m'. */
  arrangement?: Arrangement;
  /** Texts per forward pass. Default 64. */
  batchSize?: number;
}

/** Hits of one forward: e [B, d], m [1, d], targets [B, N] int32 -> [B, N] (1 = right). Inside a tidy. */
export function onePassHits(lm: CausalLM, e: tf.Tensor2D, m: tf.Tensor2D, targets: tf.Tensor2D, arrangement: Arrangement = 'e-m'): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, N] = targets.shape;
    const layout = layoutFor(arrangement, N);
    const logits = lm.forward(arrange(e, m, layout)); // [B, L, V]
    const sup = layout.offset === 0 && layout.inputs === N ? logits : tf.slice(logits, [0, layout.offset, 0], [B, N, -1]); // [B, N, V]
    return argmaxHits(sup, targets);
  });
}

/**
 * Evaluate host-side vectors: e [n * d], m [d], targets [n * N] (every text N tokens).
 * One download per batch of the [B, N] hits.
 */
export async function onePass(
  lm: CausalLM,
  e: Float32Array,
  m: Float32Array,
  targets: Int32Array,
  N: number,
  opts: OnePassOptions = {},
): Promise<OnePassRow[]> {
  const d = lm.config.hiddenSize;
  const n = targets.length / N;
  if (!Number.isInteger(n) || e.length !== n * d) throw new Error(`onePass: ${e.length} e values and ${targets.length} targets do not fit d=${d}, N=${N}`);
  const B = opts.batchSize ?? 64;
  const rows: OnePassRow[] = [];
  const mT = tf.tensor2d(m, [1, d]);
  try {
    for (let s = 0; s < n; s += B) {
      const b = Math.min(B, n - s);
      const hits = tf.tidy(() =>
        onePassHits(lm, tf.tensor2d(e.subarray(s * d, (s + b) * d), [b, d]), mT, tf.tensor2d(targets.subarray(s * N, (s + b) * N), [b, N], 'int32'), opts.arrangement),
      );
      const host = await hits.data();
      hits.dispose();
      for (let r = 0; r < b; r++) {
        const met = rowMetrics(host, r, N);
        rows.push({ accuracy: met.accuracy, exact: met.cTokens === N, firstError: met.prefixLen, N });
      }
    }
  } finally {
    mT.dispose();
  }
  return rows;
}
