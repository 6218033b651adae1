/**
 * Key/value cache for incremental decoding: every layer's keys (already rotated) and values of the
 * positions decoded so far, so that a new token costs one position's work (attending to the cached
 * keys) instead of re-running the whole prefix through `forward`.
 *
 * The cache also owns the rotary tables of the positions it can hold ([capacity, width], built once
 * per cache), and hands out the rows of the next positions: the model's own PositionCache keeps one
 * table and one mask per length forever, which for step-by-step lengths 1..capacity would be
 * O(capacity²) memory.
 *
 * Supported steps: a prefill of any length into the empty cache (the causal mask of that length, as
 * in `forward`), then any number of one-position steps (the one new query may see every cached key,
 * so no mask is needed). All rows of a batch advance together; `keepRows` drops finished rows.
 */
import * as tf from '@tensorflow/tfjs';
import { causalMask } from './layers.js';
import type { PositionTensors } from './position_cache.js';
import { ropeInvFreq, ropeTables } from './rotary.js';
import type { NormalizedConfig } from './types.js';

/**
 * One layer's cached keys and values, [B, Hkv, P, hd] each. A type alias (not an interface) so that
 * it is a tf.TensorContainer and can be returned from tf.tidy.
 */
export type LayerKv = { k: tf.Tensor4D; v: tf.Tensor4D };

export class KvCache {
  private layers: (LayerKv | null)[];
  private rows: number | null = null;
  private cached = 0;
  private readonly cosQ: tf.Tensor2D; // [capacity, H*hd]
  private readonly sinQ: tf.Tensor2D;
  private readonly cosK: tf.Tensor2D; // [capacity, Hkv*hd]
  private readonly sinK: tf.Tensor2D;
  private readonly groups: number;

  /** An empty cache for `config`'s model that can hold `capacity` positions (at most maxPositions). */
  constructor(
    config: NormalizedConfig,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > config.maxPositions) {
      throw new Error(`KvCache: capacity must be an integer in [1, ${config.maxPositions}], got ${capacity}`);
    }
    this.layers = new Array<LayerKv | null>(config.numLayers).fill(null);
    this.groups = config.numHeads / config.numKvHeads;
    const invFreq = ropeInvFreq(config.rotaryDims, config.ropeTheta, config.ropeScaling);
    const q = ropeTables(capacity, invFreq, config.numHeads, config.headDim);
    const k = config.numKvHeads === config.numHeads ? q : ropeTables(capacity, invFreq, config.numKvHeads, config.headDim);
    // Shared q/k tables (no grouping) are the same tensors: dispose() must then free them once.
    [this.cosQ, this.sinQ, this.cosK, this.sinK] = [q.cos, q.sin, k.cos, k.sin];
  }

  /** Positions cached so far (the absolute position of the next input). */
  get length(): number {
    return this.cached;
  }

  /** Layer i's cached keys and values, or null while the cache is empty. */
  layer(i: number): LayerKv | null {
    return this.layers[i];
  }

  /**
   * Rotary rows and mask for the next `t` positions of a batch of B rows, in the layout `forward`
   * uses. Checks the step is one this cache supports; call inside the model's tf.tidy (the slices
   * are the caller's to free).
   */
  positions(B: number, t: number): PositionTensors {
    if (this.cached + t > this.capacity) throw new Error(`KvCache: ${this.cached} + ${t} positions exceed the capacity ${this.capacity}`);
    if (this.cached > 0 && t !== 1) throw new Error(`KvCache: after the prefill, decode one position at a time (got ${t})`);
    if (this.rows !== null && B !== this.rows) throw new Error(`KvCache: the cache holds ${this.rows} rows, the input has ${B}`);
    const rows = (table: tf.Tensor2D): tf.Tensor2D => tf.slice(table, [this.cached, 0], [t, -1]); // [t, w]
    return {
      cosQ: rows(this.cosQ),
      sinQ: rows(this.sinQ),
      cosK: rows(this.cosK),
      sinK: rows(this.sinK),
      // Prefill: the causal mask of `forward`. A single new query sees every cached key: adding 0.
      mask: this.cached === 0 ? causalMask(t, this.groups) : tf.zeros([1, 1]),
    };
  }

  /**
   * Take ownership of every layer's keys/values after `t` more positions (the old ones are freed).
   * They are tf.keep'd: callers run `forwardCached` inside their own tf.tidy, which must not free
   * the cache along with the step's other tensors.
   */
  advance(next: readonly LayerKv[], t: number): void {
    if (next.length !== this.layers.length) throw new Error(`KvCache: ${next.length} layers given, the model has ${this.layers.length}`);
    this.freeLayers();
    this.layers = next.map(keepLayer);
    this.rows = next[0].k.shape[0];
    this.cached += t;
  }

  /** Keep only the given rows (in this order), e.g. when some sequences of the batch have ended. */
  keepRows(keep: readonly number[]): void {
    if (this.rows === null || keep.length === this.rows) return;
    const index = tf.tensor1d(Int32Array.from(keep), 'int32');
    this.layers = this.layers.map((kv) => {
      if (!kv) return null;
      const kept = keepLayer({ k: tf.gather(kv.k, index, 0), v: tf.gather(kv.v, index, 0) }); // [B', Hkv, P, hd]
      tf.dispose([kv.k, kv.v]);
      return kept;
    });
    index.dispose();
    this.rows = keep.length;
  }

  dispose(): void {
    this.freeLayers();
    this.layers.fill(null);
    tf.dispose([...new Set([this.cosQ, this.sinQ, this.cosK, this.sinK])]);
  }

  private freeLayers(): void {
    for (const kv of this.layers) if (kv) tf.dispose([kv.k, kv.v]);
  }
}

function keepLayer(kv: LayerKv): LayerKv {
  return { k: tf.keep(kv.k), v: tf.keep(kv.v) };
}
