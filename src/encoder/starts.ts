/**
 * Solver starts an encoder provides: its per-text e_hat, the nearest solved window's e and the
 * constant mean e, and the best of them per text by one LM pass each (`solve --init encoder:CKPT`,
 * `refine`).
 */
import type { LoadedModel } from '../lm/load.js';
import type { Arrangement } from '../solver/arrangements.js';
import type { InitSpec } from '../solver/init.js';
import type { SolveTarget } from '../solver/types.js';
import { PrototokenError } from '../util/errors.js';
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { layoutFor } from '../solver/arrangements.js';
import { scoreRows } from '../solver/step.js';
import { baselineE, meanE } from './baselines.js';
import { encodeAll } from './encode.js';
import { eByText, flatIds } from './inputs.js';
import { type LoadedEncoder, loadEncoder } from './load.js';
import { type SolveConfig, type SolveStarts } from '../datasets/solve_run.js';
import { readVector } from '../lm/vector_file.js';

/** `solve --init encoder:CKPT`. */
export const ENCODER_INIT = 'encoder:';

/** e_hat of every text (all of one N), by text id. `batchSize` as encodeAll's. */
export async function eHatByText(enc: LoadedEncoder, texts: readonly { id: string; ids: ArrayLike<number> }[], batchSize?: number): Promise<Map<string, Float32Array>> {
  const N = texts[0].ids.length;
  return eByText(texts, await encodeAll(enc.encoder, flatIds(texts, N), N, batchSize), enc.meta.dModel);
}

/** A candidate start for every text: name and [texts * d] vectors in text order. */
export interface StartCandidate {
  name: string;
  e: Float32Array;
}

/**
 * What an encoder checkpoint can offer each text: its e_hat, the e of the nearest solved training
 * window (same-position tokens; it reproduces its own text, so it is right wherever the texts
 * agree) and the constant mean e. Without solved windows: e_hat and the head's constant.
 */
export async function encoderCandidates(enc: LoadedEncoder, texts: readonly { id: string; ids: ArrayLike<number> }[], batchSize?: number): Promise<StartCandidate[]> {
  const N = texts[0].ids.length;
  const ids = flatIds(texts, N);
  const n = texts.length;
  const tile = (v: Float32Array): Float32Array => {
    const out = new Float32Array(n * v.length);
    for (let i = 0; i < n; i++) out.set(v, i * v.length);
    return out;
  };
  const out: StartCandidate[] = [{ name: 'e_hat', e: await encodeAll(enc.encoder, ids, N, batchSize) }];
  if (enc.reference) out.push({ name: 'nearest', e: baselineE('nn-tokens', enc.reference, ids, { queryN: N }) });
  out.push({ name: 'mean e', e: tile(constantStart(enc)) });
  return out;
}

/**
 * Per text, the best of `candidates`, judged by one forward pass of each on the known text: one
 * that already reproduces the text, else the lowest loss (earlier candidates win ties). Not the
 * most tokens right: the nearest solved window's e gets most tokens right where the texts agree
 * but sits on a knife edge for the rest (confidently wrong, a high loss), and the solver takes
 * longer from there than from e_hat (docs/encoder.md, "Starts chosen by the LM"). Returns the
 * starts by text id and how often each candidate was chosen.
 */
