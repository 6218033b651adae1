/**
 * The last layer of every encoder: e_hat = mean + scale * (z W + b), with W and b starting at zero,
 * mean starting at the training e's mean and scale at their per-coordinate spread. A fresh encoder
 * therefore outputs exactly the constant-start baseline (the mean e), and training moves it away
 * from there only where that lowers the loss. Without solved e the start is fallbackStats'.
 */
import * as tf from '@tensorflow/tfjs';
import { type Dense, dense, denseParams } from './blocks.js';
import type { ParamStore } from './params.js';
import { Prng } from '../util/prng.js';

/** Statistics of the solved e an encoder is fitted around. */
export interface EStats {
  /** Coordinate-wise mean of the training e: [d]. */
  mean: Float32Array;
  /** Coordinate-wise standard deviation: [d]. */
  std: Float32Array;
  /** Mean L2 norm of the training e (reported, and the norm penalty's target). */
  meanNorm: number;
  /** How many vectors these came from (0: no solved e; then a seeded start and std from the LM's embeddings: fallbackStats). */
  count: number;
}

/** Statistics of n vectors [n * d]. */
export function eStats(e: Float32Array, d: number): EStats {
  const n = e.length / d;
  const mean = new Float32Array(d);
  const sq = new Float64Array(d);
  let norms = 0;
  for (let r = 0; r < n; r++) {
    let nn = 0;
    for (let j = 0; j < d; j++) {
      const x = e[r * d + j];
      mean[j] += x / n;
      nn += x * x;
    }
    norms += Math.sqrt(nn);
  }
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) sq[j] += (e[r * d + j] - mean[j]) ** 2;
  const std = Float32Array.from(sq, (s) => Math.sqrt(s / Math.max(1, n - 1)) || 1e-3);
  return { mean, std, meanNorm: n ? norms / n : 0, count: n };
}

/** eStats in one pass (Welford, in float64), for vectors that arrive batch by batch. */
export class StatsAccumulator {
  count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private norms = 0;

  constructor(private readonly d: number) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }

  add(e: Float32Array): void {
    this.count++;
    let nn = 0;
    for (let j = 0; j < this.d; j++) {
      const x = e[j];
      const delta = x - this.mean[j];
      this.mean[j] += delta / this.count;
      this.m2[j] += delta * (x - this.mean[j]);
      nn += x * x;
    }
    this.norms += Math.sqrt(nn);
  }

  stats(): EStats {
    const n = this.count;
    // The same conventions as eStats: sample std, and a tiny floor so a constant coordinate keeps a scale.
    const std = Float32Array.from(this.m2, (s) => Math.sqrt(s / Math.max(1, n - 1)) || 1e-3);
    return { mean: Float32Array.from(this.mean), std, meanNorm: n ? this.norms / n : 0, count: n };
  }
}

/**
 * Stats for an encoder trained without any solved e: the embedding table's spread, and a start
 * drawn from N(0, embeddingStd^2) per coordinate (seeded), a vector the size of a token embedding.
 * Not zero: at e = 0 the LM's first normalisation divides by ~sqrt(eps), and the first gradient
 * norm of the recon loss was ~1e13 on stories260k (it is now within a few times its later values).
 * Without a seed the mean is 0: only a placeholder of the right size, for an encoder whose weights
 * are assigned next (a loaded checkpoint); never a start to train from.
 */
export function fallbackStats(d: number, embeddingStd: number, seed?: number): EStats {
  const mean = seed === undefined ? new Float32Array(d) : new Prng(seed).normals(d, embeddingStd);
  return { mean, std: new Float32Array(d).fill(embeddingStd), meanNorm: Math.hypot(...mean), count: 0 };
}

export interface OutputHead {
  proj: Dense; // [in, d], zero at init
  scale: tf.Variable; // [d]
  shift: tf.Variable; // [d]
}

export function headParams(p: ParamStore, inDim: number, stats: EStats): OutputHead {
  const d = stats.mean.length;
  return {
    proj: denseParams(p, 'head.proj', inDim, d, true),
    scale: p.values('head.scale', stats.std, [d]),
    shift: p.values('head.shift', stats.mean, [d]),
  };
}

/** z [B, in] -> e_hat [B, d]. */
export function outputHead(z: tf.Tensor2D, H: OutputHead): tf.Tensor2D {
  return tf.add(tf.mul(dense(z, H.proj), H.scale), H.shift) as tf.Tensor2D;
}
