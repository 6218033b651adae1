/**
 * Rotary position embeddings (HF rotate_half layout), computed without slicing: rotate_half(x W)
 * equals x (W R) for a signed column permutation R, so each rotated projection keeps a second,
 * pre-rotated weight and the rotation costs one extra matmul instead of slice/neg/concat (and
 * their pad/split gradients) per head tensor. Partial rotary (GPT-NeoX rotary_pct) rotates the
 * first `rotaryDims` dims of each head and passes the rest through (cos = 1, sin = 0 there).
 */
import * as tf from '@tensorflow/tfjs';
import type { Linear } from './layers.js';
import type { Llama3RopeScaling } from './types.js';

/** A projection to `heads` heads with its rotate_half twin. */
export interface RotaryLinear {
  plain: Linear;
  rotated: Linear;
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

/**
 * The column permutation and signs of rotate_half over `heads` heads of `headDim`:
 * out[j] = -x[j + half] for j < half, out[j] = x[j - half] for half <= j < rotaryDims, else 0.
 */
function rotateHalfColumns(heads: number, headDim: number, rotaryDims: number): { source: Int32Array; sign: Float32Array } {
  const half = rotaryDims / 2;
  const source = new Int32Array(heads * headDim);
  const sign = new Float32Array(heads * headDim);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < headDim; j++) {
      const col = h * headDim + j;
      if (j < half) {
        source[col] = col + half;
        sign[col] = -1;
      } else if (j < rotaryDims) {
        source[col] = col - half;
        sign[col] = 1;
      } else {
        source[col] = col;
        sign[col] = 0;
      }
    }
  }
  return { source, sign };
}

/** Add the pre-rotated twin to a projection (weights [in, heads*headDim]). */
export function withRotation(p: Linear, heads: number, headDim: number, rotaryDims: number): RotaryLinear {
  const { source, sign } = rotateHalfColumns(heads, headDim, rotaryDims);
  const w = tf.tidy(() => tf.mul(tf.gather(p.w, tf.tensor1d(source, 'int32'), 1), tf.tensor1d(sign)) as tf.Tensor2D);
  const bias = p.b;
  const b = bias ? tf.tidy(() => tf.mul(tf.gather(bias, tf.tensor1d(source, 'int32')), tf.tensor1d(sign)) as tf.Tensor1D) : null;
  return { plain: p, rotated: { w, b } };
}

/** cos/sin tables [T, heads*headDim] in rotate_half layout, 1/0 on the dims that are not rotated. */
export function ropeTables(T: number, invFreq: Float64Array, heads: number, headDim: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = invFreq.length;
  const width = heads * headDim;
  const cos = new Float32Array(T * width).fill(1);
  const sin = new Float32Array(T * width);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const c = Math.cos(t * invFreq[i]);
      const s = Math.sin(t * invFreq[i]);
      for (let h = 0; h < heads; h++) {
        const base = t * width + h * headDim;
        cos[base + i] = cos[base + i + half] = c;
        sin[base + i] = sin[base + i + half] = s;
      }
    }
  }
  return { cos: tf.tensor2d(cos, [T, width]), sin: tf.tensor2d(sin, [T, width]) };
}

/** x [B*T, w], its rotated twin xr [B*T, w], tables [T, w] -> x cos + xr sin, [B*T, w]. */
export function applyRotary(x: tf.Tensor2D, xr: tf.Tensor2D, cos: tf.Tensor2D, sin: tf.Tensor2D, B: number): tf.Tensor2D {
  const [T, w] = cos.shape;
  const out = tf.add(tf.mul(tf.reshape(x, [B, T, w]), cos), tf.mul(tf.reshape(xr, [B, T, w]), sin)); // [B, T, w]
  return tf.reshape(out, [B * T, w]);
}