export async function bestOfStarts(
  lm: CausalLM,
  m: Float32Array,
  texts: readonly { id: string; ids: ArrayLike<number> }[],
  candidates: readonly StartCandidate[],
  batchSize = 128,
): Promise<{ e: Map<string, Float32Array>; chosen: Record<string, number> }> {
  const d = lm.config.hiddenSize;
  const N = texts[0].ids.length;
  const n = texts.length;
  const ids = flatIds(texts, N);
  // Whether each text's pick so far reproduces it (only exactness outranks the loss).
  const bestExact = new Uint8Array(n);
  const bestLoss = new Float64Array(n).fill(Infinity);
  const pick = new Int32Array(n);
  const layout = layoutFor('e-m', N);
  const mT = tf.tensor2d(m, [1, d]);
  try {
    for (const [c, cand] of candidates.entries()) {
      for (let s = 0; s < n; s += batchSize) {
        const b = Math.min(batchSize, n - s);
        const [hits, nll] = tf.tidy(() => {
          const scored = scoreRows(lm, layout, tf.tensor2d(ids.subarray(s * N, (s + b) * N), [b, N], 'int32'), tf.tensor2d(cand.e.subarray(s * d, (s + b) * d), [b, d]), mT);
          return [tf.sum(scored.hits, 1), tf.sum(scored.nll, 1)];
        });
        const [h, l] = await Promise.all([hits.data(), nll.data()]);
        tf.dispose([hits, nll]);
        for (let i = 0; i < b; i++) {
          const t = s + i;
          const exact = h[i] === N ? 1 : 0;
          if (exact > bestExact[t] || (exact === bestExact[t] && l[i] < bestLoss[t])) {
            bestExact[t] = exact;
            bestLoss[t] = l[i];
            pick[t] = c;
          }
        }
      }
    }
  } finally {
    mT.dispose();
  }
  const chosen: Record<string, number> = Object.fromEntries(candidates.map((c) => [c.name, 0]));
  const e = new Map<string, Float32Array>();
  texts.forEach((t, i) => {
    const c = candidates[pick[i]];
    chosen[c.name]++;
    e.set(t.id, c.e.slice(i * d, (i + 1) * d));
  });
  return { e, chosen };
}

/**
 * Per-text starts from an encoder for every target (all of them, not only those still to
 * solve, so a text's start does not depend on what a resumed run had already done): the best of
 * e_hat, the nearest solved window's e and the mean e by one pass each (bestOfStarts); and the
 * encoder's m, which the solve must use: these e mean nothing with another m.
 */
export async function encoderStarts(
  checkpoint: string,
  model: LoadedModel,
  targets: readonly SolveTarget[],
  givenM: Float32Array | null,
  arrangement: Arrangement,
): Promise<{ init: InitSpec; m: Float32Array; mSource: string; warnings: string[] }> {
  if (arrangement !== 'e-m') {
    throw new PrototokenError(`an encoder predicts e for the e-m arrangement, not ${arrangement}`, { fix: 'drop --arrangement, or use another --init' });
  }
  const enc = await loadEncoder(checkpoint, model, { m: givenM });
  try {
    const best = await bestOfStarts(model.lm, enc.m, targets, await encoderCandidates(enc, targets));
    const chosen = Object.entries(best.chosen).map(([name, n]) => `${name} ${n}`).join(', ');
    return { init: { kind: 'perText', e: best.e, source: `encoder ${enc.dir}, best of one pass each (${chosen})` }, m: enc.m, mSource: `${enc.dir}/m.safetensors`, warnings: enc.warnings };
  } finally {
    enc.encoder.dispose();
  }
}

/**
 * `solve --init encoder:CKPT`: e_hat per text and the encoder's m, which the solve must use (e_hat
 * means nothing with another m; a `--m` that differs is refused by name).
 */
export async function encoderSolveStarts(config: SolveConfig, model: LoadedModel, targets: readonly SolveTarget[]): Promise<SolveStarts> {
  const givenM = config.m ? await readVector(config.m, 'm', model.lm.config.hiddenSize, await model.fingerprint()) : null;
  const e = await encoderStarts(config.init.slice(ENCODER_INIT.length), model, targets, givenM, config.arrangement);
  return { init: e.init, m: { kind: 'fixed', vector: e.m, source: e.mSource }, warnings: e.warnings };
}

/** The mean of the training e, or (no solved references) the head's shift, which started there. */
export function constantStart(enc: LoadedEncoder): Float32Array {
  if (enc.reference) return meanE(enc.reference);
  const shift = enc.snapshot.weights.get('head.shift');
  if (!shift) throw new PrototokenError('the checkpoint has no head.shift weight', { file: enc.dir });
  return shift.data;
}
