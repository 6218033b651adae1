/**
 * Training losses of an encoder's e_hat [B, d]:
 *   recon   - cross-entropy of the frozen LM's one-pass output from [e_hat][m]x(N-1), summed over
 *             the N positions, mean over texts (needs only the text; m and the LM stay frozen);
 *   distill - MSE (mean over coordinates) plus cosine distance to the dataset's solved e;
 *   mixed   - recon + distillWeight * distill;
 * plus an optional penalty on the mean squared norm of e_hat (per coordinate).
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { argmaxHits, tokenNll } from '../lm/cross_entropy.js';
import { arrange, layoutFor } from '../solver/arrangements.js';

export const LOSS_KINDS = ['recon', 'distill', 'mixed'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

export interface LossOptions {
  kind: LossKind;
  /** Weight of the distill term in `mixed`. Default 1. */
  distillWeight: number;
  /** Weight of the cosine part inside distill (MSE has weight 1). Default 1. */
  cosineWeight: number;
  /** Weight of mean(||e_hat||^2 / d). Default 0. */
  normPenalty: number;
}

export const LOSS_DEFAULTS: Omit<LossOptions, 'kind'> = { distillWeight: 1, cosineWeight: 1, normPenalty: 0 };

/** Terms of one batch; every field a scalar except `hits`. */
export interface LossTerms {
  total: tf.Scalar;
  recon: tf.Scalar | null;
  distill: tf.Scalar | null;
  /** [B, N] 1 where the one-pass argmax is right (recon only). */
  hits: tf.Tensor2D | null;
}

export interface LossInputs {
  lm: CausalLM;
  /** [1, d] frozen m. */
  m: tf.Tensor2D;
  /** [B, N] int32 targets. */
  targets: tf.Tensor2D;
  /** [B, d] solved e (distill/mixed). */
  e: tf.Tensor2D | null;
}

/** Loss of e_hat [B, d] (call inside a gradient closure or tidy). */
export function encoderLoss(eHat: tf.Tensor2D, x: LossInputs, o: LossOptions): LossTerms {
  const [B, N] = x.targets.shape;
  let recon: tf.Scalar | null = null;
  let hits: tf.Tensor2D | null = null;
  if (o.kind !== 'distill') {
    const logits = x.lm.forward(arrange(eHat, x.m, layoutFor('e-m', N))); // [B, N, V]
    recon = tf.div(tf.sum(tokenNll(logits, x.targets)), B) as tf.Scalar;
    hits = argmaxHits(logits, x.targets); // [B, N]
  }
  let distill: tf.Scalar | null = null;
  if (o.kind !== 'recon') {
    if (!x.e) throw new Error(`the ${o.kind} loss needs solved e for every text`);
    const mse = tf.mean(tf.square(tf.sub(eHat, x.e))); // []
    const cos = rowCosine(eHat, x.e); // [B]
    distill = tf.add(mse, tf.mul(o.cosineWeight, tf.mean(tf.sub(1, cos)))) as tf.Scalar;
  }
  let total = (recon && distill ? tf.add(recon, tf.mul(o.distillWeight, distill)) : (recon ?? distill)) as tf.Scalar;
  if (o.normPenalty > 0) total = tf.add(total, tf.mul(o.normPenalty, tf.mean(tf.sum(tf.square(eHat), 1)).div(eHat.shape[1]))) as tf.Scalar;
  return { total, recon, distill, hits };
}

/** Cosine of matching rows: [B, d], [B, d] -> [B]. */
export function rowCosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(unit(a), unit(b)), 1) as tf.Tensor1D;
}

/** Rows scaled to unit length: [B, d] -> [B, d]. */
function unit(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.add(tf.norm(x, 2, 1, true), 1e-12)) as tf.Tensor2D;
}
