/**
 * Trainable building blocks of the encoders, over flattened rows [B*T, w] so every matmul is the
 * rank-2 product the wasm backend is fast for (see src/lm/layers.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { causalAttention, geluExact, layerNorm, toHeads } from '../lm/layers.js';
import type { ParamStore } from './params.js';

export interface Dense {
  w: tf.Variable; // [in, out]
  b: tf.Variable; // [out]
}

/** A dense layer with N(0, 0.02^2) weights (GPT-2 / BERT practice) or zeros (`zero`: starts as a no-op). */
export function denseParams(p: ParamStore, name: string, inDim: number, outDim: number, zero = false): Dense {
  return {
    w: zero ? p.fill(`${name}.weight`, [inDim, outDim], 0) : p.normal(`${name}.weight`, [inDim, outDim], 0.02),
    b: p.fill(`${name}.bias`, [outDim], 0),
  };
}

/** x [M, in] -> [M, out]. */
export function dense(x: tf.Tensor2D, l: Dense): tf.Tensor2D {
  return tf.add(tf.matMul(x, l.w as tf.Tensor2D), l.b) as tf.Tensor2D;
}

export interface Norm {
  w: tf.Variable; // [w]
  b: tf.Variable; // [w]
}

export function normParams(p: ParamStore, name: string, width: number): Norm {
  return { w: p.fill(`${name}.weight`, [width], 1), b: p.fill(`${name}.bias`, [width], 0) };
}

export function norm(x: tf.Tensor2D, n: Norm): tf.Tensor2D {
  return layerNorm(x, n.w as tf.Tensor1D, n.b as tf.Tensor1D, 1e-5);
}

/** One pre-LayerNorm transformer block with bidirectional attention (every position sees all). */
export interface EncoderBlock {
  ln1: Norm;
  qkv: Dense; // [w, 3w]
  proj: Dense; // [w, w]
  ln2: Norm;
  up: Dense; // [w, ff]
  down: Dense; // [ff, w]
}

export function blockParams(p: ParamStore, name: string, width: number, ff: number): EncoderBlock {
  return {
    ln1: normParams(p, `${name}.ln1`, width),
    qkv: denseParams(p, `${name}.attn.qkv`, width, 3 * width),
    proj: denseParams(p, `${name}.attn.proj`, width, width),
    ln2: normParams(p, `${name}.ln2`, width),
    up: denseParams(p, `${name}.mlp.up`, width, ff),
    down: denseParams(p, `${name}.mlp.down`, ff, width),
  };
}

/**
 * A block's weights through which it writes into the residual stream (attention and MLP output
 * projections, named as in blockParams): with them at zero the block is the identity.
 */
export function isBlockOutputWeight(paramName: string): boolean {
  return /\.(?:attn\.proj|mlp\.down)\.weight$/.test(paramName);
}

/** h [B*T, w] -> [B*T, w]. `zeroMask` is a [T, T] zero tensor: attention without a causal mask. */
export function encoderBlock(h: tf.Tensor2D, L: EncoderBlock, B: number, T: number, heads: number, zeroMask: tf.Tensor2D): tf.Tensor2D {
  const qkv = dense(norm(h, L.ln1), L.qkv); // [B*T, 3w]
  const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // [B*T, w] each
  const ctx = causalAttention(toHeads(q, B, T, heads), toHeads(k, B, T, heads), toHeads(v, B, T, heads), zeroMask); // [B*T, w]
  const a = tf.add(h, dense(ctx, L.proj)) as tf.Tensor2D; // [B*T, w]
  const m = dense(geluExact(dense(norm(a, L.ln2), L.up)) as tf.Tensor2D, L.down); // [B*T, w]
  return tf.add(a, m) as tf.Tensor2D;
}

/**
 * Attention pooling with learned queries: Q queries attend over the T positions of each text and
 * their results are concatenated. One query is the classic "learned [CLS]"; several let different
 * queries pick up different positions of the text.
 */
export interface AttentionPool {
  queries: tf.Variable; // [Q, w]
  key: Dense; // [w, w]
  value: Dense; // [w, w]
}

export function poolParams(p: ParamStore, name: string, width: number, queries: number): AttentionPool {
  return {
    queries: p.normal(`${name}.queries`, [queries, width], 0.02),
    key: denseParams(p, `${name}.key`, width, width),
    value: denseParams(p, `${name}.value`, width, width),
  };
}

/** h [B*T, w] -> [B, Q*w]. */
export function attentionPool(h: tf.Tensor2D, P: AttentionPool, B: number, T: number): tf.Tensor2D {
  const w = h.shape[1];
  const Q = P.queries.shape[0];
  // Scores as one rank-2 product k [B*T, w] x q^T [w, Q] (no per-text copy of the queries).
  const scores = tf.matMul(dense(h, P.key), tf.transpose(tf.mul(P.queries, 1 / Math.sqrt(w)))); // [B*T, Q]
  const probs = tf.softmax(tf.transpose(tf.reshape(scores, [B, T, Q]), [0, 2, 1]), -1); // [B, Q, T]
  const v = tf.reshape(dense(h, P.value), [B, T, w]); // [B, T, w]
  return tf.reshape(tf.matMul(probs, v), [B, Q * w]); // [B, Q*w]
}
