/**
 * Pieces the solver commands share: turning init/m settings into solver inputs, Ctrl-C handling,
 * scoring finished texts and shaping them into dataset rows.
 */
import { promises as fsp } from 'node:fs';
import type { LoadedModel } from '../lm/load.js';
import { SafetensorsFile } from '../lm/safetensors.js';
import { embeddingStd } from '../lm/embeddings.js';
import { scoreTexts } from '../lm/score.js';
import type { InitSpec } from '../solver/init.js';
import type { SolveResult, SolveTarget } from '../solver/types.js';
import { readDataset, type SolutionRecord } from '../datasets/index.js';
import { PrototokenError } from '../util/errors.js';

/** Metadata key under which m files record the weights they were fitted to. */
export const M_MODEL_KEY = 'model_fingerprint';

/** `--init normal | scaled | embed-std | FILE.safetensors | DATASET_DIR`. */
export async function loadInitSpec(init: string, scale: number, model: LoadedModel): Promise<InitSpec> {
  if (init === 'normal') return scale === 1 ? { kind: 'normal' } : { kind: 'scaled', scale };
  if (init === 'scaled') return { kind: 'scaled', scale };
  if (init === 'embed-std') return { kind: 'scaled', scale: scale * embeddingStd(model.lm) };
  const stat = await fsp.stat(init).catch(() => null);
  if (!stat) {
    throw new PrototokenError(`--init "${init}" is neither a known choice nor an existing file`, {
      fix: 'use normal, scaled, embed-std, a .safetensors file with one vector "e", or a solution dataset folder',
    });
  }
  if (stat.isDirectory()) {
    const ds = await readDataset(init);
    const e = new Map<string, Float32Array>();
    for (const row of ds.rows()) e.set(row.textId, row.e);
    return { kind: 'perText', e, source: init };
  }
  return { kind: 'vector', e: await readVector(init, 'e', model.lm.config.hiddenSize, null), source: init };
}

/**
 * One F32 vector [d] named `name` from a safetensors file (or a dataset folder's m.safetensors).
 * When `fingerprint` is given, the file must say it was made for exactly these weights.
 */
export async function readVector(file: string, name: string, d: number, fingerprint: string | null): Promise<Float32Array> {
  const path = (await fsp.stat(file).catch(() => null))?.isDirectory() ? `${file}/m.safetensors` : file;
  const st = await SafetensorsFile.open(path);
  try {
    const names = st.names();
    const key = st.has(name) ? name : names.length === 1 ? names[0] : null;
    if (!key) throw new PrototokenError(`no tensor "${name}" (found: ${names.join(', ')})`, { file: path });
    const info = st.info(key);
    if (info.shape.length !== 1 || info.shape[0] !== d) {
      throw new PrototokenError(`"${key}" has shape [${info.shape}] but this model needs [${d}]`, { file: path, fix: 'use a file made for this model' });
    }
    const made = st.metadata[M_MODEL_KEY];
    if (fingerprint && made && made !== fingerprint) {
      throw new PrototokenError(`this vector was fitted to other model weights (${made.slice(0, 12)}…, this model is ${fingerprint.slice(0, 12)}…)`, {
        file: path,
        fix: 'fit m for this model with `prototoken fit-m`',
      });
    }
    return await st.read(key);
  } finally {
    await st.close();
  }
}

/** First Ctrl-C (or SIGTERM): finish the current step, flush, exit resumable. Second: leave at once. */
export function installInterrupt(quiet: boolean): { stopped: () => boolean; dispose: () => void } {
  let stopped = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopped) process.exit(130);
    stopped = true;
    if (!quiet) process.stderr.write(`\n${sig}: finishing the current step and saving; press Ctrl-C again to quit at once\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped: () => stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Dataset rows of finished texts, with H_LM of each target under the plain LM. */
export async function recordsFor(
  results: readonly SolveResult[],
  targets: readonly (SolveTarget & { text: string })[],
  model: LoadedModel,
): Promise<SolutionRecord[]> {
  const ids = results.map((r) => Array.from(targets[r.targetIndex].ids));
  const scores = await scoreTexts(model.lm, ids, { bosId: model.tokenizer.bosId });
  return results.map((r, i) => ({
    textId: r.id,
    text: targets[r.targetIndex].text,
    tokenIds: Int32Array.from(ids[i]),
    e: r.e,
    ...(r.m ? { m: r.m } : {}),
    seed: r.seed,
    restart: r.restart,
    steps: r.steps,
    accuracy: r.accuracy,
    cTokens: r.cTokens,
    prefixLen: r.prefixLen,
    loss: r.loss,
    hLmNats: scores[i].nats,
    solved: r.solved,
    seconds: r.seconds,
  }));
}
