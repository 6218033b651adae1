/**
 * Turning checkpoint arrays into frozen tensors. Weights are plain tensors, never tf.Variables,
 * so no gradient with respect to them is ever computed or stored.
 */
import * as tf from '@tensorflow/tfjs';
import type { WeightSource } from './safetensors.js';
import type { Linear } from './layers.js';

/** Reads checkpoint tensors by name, checking shapes, and counts the parameters it read. */
export class FrozenWeightReader {
  /** Parameters read so far (each checkpoint tensor counted once). */
  numParameters = 0;

  constructor(private readonly source: WeightSource) {}

  /** Is a tensor of this name in the checkpoint? */
  has(name: string): boolean {
    return this.source.names().includes(name);
  }

  /** A vector [n]. */
  async vector(name: string, n: number): Promise<tf.Tensor1D> {
    const data = await this.source.read(name, [n]);
    this.numParameters += n;
    return tf.tensor1d(data);
  }

  /** A matrix as stored: [rows, cols]. */
  async matrix(name: string, rows: number, cols: number): Promise<tf.Tensor2D> {
    const data = await this.source.read(name, [rows, cols]);
    this.numParameters += rows * cols;
    return tf.tensor2d(data, [rows, cols]);
  }

  /**
   * A PyTorch Linear (weight [out, in], optional bias [out]) stored transposed as [in, out], so the
   * forward pass multiplies without asking for a transposed operand.
   */
  async linear(prefix: string, inDim: number, outDim: number, bias: boolean): Promise<Linear> {
    const raw = await this.source.read(`${prefix}.weight`, [outDim, inDim]);
    this.numParameters += outDim * inDim + (bias ? outDim : 0);
    const w = transposeToTensor(raw, outDim, inDim);
    const b = bias ? tf.tensor1d(await this.source.read(`${prefix}.bias`, [outDim])) : null;
    return { w, b };
  }
}

/** [rows, cols] row-major -> tensor [cols, rows], done in JS so no intermediate tensor exists. */
export function transposeToTensor(data: Float32Array, rows: number, cols: number): tf.Tensor2D {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return tf.tensor2d(out, [cols, rows]);
}

/** Dispose every tensor reachable in a plain object/array tree of weights. */
export function disposeTree(tree: unknown): void {
  if (tree instanceof tf.Tensor) {
    tree.dispose();
  } else if (Array.isArray(tree)) {
    for (const x of tree) disposeTree(x);
  } else if (tree && typeof tree === 'object') {
    for (const x of Object.values(tree)) disposeTree(x);
  }
}
