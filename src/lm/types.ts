import type * as tf from '@tensorflow/tfjs';
import type { KvCache } from './kv_cache.js';

/** Architectures this package implements; `normalizeConfig` maps Hugging Face `model_type` here. */
export type Architecture = 'llama' | 'gpt_neox';

/** Llama-3.1/3.2 style frequency rescaling (`rope_scaling.rope_type == "llama3"`). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/**
 * One shape for every architecture's hyper-parameters, whatever the third-party config keys were.
 * Produced only by `normalizeConfig` (src/lm/hf_config.ts).
 */
export interface NormalizedConfig {
  architecture: Architecture;
  /** d: width of the residual stream and of every input embedding. */
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); equals numHeads when there is no grouping. */
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** The longest input (in positions) the model supports. */
  maxPositions: number;
  /** Number of leading dims of each head that are rotated (headDim for Llama, rotary_pct*headDim for NeoX). */
  rotaryDims: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  normEps: number;
  /** 'silu' (SwiGLU, Llama) or 'gelu' (exact erf, NeoX). */
  hiddenAct: 'silu' | 'gelu';
  tieWordEmbeddings: boolean;
  /** GPT-NeoX: x + attn(ln1 x) + mlp(ln2 x) instead of the sequential form. */
  parallelResidual: boolean;
  /** Biases on q/k/v/o projections. */
  attentionBias: boolean;
  mlpBias: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

/** The one interface the solver, encoder and evaluation rest on (see DESIGN.md). */
export interface CausalLM {
  readonly config: NormalizedConfig;
  /** Token embeddings: [B, T] int32 ids -> [B, T, d]. */
  embed(ids: tf.Tensor2D): tf.Tensor3D;
  /** [B, T, d] input embeddings -> [B, T, V] logits. Weights are frozen: no gradient reaches them. */
  forward(inputsEmbeds: tf.Tensor3D): tf.Tensor3D;
  /**
   * The residual stream after the first `layers` blocks (0 = the inputs themselves, numLayers = the
   * input of the final norm): [B, T, d] -> [B, T, d]. Frozen like `forward`; used by encoders that
   * read the LM's own representation of a text.
   */
  hiddenStates(inputsEmbeds: tf.Tensor3D, layers: number): tf.Tensor3D;
  /**
   * Incremental decoding: `inputsEmbeds` [B, t, d] are the t positions after those `cache` holds;
   * they attend to the cached keys/values and their own are appended to the cache. Returns their
   * logits [B, t, V], equal (to float rounding) to the same rows of `forward` on the whole
   * sequence. Use t = prompt length on an empty cache (prefill), then t = 1 per new token.
   */
  forwardCached(inputsEmbeds: tf.Tensor3D, cache: KvCache): tf.Tensor3D;
  /** Number of weight parameters (tied matrices counted once). */
  readonly numParameters: number;
  dispose(): void;
}
