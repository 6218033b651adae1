/**
 * Trainable weights of an encoder: created from our seeded PRNG (so a seed reproduces a fresh
 * encoder on every backend) and registered under stable names, which are the checkpoint keys.
 */
import * as tf from '@tensorflow/tfjs';
import { Prng } from '../util/prng.js';

let nextStoreId = 0;

export class ParamStore {
  readonly variables = new Map<string, tf.Variable>();
  private readonly rng: Prng;

  constructor(seed: number) {
    this.rng = new Prng(seed);
  }

  /** N(0, std^2) entries. */
  normal(name: string, shape: number[], std: number): tf.Variable {
    return this.add(name, tf.tensor(this.rng.normals(size(shape), std), shape));
  }

  /** A constant fill (zeros for biases and zero-initialised projections, ones for norm gains). */
  fill(name: string, shape: number[], value: number): tf.Variable {
    return this.add(name, tf.fill(shape, value));
  }

  /** Given values (e.g. the frozen LM's embedding table, or training-set statistics). */
  values(name: string, data: Float32Array, shape: number[]): tf.Variable {
    return this.add(name, tf.tensor(data, shape));
  }

  /** A weight that is stored and loaded like the others but never trained. */
  frozen(name: string, data: Float32Array, shape: number[]): tf.Variable {
    return this.add(name, tf.tensor(data, shape), false);
  }

  private add(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.variables.has(name)) throw new Error(`ParamStore: duplicate weight name ${name}`);
    const v = tf.variable(init, trainable, `${name}_${this.uid()}`);
    init.dispose();
    this.variables.set(name, v);
    return v;
  }

  /** TF.js variable names are global; a process-wide counter lets several encoders coexist (not drawn from the seeded stream, so it cannot shift the weights). */
  private uid(): string {
    return String(nextStoreId++);
  }

  /** Only the weights gradient descent should move. */
  trainable(): Map<string, tf.Variable> {
    return new Map([...this.variables].filter(([, v]) => v.trainable));
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
