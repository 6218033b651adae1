/**
 * Per-length constants (rotary cos/sin tables and the causal mask), built once per sequence length
 * and kept outside any tf.tidy so that thousands of solver steps reuse them.
 */
import * as tf from '@tensorflow/tfjs';
import { causalMask } from './layers.js';
import { ropeInvFreq, ropeTables } from './rotary.js';
import type { NormalizedConfig } from './types.js';

export interface PositionTensors {
  /** Tables for the query heads [T, H*hd] and the key heads [T, Hkv*hd]. */
  cosQ: tf.Tensor2D;
  sinQ: tf.Tensor2D;
  cosK: tf.Tensor2D;
  sinK: tf.Tensor2D;
  mask: tf.Tensor2D; // [groups*T, T]
}

export class PositionCache {
  private readonly byLength = new Map<number, PositionTensors>();

  constructor(
    private readonly invFreq: Float64Array,
    private readonly heads: number,
    private readonly kvHeads: number,
    private readonly headDim: number,
  ) {}

  /** The cache for a model: rotary frequencies from its config, tables per query and key head. */
  static forConfig(c: NormalizedConfig): PositionCache {
    return new PositionCache(ropeInvFreq(c.rotaryDims, c.ropeTheta, c.ropeScaling), c.numHeads, c.numKvHeads, c.headDim);
  }

  get(T: number): PositionTensors {
    let entry = this.byLength.get(T);
    if (!entry) {
      const q = ropeTables(T, this.invFreq, this.heads, this.headDim);
      const k = this.kvHeads === this.heads ? q : ropeTables(T, this.invFreq, this.kvHeads, this.headDim);
      entry = {
        cosQ: tf.keep(q.cos),
        sinQ: tf.keep(q.sin),
        cosK: tf.keep(k.cos),
        sinK: tf.keep(k.sin),
        mask: tf.keep(causalMask(T, this.heads / this.kvHeads)),
      };
      this.byLength.set(T, entry);
    }
    return entry;
  }

  dispose(): void {
    for (const e of this.byLength.values()) tf.dispose([e.cosQ, e.sinQ, e.cosK, e.sinK, e.mask]);
    this.byLength.clear();
  }
}
