/**
 * What every decoder-only architecture shares once its blocks and head are written: token
 * embedding, the full forward pass, cached (incremental) decoding and hidden states, all built
 * from two architecture-specific pieces, `blocks` (the residual stream through the first layers,
 * with attention supplied by `attend`) and `head` (final norm + unembedding).
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM, NormalizedConfig } from './types.js';
import { checkLayerCount } from './layers.js';
import { type Attend, againstCache, wholeSequence } from './attention.js';
import type { KvCache, LayerKv } from './kv_cache.js';
import { PositionCache } from './position_cache.js';

export abstract class DecoderLM implements CausalLM {
  protected readonly positions: PositionCache;

  protected constructor(
    readonly config: NormalizedConfig,
    readonly numParameters: number,
  ) {
    this.positions = PositionCache.forConfig(config);
  }

  /** The token embedding table [V, d]. */
  protected abstract embeddingTable(): tf.Tensor2D;

  /** Number of decoder blocks. */
  protected abstract layerCount(): number;

  /**
   * The residual stream after the first `count` blocks, flattened: [B, T, d] -> [B*T, d]. No tidy
   * of its own: every caller runs it inside one, and `forwardCached` must get the layers'
   * keys/values (made by `attend`) out alive.
   */
  protected abstract blocks(inputsEmbeds: tf.Tensor3D, count: number, attend: Attend): tf.Tensor2D;

  /** Final norm and unembedding: residual stream [B*T, d] -> logits [B, T, V]. */
  protected abstract head(h: tf.Tensor2D, B: number, T: number): tf.Tensor3D;

  /** Weights to free. */
  protected abstract disposeWeights(): void;

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = ids.shape;
      const flat = tf.gather(this.embeddingTable(), tf.reshape(ids, [B * T])); // [B*T, d]
      return tf.reshape(flat, [B, T, this.config.hiddenSize]);
    });
  }

  forward(inputsEmbeds: tf.Tensor3D): tf.Tensor3D {
    const [B, T] = inputsEmbeds.shape;
    const attend = wholeSequence(this.positions.get(T), B, T, this.config);
    return tf.tidy(() => this.head(this.blocks(inputsEmbeds, this.layerCount(), attend), B, T));
  }

  forwardCached(inputsEmbeds: tf.Tensor3D, cache: KvCache): tf.Tensor3D {
    const [B, t] = inputsEmbeds.shape;
    const { logits, next } = tf.tidy(() => {
      const next: LayerKv[] = [];
      const h = this.blocks(inputsEmbeds, this.layerCount(), againstCache(cache, B, t, this.config, next)); // [B*t, d]
      return { logits: this.head(h, B, t), next }; // logits [B, t, V]
    });
    cache.advance(next, t);
    return logits;
  }

  hiddenStates(inputsEmbeds: tf.Tensor3D, layers: number): tf.Tensor3D {
    checkLayerCount(layers, this.layerCount());
    const [B, T] = inputsEmbeds.shape;
    const attend = wholeSequence(this.positions.get(T), B, T, this.config);
    return tf.tidy(() => tf.reshape(this.blocks(inputsEmbeds, layers, attend), inputsEmbeds.shape));
  }

  dispose(): void {
    this.disposeWeights();
    this.positions.dispose();
  }
}
