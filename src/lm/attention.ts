/**
 * The self-attention block both architectures share: rotary q/k, grouped-query causal attention,
 * over a whole sequence (`selfAttention`) or over new positions against cached keys/values.
 */
import * as tf from '@tensorflow/tfjs';
import { type Linear, causalAttention, linear, toHeads } from './layers.js';
import { type RotaryLinear, applyRotary, withRotation } from './rotary.js';
import type { PositionTensors } from './position_cache.js';
import type { KvCache, LayerKv } from './kv_cache.js';

export interface AttentionWeights {
  q: RotaryLinear; // [d, H*hd]
  k: RotaryLinear; // [d, Hkv*hd]
  v: Linear; // [d, Hkv*hd]
  o: Linear; // [H*hd, d]
}

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rotaryDims: number;
}

/** Build the block from plain projections (adds the rotated twins of q and k). */
export function attentionWeights(q: Linear, k: Linear, v: Linear, o: Linear, s: AttentionShape): AttentionWeights {
  return {
    q: withRotation(q, s.numHeads, s.headDim, s.rotaryDims),
    k: withRotation(k, s.numKvHeads, s.headDim, s.rotaryDims),
    v,
    o,
  };
}

/** x [B*T, d] -> attention output [B*T, d] (before the residual add). */
export function selfAttention(x: tf.Tensor2D, W: AttentionWeights, pos: PositionTensors, B: number, T: number, s: AttentionShape): tf.Tensor2D {
  const { q, k, v } = projectHeads(x, W, pos, B, T, s);
  return linear(causalAttention(q, k, v, pos.mask), W.o); // [B*T, d]
}

/**
 * Incremental form of `selfAttention`: x [B*t, d] holds the t positions after the P that `past`
 * caches (null: none); `pos` has the rotary rows of those t positions and their mask [groups*t, P+t].
 * Returns the output [B*t, d] and the keys/values of all P+t positions, the cache's next state.
 */
export function cachedSelfAttention(
  x: tf.Tensor2D,
  W: AttentionWeights,
  pos: PositionTensors,
  B: number,
  t: number,
  s: AttentionShape,
  past: LayerKv | null,
): { out: tf.Tensor2D; kv: LayerKv } {
  const fresh = projectHeads(x, W, pos, B, t, s);
  const k = past ? tf.concat([past.k, fresh.k], 2) : fresh.k; // [B, Hkv, P+t, hd]
  const v = past ? tf.concat([past.v, fresh.v], 2) : fresh.v; // [B, Hkv, P+t, hd]
  return { out: linear(causalAttention(fresh.q, k, v, pos.mask), W.o), kv: { k, v } }; // out [B*t, d]
}

/**
 * One layer's attention as the decoder blocks call it: normed input [B*T, d] -> output [B*T, d].
 * The blocks of `forward` and of `forwardCached` are the same code, with one of these two.
 */
export type Attend = (x: tf.Tensor2D, W: AttentionWeights, layer: number) => tf.Tensor2D;

/** Attention over the whole sequence (`forward`, `hiddenStates`). */
export function wholeSequence(pos: PositionTensors, B: number, T: number, s: AttentionShape): Attend {
  return (x, W) => selfAttention(x, W, pos, B, T, s);
}

/**
 * Attention of t new positions against `cache`; each layer's keys/values for the cache's next state
 * land in `next[layer]`. Call inside a tf.tidy that returns `next` (the position rows are freed).
 */
export function againstCache(cache: KvCache, B: number, t: number, s: AttentionShape, next: LayerKv[]): Attend {
  const pos = cache.positions(B, t);
  return (x, W, layer) => {
    const { out, kv } = cachedSelfAttention(x, W, pos, B, t, s, cache.layer(layer));
    next[layer] = kv;
    return out;
  };
}

/** x [B*T, d] -> rotated queries [B, H, T, hd], rotated keys and values [B, Hkv, T, hd]. */
function projectHeads(x: tf.Tensor2D, W: AttentionWeights, pos: PositionTensors, B: number, T: number, s: AttentionShape): { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D } {
  const q = applyRotary(linear(x, W.q.plain), linear(x, W.q.rotated), pos.cosQ, pos.sinQ, B); // [B*T, H*hd]
  const k = applyRotary(linear(x, W.k.plain), linear(x, W.k.rotated), pos.cosK, pos.sinK, B); // [B*T, Hkv*hd]
  const v = linear(x, W.v); // [B*T, Hkv*hd]
  return { q: toHeads(q, B, T, s.numHeads), k: toHeads(k, B, T, s.numKvHeads), v: toHeads(v, B, T, s.numKvHeads) };
}
