/**
 * `transformer`: a small bidirectional encoder of its own.
 *
 *   ids [B, N] -> token embeddings (the frozen LM's table as init; trainable or frozen) [B*N, d_lm]
 *   -> in-projection + learned positions [B*N, w] -> L pre-LayerNorm blocks (no causal mask)
 *   -> final LayerNorm -> attention pooling with Q learned queries [B, Q*w] -> output head [B, d].
 */
import * as tf from '@tensorflow/tfjs';
import { PrototokenError } from '../util/errors.js';
import { type AttentionPool, type Dense, type EncoderBlock, type Norm, attentionPool, blockParams, dense, denseParams, encoderBlock, norm, normParams, poolParams } from './blocks.js';
import { embeddingTable } from '../lm/embeddings.js';
import type { EncoderContext } from './context.js';
import { type OutputHead, headParams, outputHead } from './head.js';
import { ParamStore } from './params.js';
import type { ProtoEncoder } from './types.js';

export interface TransformerEncoderOptions {
  /** Width w of the encoder's residual stream. Default 128. */
  width: number;
  /** Number of blocks L. Default 2. */
  layers: number;
  /** Attention heads per block (must divide width). Default 4. */
  heads: number;
  /** MLP hidden size as a multiple of width. Default 4. */
  ffMult: number;
  /** Longest text accepted (learned positions). Default 64. */
  maxLength: number;
  /** Learned pooling queries Q. Default 1. */
  poolQueries: number;
  /** Keep the token embeddings at the LM's values. Default false (they are fine-tuned). */
  freezeEmbeddings: boolean;
  /** Seed of the weight initialisation. Default 0. */
  seed: number;
}

export const TRANSFORMER_DEFAULTS: TransformerEncoderOptions = {
  width: 128, layers: 2, heads: 4, ffMult: 4, maxLength: 64, poolQueries: 1, freezeEmbeddings: false, seed: 0,
};

/** Everything between the token embeddings and the output head; shared with `retrieve-edit`. */
export interface TransformerBody {
  tokens: tf.Variable; // [V, d_lm]
  inProj: Dense; // [d_lm, w]
  positions: tf.Variable; // [maxLength, w]
  blocks: EncoderBlock[];
  finalNorm: Norm;
  pool: AttentionPool;
}

export function bodyParams(p: ParamStore, ctx: EncoderContext, o: TransformerEncoderOptions): TransformerBody {
  const { vocabSize: V, hiddenSize: d } = ctx.lm.config;
  if (o.width % o.heads !== 0) throw new PrototokenError(`encoder width ${o.width} is not a multiple of heads ${o.heads}`, { fix: 'choose heads that divide width' });
  const table = embeddingTable(ctx.lm);
  return {
    tokens: o.freezeEmbeddings ? p.frozen('tokens', table, [V, d]) : p.values('tokens', table, [V, d]),
    inProj: denseParams(p, 'in_proj', d, o.width),
    positions: p.normal('positions', [o.maxLength, o.width], 0.02),
    blocks: Array.from({ length: o.layers }, (_, i) => blockParams(p, `blocks.${i}`, o.width, o.ffMult * o.width)),
    finalNorm: normParams(p, 'final_norm', o.width),
    pool: poolParams(p, 'pool', o.width, o.poolQueries),
  };
}

/** ids [B, N] -> projected token embeddings [B*N, w] (before positions). */
export function embedTokens(ids: tf.Tensor2D, w: TransformerBody): tf.Tensor2D {
  const [B, N] = ids.shape;
  return dense(tf.gather(w.tokens, tf.reshape(ids, [B * N])) as tf.Tensor2D, w.inProj); // [B*N, w]
}

/** x [B*N, w] -> + positions -> blocks -> final norm -> attention pooling [B, Q*w]. `mask`: [N, N] zeros. */
export function runBody(x: tf.Tensor2D, w: TransformerBody, B: number, N: number, heads: number, mask: tf.Tensor2D): tf.Tensor2D {
  let h = addPositions(x, w.positions, B, N); // [B*N, w]
  for (const L of w.blocks) h = encoderBlock(h, L, B, N, heads, mask); // [B*N, w]
  return attentionPool(norm(h, w.finalNorm), w.pool, B, N); // [B, Q*w]
}

/** Per-length [N, N] zero masks (bidirectional attention), kept outside tidies like the LM's position cache. */
export class ZeroMasks {
  private readonly masks = new Map<number, tf.Tensor2D>();

  get(N: number): tf.Tensor2D {
    let m = this.masks.get(N);
    // keep: the first call may come from inside a caller's tidy or gradient scope.
    if (!m) this.masks.set(N, (m = tf.keep(tf.zeros([N, N]) as tf.Tensor2D)));
    return m;
  }

  dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

export class TransformerEncoder implements ProtoEncoder {
  readonly kind = 'transformer' as const;
  readonly dModel: number;
  readonly maxLength: number;
  private readonly store: ParamStore;
  private readonly body: TransformerBody;
  private readonly head: OutputHead;
  private readonly masks = new ZeroMasks();

  constructor(ctx: EncoderContext, readonly options: TransformerEncoderOptions) {
    const o = options;
    this.dModel = ctx.lm.config.hiddenSize;
    this.maxLength = o.maxLength;
    const p = (this.store = new ParamStore(o.seed));
    this.body = bodyParams(p, ctx, o);
    this.head = headParams(p, o.poolQueries * o.width, ctx.stats);
  }

  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.store.variables;
  }

  apply(ids: tf.Tensor2D): tf.Tensor2D {
    const [B, N] = ids.shape;
    checkLength(N, this.maxLength);
    const mask = this.masks.get(N);
    return tf.tidy(() => {
      const pooled = runBody(embedTokens(ids, this.body), this.body, B, N, this.options.heads, mask); // [B, Q*w]
      return outputHead(pooled, this.head); // [B, d]
    });
  }

  dispose(): void {
    this.store.dispose();
    this.masks.dispose();
  }
}

/** Texts longer than the encoder's positions are an input error, not a crash inside a slice. */
export function checkLength(N: number, maxLength: number): void {
  if (N < 1 || N > maxLength) {
    throw new PrototokenError(`a text of ${N} tokens does not fit this encoder (at most ${maxLength})`, {
      fix: `use --window ${Math.min(Math.max(N, 1), maxLength)} or train an encoder with a larger max_length`,
    });
  }
}

/**
 * h [B*T, w] + positions[:T] for every text, by broadcasting over [B, T, w]: a tile would cost a
 * slice-and-add per text in its gradient (measured 20-25% of a training step at B=128).
 */
export function addPositions(h: tf.Tensor2D, positions: tf.Variable, B: number, T: number): tf.Tensor2D {
  const w = h.shape[1];
  const pos = tf.slice(positions, [0, 0], [T, -1]); // [T, w]
  return tf.reshape(tf.add(tf.reshape(h, [B, T, w]), pos), [B * T, w]);
}
