/**
 * Building blocks shared by the architectures. Every matmul here is rank 2 with no transposed
 * operand ([B*T, in] x [in, out]): that is the shape the wasm backend's XNNPACK path is fast for,
 * so weights are stored pre-transposed as [in, out].
 */
import * as tf from '@tensorflow/tfjs';
import { PrototokenError } from '../util/errors.js';

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

/** Split flattened rows into heads: [B*T, heads*hd] -> [B, heads, T, hd]. */
export function toHeads(x: tf.Tensor2D, B: number, T: number, heads: number): tf.Tensor4D {
  const hd = x.shape[1] / heads;
  return tf.transpose(tf.reshape(x, [B, T, heads, hd]), [0, 2, 1, 3]);
}

/** `hiddenStates` takes 0..numLayers blocks; anything else is a configuration mistake worth naming. */
export function checkLayerCount(layers: number, numLayers: number): void {
  if (!Number.isInteger(layers) || layers < 0 || layers > numLayers) {
    throw new PrototokenError(`layer ${layers} does not exist: the model has ${numLayers} layers`, { fix: `choose a layer from 0 to ${numLayers}` });
  }
}
