/**
 * AdamW for encoder weights: the solver's update (src/solver/adamw.ts, torch's formula) with one
 * step count for every weight, global gradient-norm clipping, and weight decay only on matrices
 * (biases, norm gains and the output head's scale/shift are not pulled towards zero).
 */
import * as tf from '@tensorflow/tfjs';
import { type AdamWOptions, adamwMath } from '../solver/adamw.js';

export interface EncoderOptimizerOptions extends AdamWOptions {
  /** Clip the global gradient norm to this; 0 = no clipping. Default 1. */
  clipNorm: number;
}

export class EncoderOptimizer {
  /** Updates applied so far. */
  step = 0;
  readonly m1 = new Map<string, tf.Tensor>();
  readonly m2 = new Map<string, tf.Tensor>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    readonly opts: EncoderOptimizerOptions,
  ) {
    for (const [name, v] of params) {
      if (!v.trainable) continue;
      this.m1.set(name, tf.zerosLike(v));
      this.m2.set(name, tf.zerosLike(v));
    }
  }

  /** Names of the weights this optimizer moves. */
  names(): string[] {
    return [...this.m1.keys()];
  }

  /**
   * Apply one update with learning rate `lr`; `grads` by weight name (consumed: disposed here).
   * Returns the global gradient norm before clipping, as a tensor (the caller decides when to read it).
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): tf.Scalar {
    this.step++;
    const t = this.step;
    const { beta1, beta2, weightDecay } = this.opts;
    const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
    const clip = this.opts.clipNorm > 0 ? tf.tidy(() => tf.minimum(1, tf.div(this.opts.clipNorm, tf.add(norm, 1e-6)))) : null;
    for (const name of this.names()) {
      const g = grads.get(name);
      if (!g) continue;
      const v = this.params.get(name) as tf.Variable;
      const next = tf.tidy(() =>
        adamwMath(v, this.m1.get(name) as tf.Tensor, this.m2.get(name) as tf.Tensor, clip ? tf.mul(g, clip) : g,
          lr / (1 - Math.pow(beta1, t)), Math.sqrt(1 - Math.pow(beta2, t)), this.opts, v.rank >= 2 ? lr * weightDecay : 0),
      );
      v.assign(next.param);
      next.param.dispose();
      this.m1.get(name)?.dispose();
      this.m2.get(name)?.dispose();
      this.m1.set(name, next.m1);
      this.m2.set(name, next.m2);
    }
    clip?.dispose();
    for (const g of grads.values()) g.dispose();
    return norm;
  }

  /** Moments as named host arrays (checkpoints). */
  async stateArrays(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const name of this.names()) {
      for (const [kind, map] of [['m1', this.m1], ['m2', this.m2]] as const) {
        const t = map.get(name) as tf.Tensor;
        out.set(`${kind}/${name}`, { shape: t.shape, data: (await t.data()) as Float32Array });
      }
    }
    return out;
  }

  /** Restore moments and the step count saved by `stateArrays`. */
  load(step: number, arrays: ReadonlyMap<string, Float32Array>): void {
    this.step = step;
    for (const name of this.names()) {
      for (const [kind, map] of [['m1', this.m1], ['m2', this.m2]] as const) {
        const data = arrays.get(`${kind}/${name}`);
        const old = map.get(name) as tf.Tensor;
        if (!data || data.length !== old.size) throw new Error(`optimizer state has no ${kind} of the right size for ${name}`);
        map.set(name, tf.tensor(data, old.shape));
        old.dispose();
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m1.values(), ...this.m2.values()]) t.dispose();
    this.m1.clear();
    this.m2.clear();
  }
}
