/**
 * `lm-pool`: read the text through the frozen LM itself and pool one of its layers.
 *
 *   ids [B, N] -> [BOS] + ids -> LM hidden states after `lmLayer` blocks [B, T, d_lm] (frozen, T = N+1)
 *   -> LayerNorm + learned positions -> attention pooling with Q queries [B, Q*d_lm]
 *   -> MLP (GELU) [B, hidden] -> output head [B, d].
 *
 * The LM's features never change (the LM is frozen), so they may be cached per text: training then
 * pays for them once per distinct window instead of once per step.
 */
import * as tf from '@tensorflow/tfjs';
import { geluExact } from '../lm/layers.js';
import { type AttentionPool, type Dense, type Norm, attentionPool, dense, denseParams, norm, normParams, poolParams } from './blocks.js';
import type { EncoderContext } from './context.js';
import { type OutputHead, headParams, outputHead } from './head.js';
import { ParamStore } from './params.js';
import { addPositions, checkLength } from './transformer.js';
import type { ProtoEncoder } from './types.js';
import type { CausalLM } from '../lm/types.js';

export interface LmPoolEncoderOptions {
  /** Blocks of the LM to run (its layer index; 0 = token embeddings). null = all of them. Default null. */
  lmLayer: number | null;
  /** Learned pooling queries Q. Default 4. */
  poolQueries: number;
  /** Hidden width of the MLP after pooling. Default 256. */
  mlpHidden: number;
  /** Longest text accepted. Default 64. */
  maxLength: number;
  /** Keep each text's LM features after first use (memory: (N+1) * d floats per distinct text). Default true. */
  cacheFeatures: boolean;
  /** Seed of the weight initialisation. Default 0. */
  seed: number;
}

export const LM_POOL_DEFAULTS: LmPoolEncoderOptions = { lmLayer: null, poolQueries: 4, mlpHidden: 256, maxLength: 64, cacheFeatures: true, seed: 0 };

interface Weights {
  inNorm: Norm;
  positions: tf.Variable; // [maxLength + 1, d_lm]
  pool: AttentionPool;
  mlp: Dense; // [Q*d_lm, hidden]
  head: OutputHead;
}

export class LmPoolEncoder implements ProtoEncoder {
  readonly kind = 'lm-pool' as const;
  readonly dModel: number;
  readonly maxLength: number;
  private readonly lm: CausalLM;
  private readonly bosId: number | null;
  private readonly layer: number;
  private readonly store: ParamStore;
  private readonly w: Weights;
  private readonly cache = new Map<string, Float32Array>();

  constructor(ctx: EncoderContext, readonly options: LmPoolEncoderOptions) {
    const o = options;
    const d = ctx.lm.config.hiddenSize;
    this.lm = ctx.lm;
    this.bosId = ctx.bosId;
    this.layer = o.lmLayer ?? ctx.lm.config.numLayers;
    this.dModel = d;
    this.maxLength = Math.min(o.maxLength, ctx.lm.config.maxPositions - (ctx.bosId === null ? 0 : 1));
    const p = (this.store = new ParamStore(o.seed));
    this.w = {
      inNorm: normParams(p, 'in_norm', d),
      positions: p.normal('positions', [o.maxLength + 1, d], 0.02),
      pool: poolParams(p, 'pool', d, o.poolQueries),
      mlp: denseParams(p, 'mlp', o.poolQueries * d, o.mlpHidden),
      head: headParams(p, o.mlpHidden, ctx.stats),
    };
  }

  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.store.variables;
  }

  apply(ids: tf.Tensor2D): tf.Tensor2D {
    const [B, N] = ids.shape;
    checkLength(N, this.maxLength);
    const feats = this.features(ids); // [B, T, d_lm]
    const T = feats.shape[1];
    const d = this.dModel;
    return tf.tidy(() => {
      const h = addPositions(norm(tf.reshape(feats, [B * T, d]), this.w.inNorm), this.w.positions, B, T); // [B*T, d]
      const pooled = attentionPool(h, this.w.pool, B, T); // [B, Q*d]
      const z = geluExact(dense(pooled, this.w.mlp)) as tf.Tensor2D; // [B, hidden]
      feats.dispose();
      return outputHead(z, this.w.head); // [B, d]
    });
  }

  /** The LM's hidden states of [BOS] + ids: [B, N] -> [B, T, d]; from the cache where possible. */
  private features(ids: tf.Tensor2D): tf.Tensor3D {
    const [B, N] = ids.shape;
    const T = N + (this.bosId === null ? 0 : 1);
    const d = this.dModel;
    const run = (batch: tf.Tensor2D): tf.Tensor3D =>
      tf.tidy(() => {
        const withBos = this.bosId === null ? batch : tf.concat([tf.fill([batch.shape[0], 1], this.bosId, 'int32'), batch], 1); // [b, T]
        return this.lm.hiddenStates(this.lm.embed(withBos as tf.Tensor2D), this.layer); // [b, T, d]
      });
    if (!this.options.cacheFeatures) return run(ids);
    const host = ids.dataSync();
    const keys = Array.from({ length: B }, (_, r) => host.subarray(r * N, (r + 1) * N).join(','));
    const missing = [...new Set(keys.filter((k) => !this.cache.has(k)))];
    if (missing.length > 0) {
      const flat = Int32Array.from(missing.flatMap((k) => k.split(',').map(Number)));
      const out = tf.tidy(() => run(tf.tensor2d(flat, [missing.length, N], 'int32')));
      const values = out.dataSync() as Float32Array;
      out.dispose();
      missing.forEach((k, i) => this.cache.set(k, values.slice(i * T * d, (i + 1) * T * d)));
    }
    const all = new Float32Array(B * T * d);
    keys.forEach((k, r) => all.set(this.cache.get(k) as Float32Array, r * T * d));
    return tf.tensor3d(all, [B, T, d]);
  }

  dispose(): void {
    this.store.dispose();
    this.cache.clear();
  }
}
