/**
 * Building blocks shared by the architectures. Every matmul here is rank 2 with no transposed
 * operand ([B*T, in] x [in, out]): that is the shape the wasm backend's XNNPACK path is fast for,
 * so weights are stored pre-transposed as [in, out].
 */
import * as tf from '@tensorflow/tfjs';
import type { Llama3RopeScaling } from './types.js';

/** A frozen affine map: weight stored [in, out], optional bias [out]. */
export interface Linear {
  w: tf.Tensor2D;
  b: tf.Tensor1D | null;
}

/** x [M, in] -> [M, out]. */
export function linear(x: tf.Tensor2D, p: Linear): tf.Tensor2D {
  const y: tf.Tensor2D = tf.matMul(x, p.w); // [M, out]
  return p.b ? (tf.add(y, p.b) as tf.Tensor2D) : y;
}

/** RMSNorm (Llama): x / sqrt(mean(x^2) + eps) * w, over the last axis of x [M, d]. */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.square(x), -1, true); // [M, 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** LayerNorm with bias (GPT-NeoX), over the last axis of x [M, d]. */
export function layerNorm(x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [M, 1] each
  const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(xhat, w), b);
}

/** Exact (erf) GELU, as HF's "gelu"; the tanh approximation differs by ~1e-3 in the logits. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** x * sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Inverse rotary frequencies for `rotaryDims` dims (float64), with Llama-3 long-context rescaling
 * when configured (low frequencies divided by `factor`, a smooth ramp between the two bands).
 */
export function ropeInvFreq(rotaryDims: number, theta: number, scaling: Llama3RopeScaling | null): Float64Array {
  const half = rotaryDims / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / rotaryDims);
  if (!scaling) return inv;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
  const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
  const highFreqWavelen = originalMaxPositions / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < highFreqWavelen) continue;
    if (wavelen > lowFreqWavelen) {
      inv[i] /= factor;
      continue;
    }
    const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
  }
  return inv;
}

/** cos/sin tables [T, rotaryDims] in HF's rotate_half layout (frequencies repeated twice). */
export function ropeTables(T: number, invFreq: Float64Array): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = invFreq.length;
  const rd = 2 * half;
  const cos = new Float32Array(T * rd);
  const sin = new Float32Array(T * rd);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * invFreq[i];
      cos[t * rd + i] = cos[t * rd + i + half] = Math.cos(a);
      sin[t * rd + i] = sin[t * rd + i + half] = Math.sin(a);
    }
  }
  return { cos: tf.tensor2d(cos, [T, rd]), sin: tf.tensor2d(sin, [T, rd]) };
}

/**
 * Rotary embedding on the first `cos.shape[1]` dims of each head: x [B, H, T, hd] -> same shape.
 * rotate_half pairs dim i with i + rd/2.
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const [B, H, T, hd] = x.shape;
  const rd = cos.shape[1];
  const half = rd / 2;
  const xr = rd === hd ? x : tf.slice(x, [0, 0, 0, 0], [B, H, T, rd]); // [B, H, T, rd]
  const x1 = tf.slice(xr, [0, 0, 0, 0], [B, H, T, half]);
  const x2 = tf.slice(xr, [0, 0, 0, half], [B, H, T, half]);
  const rotated = tf.concat([tf.neg(x2), x1], -1); // [B, H, T, rd]
  const out = tf.add(tf.mul(xr, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  if (rd === hd) return out;
  const pass = tf.slice(x, [0, 0, 0, rd], [B, H, T, hd - rd]);
  return tf.concat([out, pass], -1);
}

/** Additive causal mask [rows, T]: row r may see columns <= r mod T (rows = groups*T). */
export function causalMask(T: number, groups: number): tf.Tensor2D {
  const m = new Float32Array(groups * T * T);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < T; i++) {
      for (let j = i + 1; j < T; j++) m[(g * T + i) * T + j] = -1e9;
    }
  }
  return tf.tensor2d(m, [groups * T, T]);
}

/**
 * Causal softmax attention with grouped-query heads and no repeated k/v:
 * q [B, H, T, hd] (already rotated), k, v [B, Hkv, T, hd] -> [B*T, H*hd].
 * The H query heads are viewed as Hkv groups of `rep` heads stacked along time, so each group
 * attends to its one k/v head with a single batched matmul.
 */
export function causalAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D,
): tf.Tensor2D {
  const [B, H, T, hd] = q.shape;
  const Hkv = k.shape[1];
  const rep = H / Hkv;
  const qg = tf.reshape(tf.mul(q, 1 / Math.sqrt(hd)), [B, Hkv, rep * T, hd]); // [B, Hkv, rep*T, hd]
  const kt = tf.transpose(k, [0, 1, 3, 2]); // [B, Hkv, hd, T]
  const scores = tf.add(tf.matMul(qg, kt), mask); // [B, Hkv, rep*T, T]
  const probs = tf.softmax(scores, -1);
  const ctx = tf.matMul(probs, v); // [B, Hkv, rep*T, hd]
  const heads = tf.reshape(ctx, [B, H, T, hd]);
  return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [B * T, H * hd]); // [B*T, H*hd]
}

/** [M, n] -> [B, T, n] etc.: split the flattened rows back into heads, [B, T, heads, hd] -> [B, heads, T, hd]. */
export function toHeads(x: tf.Tensor2D, B: number, T: number, heads: number): tf.Tensor4D {
  const hd = x.shape[1] / heads;
  return tf.transpose(tf.reshape(x, [B, T, heads, hd]), [0, 2, 1, 3]);
}
