/**
 * Per-length constants (rotary cos/sin tables and the causal mask), built once per sequence length
 * and kept outside any tf.tidy so that thousands of solver steps reuse them.
 */
import * as tf from '@tensorflow/tfjs';
import { causalMask, ropeTables } from './layers.js';

export interface PositionTensors {
  cos: tf.Tensor2D; // [T, rotaryDims]
  sin: tf.Tensor2D; // [T, rotaryDims]
  mask: tf.Tensor2D; // [groups*T, T]
}

export class PositionCache {
  private readonly byLength = new Map<number, PositionTensors>();

  /** `groups`: query heads per k/v head (the mask is stacked that many times, see causalAttention). */
  constructor(
    private readonly invFreq: Float64Array,
    private readonly groups: number,
  ) {}

  get(T: number): PositionTensors {
    let entry = this.byLength.get(T);
    if (!entry) {
      const { cos, sin } = ropeTables(T, this.invFreq);
      entry = { cos: tf.keep(cos), sin: tf.keep(sin), mask: tf.keep(causalMask(T, this.groups)) };
      this.byLength.set(T, entry);
    }
    return entry;
  }

  dispose(): void {
    for (const e of this.byLength.values()) {
      e.cos.dispose();
      e.sin.dispose();
      e.mask.dispose();
    }
    this.byLength.clear();
  }
}
