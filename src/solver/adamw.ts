/**
 * AdamW with decoupled weight decay, exactly as torch.optim.AdamW (the paper's optimiser), over
 * row-stacked parameters whose rows may have taken different numbers of steps (texts join and
 * leave the batch at different times), so bias correction is per row.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  /** Learning rate. Paper: 0.01. */
  lr: number;
  /** Paper: 0.9. */
  beta1: number;
  /** Paper: 0.9 (not torch's default 0.999). */
  beta2: number;
  /** Paper: 1e-8. */
  eps: number;
  /** Decoupled weight decay. Paper: 0.01. */
  weightDecay: number;
}

export const PAPER_ADAMW: AdamWOptions = { lr: 0.01, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0.01 };

/** Parameter rows with their first and second moment estimates, all [R, d]. */
export interface AdamState {
  param: tf.Tensor2D;
  m1: tf.Tensor2D;
  m2: tf.Tensor2D;
}

/** Fresh moments for a parameter. */
export function adamState(param: tf.Tensor2D): AdamState {
  return { param, m1: tf.zerosLike(param), m2: tf.zerosLike(param) };
}

/**
 * One update. `steps[r]` is the 1-based step number of row r after this update; `lr` may differ
 * from opts.lr (schedules). Returns a new state; the caller disposes the old one.
 *   p <- p (1 - lr wd);  m1 <- b1 m1 + (1-b1) g;  m2 <- b2 m2 + (1-b2) g^2
 *   p <- p - (lr / (1 - b1^t)) m1 / (sqrt(m2) / sqrt(1 - b2^t) + eps)
 */
export function adamwUpdate(s: AdamState, grad: tf.Tensor2D, steps: ArrayLike<number>, opts: AdamWOptions, lr = opts.lr): AdamState {
  const R = s.param.shape[0];
  const stepSize = new Float32Array(R);
  const bc2Sqrt = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    stepSize[r] = lr / (1 - Math.pow(opts.beta1, steps[r]));
    bc2Sqrt[r] = Math.sqrt(1 - Math.pow(opts.beta2, steps[r]));
  }
  return tf.tidy(() => {
    const { param, m1, m2 } = adamwMath(s.param, s.m1, s.m2, grad, tf.tensor2d(stepSize, [R, 1]), tf.tensor2d(bc2Sqrt, [R, 1]), opts, lr * opts.weightDecay);
    return { param: param as tf.Tensor2D, m1: m1 as tf.Tensor2D, m2: m2 as tf.Tensor2D };
  });
}

/**
 * The update itself, for any parameter shape: `stepSize` = lr / (1 - b1^t) and `bc2Sqrt` =
 * sqrt(1 - b2^t) are scalars or broadcast along the rows; `decay` = lr * wd (0: no decay).
 * Shared by the solver (per-row steps) and encoder training (one step count for all weights).
 */
export function adamwMath(
  param: tf.Tensor,
  m1Old: tf.Tensor,
  m2Old: tf.Tensor,
  grad: tf.Tensor,
  stepSize: tf.Tensor | number,
  bc2Sqrt: tf.Tensor | number,
  opts: Pick<AdamWOptions, 'beta1' | 'beta2' | 'eps'>,
  decay: number,
): { param: tf.Tensor; m1: tf.Tensor; m2: tf.Tensor } {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m1Old, opts.beta1), tf.mul(grad, 1 - opts.beta1));
    const m2 = tf.add(tf.mul(m2Old, opts.beta2), tf.mul(tf.square(grad), 1 - opts.beta2));
    const denom = tf.add(tf.div(tf.sqrt(m2), bc2Sqrt), opts.eps);
    const decayed = decay === 0 ? param : tf.mul(param, 1 - decay);
    return { param: tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)), m1, m2 };
  });
}

/** The state of rows `keep` only (texts or groups leaving the batch); `s` is disposed. */
export function keepRows(s: AdamState, keep: tf.Tensor1D | readonly number[]): AdamState {
  const out = tf.tidy(() => {
    const idx = Array.isArray(keep) ? tf.tensor1d(keep as number[], 'int32') : (keep as tf.Tensor1D);
    return { param: tf.gather(s.param, idx), m1: tf.gather(s.m1, idx), m2: tf.gather(s.m2, idx) };
  });
  disposeState(s);
  return out;
}

/** Rows `keep` of `t` (e.g. the targets of texts that stay in the batch); `t` is disposed. */
export function gatherRows<T extends tf.Tensor>(t: T, keep: tf.Tensor1D): T {
  const out = tf.gather(t, keep) as T;
  t.dispose();
  return out;
}

/** Stack states row-wise (texts joining the batch). */
export function concatRows(a: AdamState, b: AdamState): AdamState {
  return tf.tidy(() => ({
    param: tf.concat([a.param, b.param]),
    m1: tf.concat([a.m1, b.m1]),
    m2: tf.concat([a.m2, b.m2]),
  }));
}

export function disposeState(s: AdamState | null): void {
  if (!s) return;
  s.param.dispose();
  s.m1.dispose();
  s.m2.dispose();
}
