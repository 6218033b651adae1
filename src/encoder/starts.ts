/**
 * Solver starts an encoder provides: its per-text e_hat (`solve --init encoder:CKPT`, `refine`),
 * and the constant start a fresh encoder would output (`refine`'s mean-e row).
 */
import type { LoadedModel } from '../lm/load.js';
import type { Arrangement } from '../solver/arrangements.js';
import type { InitSpec } from '../solver/init.js';
import type { SolveTarget } from '../solver/types.js';
import { PrototokenError } from '../util/errors.js';
import { meanE } from './baselines.js';
import { encodeAll } from './encode.js';
import { flatIds } from './inputs.js';
import { type LoadedEncoder, loadEncoder } from './load.js';
import { type SolveConfig, type SolveStarts } from '../datasets/solve_run.js';
import { readVector } from '../lm/vector_file.js';

/** `solve --init encoder:CKPT`. */
export const ENCODER_INIT = 'encoder:';

/** e_hat of every text (all of one N), by text id. `batchSize` as encodeAll's. */
export async function eHatByText(enc: LoadedEncoder, texts: readonly { id: string; ids: ArrayLike<number> }[], batchSize?: number): Promise<Map<string, Float32Array>> {
  const N = texts[0].ids.length;
  const e = await encodeAll(enc.encoder, flatIds(texts, N), N, batchSize);
  const d = enc.meta.dModel;
  return new Map(texts.map((t, i) => [t.id, e.slice(i * d, (i + 1) * d)]));
}

/**
 * Per-text starts from an encoder's e_hat for every target (all of them, not only those still to
 * solve, so a text's start does not depend on what a resumed run had already done), and the
 * encoder's m, which the solve must use: e_hat means nothing with another m.
 */
export async function encoderStarts(
  checkpoint: string,
  model: LoadedModel,
  targets: readonly SolveTarget[],
  givenM: Float32Array | null,
  arrangement: Arrangement,
): Promise<{ init: InitSpec; m: Float32Array; mSource: string }> {
  if (arrangement !== 'e-m') {
    throw new PrototokenError(`an encoder predicts e for the e-m arrangement, not ${arrangement}`, { fix: 'drop --arrangement, or use another --init' });
  }
  const enc = await loadEncoder(checkpoint, model, { m: givenM });
  try {
    const perText = await eHatByText(enc, targets);
    return { init: { kind: 'perText', e: perText, source: `encoder ${enc.dir}` }, m: enc.m, mSource: `${enc.dir}/m.safetensors` };
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
  return { init: e.init, m: { kind: 'fixed', vector: e.m, source: e.mSource } };
}

/** The mean of the training e, or (no solved references) the head's shift, which started there. */
export function constantStart(enc: LoadedEncoder): Float32Array {
  if (enc.reference) return meanE(enc.reference);
  const shift = enc.snapshot.weights.get('head.shift');
  if (!shift) throw new PrototokenError('the checkpoint has no head.shift weight', { file: enc.dir });
  return shift.data;
}
