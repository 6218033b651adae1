/** The self-attention block both architectures share: rotary q/k, grouped-query causal attention. */
import type * as tf from '@tensorflow/tfjs';
import { type Linear, causalAttention, linear, toHeads } from './layers.js';
import { type RotaryLinear, applyRotary, withRotation } from './rotary.js';
import type { PositionTensors } from './position_cache.js';

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
  const q = applyRotary(linear(x, W.q.plain), linear(x, W.q.rotated), pos.cosQ, pos.sinQ, B); // [B*T, H*hd]
  const k = applyRotary(linear(x, W.k.plain), linear(x, W.k.rotated), pos.cosK, pos.sinK, B); // [B*T, Hkv*hd]
  const v = linear(x, W.v); // [B*T, Hkv*hd]
  const ctx = causalAttention(toHeads(q, B, T, s.numHeads), toHeads(k, B, T, s.numKvHeads), toHeads(v, B, T, s.numKvHeads), pos.mask); // [B*T, H*hd]
  return linear(ctx, W.o); // [B*T, d]
}
