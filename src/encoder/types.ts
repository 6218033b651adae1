/**
 * The shapes every part of the encoder stage agrees on: the encoder itself, the reference set a
 * checkpoint carries for baselines, and one method's one-pass evaluation.
 */
import type * as tf from '@tensorflow/tfjs';

export const ENCODER_KINDS = ['transformer', 'lm-pool', 'retrieve-edit'] as const;
export type EncoderKind = (typeof ENCODER_KINDS)[number];

/**
 * A network text -> e. `apply` is a pure function of its variables (call it inside a tidy or a
 * gradient closure); every trainable weight is one of `variables`.
 */
export interface ProtoEncoder {
  readonly kind: EncoderKind;
  /** Width of e: the frozen LM's hidden size. */
  readonly dModel: number;
  /** The longest text (in tokens) the encoder accepts. */
  readonly maxLength: number;
  /**
   * ids [B, N] int32 -> e_hat [B, d]. `training` turns dropout on (when the encoder has any).
   * `textIds` name the texts when they may be reference windows themselves: an encoder that
   * retrieves from the reference set must not retrieve a training text's own solution.
   */
  apply(ids: tf.Tensor2D, training?: boolean, textIds?: readonly string[]): tf.Tensor2D;
  /** Trainable weights by stable name (checkpoint keys); frozen tensors are not listed. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  dispose(): void;
}

/**
 * Solved training windows a checkpoint carries so that baselines (mean e, nearest neighbour) can
 * be computed wherever the checkpoint goes. Row r: tokens ids[r*N .. r*N+N), vector e[r*d .. r*d+d).
 */
export interface ReferenceSet {
  N: number;
  d: number;
  textIds: string[];
  /** [n * N] int32 token ids. */
  ids: Int32Array;
  /** [n * d] float32 solved e (with the checkpoint's fixed m). */
  e: Float32Array;
}

/** One-pass reconstruction of one text from a given e (and the fixed m). */
export interface OnePassRow {
  /** Fraction of the N outputs whose argmax is the target token. */
  accuracy: number;
  /** All N right. */
  exact: boolean;
  /** Index of the first wrong output; N when all are right. */
  firstError: number;
  N: number;
}
