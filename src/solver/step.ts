/**
 * One forward+backward of the solver: build [e][m]... inputs, run the frozen LM, score the
 * supervised outputs against the targets, and differentiate with respect to e (and m).
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { argmaxHits, logitMargins, tokenNll } from '../lm/cross_entropy.js';
import { type Layout, arrange } from './arrangements.js';

export interface StepResult {
  gradE: tf.Tensor2D; // [R, d]
  /** Gradient for m when m is trained, summed over rows when m is shared: [R|1, d]. */
  gradM: tf.Tensor2D | null;
  /** Summed cross-entropy per row: [R]. */
  rowLoss: tf.Tensor1D;
  /** 1 where the output's argmax is the target: [R, N]. */
  hits: tf.Tensor2D;
  /** With `margins`: the smallest logit margin over the row's positions (logitMargins), [R]; else null. */
  rowMargin: tf.Tensor1D | null;
}

/**
 * Loss = sum over rows and supervised positions of -log p(t_i). Texts are independent: row r's
 * gradient depends only on row r (and on the shared m when there is one).
 */
export function lossAndGrads(
  lm: CausalLM,
  layout: Layout,
  targets: tf.Tensor2D, // [R, N] int32
  e: tf.Tensor2D, // [R, d]
  m: tf.Tensor2D | null, // [R|1, d]
  trainM: boolean,
  margins = false,
): StepResult {
  let rowLoss: tf.Tensor1D | null = null;
  let hits: tf.Tensor2D | null = null;
  let rowMargin: tf.Tensor1D | null = null;
  const lossOf = (eIn: tf.Tensor, mIn: tf.Tensor | null): tf.Scalar => {
    const scored = scoreRows(lm, layout, targets, eIn as tf.Tensor2D, mIn as tf.Tensor2D | null, margins);
    rowLoss = tf.keep(tf.sum(scored.nll, 1) as tf.Tensor1D); // [R]
    hits = tf.keep(scored.hits); // [R, N]
    // Not part of the loss, so the gradient never flows through it.
    if (scored.margin) rowMargin = tf.keep(tf.min(scored.margin, 1) as tf.Tensor1D); // [R]
    return tf.sum(scored.nll);
  };
  const { value, grads } = trainM && m
    ? tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => lossOf(a, b))([e, m])
    : tf.valueAndGrads((a: tf.Tensor) => lossOf(a, m))([e]);
  value.dispose();
  if (!rowLoss || !hits) throw new Error('lossAndGrads: the loss function did not run');
  return {
    gradE: grads[0] as tf.Tensor2D,
    gradM: trainM ? (grads[1] as tf.Tensor2D) : null,
    rowLoss,
    hits,
    rowMargin,
  };
}

/**
 * The forward half of a step, without gradients: per-position cross-entropy and argmax hits of
 * the supervised outputs, both [R, N], and with `margins` their logit margins [R, N] (else null).
 * Runs inside the caller's tidy (or gradient scope).
 */
export function scoreRows(
  lm: CausalLM,
  layout: Layout,
  targets: tf.Tensor2D, // [R, N] int32
  e: tf.Tensor2D, // [R, d]
  m: tf.Tensor2D | null, // [R|1, d]
  margins = false,
): { nll: tf.Tensor2D; hits: tf.Tensor2D; margin: tf.Tensor2D | null } {
  const [R, N] = targets.shape;
  const x = arrange(e, m, layout); // [R, L, d]
  const logits = lm.forward(x); // [R, L, V]
  const sup = layout.offset === 0 && layout.inputs === N ? logits : tf.slice(logits, [0, layout.offset, 0], [R, N, -1]); // [R, N, V]
  return { nll: tokenNll(sup, targets), hits: argmaxHits(sup, targets), margin: margins ? logitMargins(sup, targets) : null }; // [R, N] each
}

/** Per-row metrics from the hits of one forward (host side). */
export interface RowMetrics {
  accuracy: number;
  /** Positions whose argmax is right. */
  cTokens: number;
  /** Index of the first wrong position (N when all are right). */
  prefixLen: number;
}

export function rowMetrics(hits: ArrayLike<number>, row: number, N: number): RowMetrics {
  let c = 0;
  let prefix = -1;
  for (let i = 0; i < N; i++) {
    const ok = hits[row * N + i] > 0.5;
    if (ok) c++;
    else if (prefix < 0) prefix = i;
  }
  return { accuracy: c / N, cTokens: c, prefixLen: prefix < 0 ? N : prefix };
}
