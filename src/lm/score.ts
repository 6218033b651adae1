/**
 * H_LM: the plain autoregressive cross-entropy of a text under the LM, the paper's measure of how
 * much information a text carries for this model.
 *
 * Convention: when the tokenizer has a BOS token the text is scored as BOS + tokens, so every
 * text token is predicted (the first from BOS alone). Without BOS the first token has no context
 * and is not scored. Sums are in nats; bits = nats / ln 2.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from './types.js';
import { tokenNll } from './cross_entropy.js';
import { PrototokenError } from '../util/errors.js';

export interface ScoreOptions {
  /** BOS id to prepend, or null when the tokenizer has none. */
  bosId: number | null;
  /** Texts scored per forward pass (right-padded to the longest). Default 16. */
  batchSize?: number;
}

export interface TextScore {
  /** Text tokens scored (excludes BOS; without BOS, excludes the unscored first token). */
  scoredTokens: number;
  nats: number;
  bits: number;
}

/** Score many token-id sequences (text tokens, no BOS). Causal attention makes right padding harmless. */
export async function scoreTexts(lm: CausalLM, texts: readonly number[][], opts: ScoreOptions): Promise<TextScore[]> {
  const batchSize = opts.batchSize ?? 16;
  const inputs = texts.map((ids) => (opts.bosId === null ? ids : [opts.bosId, ...ids]));
  for (const [i, seq] of inputs.entries()) {
    if (seq.length < 2) throw new PrototokenError(`text ${i} has too few tokens to score (${texts[i].length})`);
    if (seq.length > lm.config.maxPositions) {
      throw new PrototokenError(
        `text ${i} needs ${seq.length} positions but the model allows ${lm.config.maxPositions}`,
        { fix: 'score a prefix with --max-tokens K' },
      );
    }
  }
  const out: TextScore[] = [];
  for (let start = 0; start < inputs.length; start += batchSize) {
    const batch = inputs.slice(start, start + batchSize);
    const T = Math.max(...batch.map((s) => s.length)) - 1;
    const ids = new Int32Array(batch.length * T);
    const targets = new Int32Array(batch.length * T);
    const weight = new Float32Array(batch.length * T);
    batch.forEach((seq, b) => {
      for (let t = 0; t < seq.length - 1; t++) {
        ids[b * T + t] = seq[t];
        targets[b * T + t] = seq[t + 1];
        weight[b * T + t] = 1;
      }
    });
    const sums = tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [batch.length, T], 'int32');
      const logits = lm.forward(lm.embed(idsT)); // [b, T, V]
      const nll = tokenNll(logits, tf.tensor2d(targets, [batch.length, T], 'int32')); // [b, T]
      return tf.sum(tf.mul(nll, tf.tensor2d(weight, [batch.length, T])), 1); // [b]
    });
    const values = await sums.data();
    sums.dispose();
    batch.forEach((seq, b) => {
      const nats = values[b];
      out.push({ scoredTokens: seq.length - 1, nats, bits: nats / Math.LN2 });
    });
  }
  return out;
}
