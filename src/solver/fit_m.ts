/**
 * Fitting one m shared by a set of texts (the paper's universal m; `prototoken fit-m`): the texts
 * (or their windows, of one split) are solved jointly with e per text, and m is saved as a vector
 * file recording the model it was fitted to, with the resolved config beside it.
 */
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { LoadedModel } from '../lm/load.js';
import { portableModelName } from '../lm/model_name.js';
import { baseSchema } from '../lm/open_model.js';
import { VECTOR_MODEL_KEY, writeVectorFile } from '../lm/vector_file.js';
import { splitOf } from '../texts/split.js';
import { type TextTarget, prepareTargets } from '../texts/targets.js';
import { readTexts } from '../texts/text_file.js';
import { lengthOf, windowOptionsOf, windowSchema } from '../texts/window_config.js';
import { windowTargets } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import { checkOutputFile } from '../util/output_paths.js';
import { solverOptionsOf, solverSchema } from './config.js';
import type { InitSpec } from './init.js';
import { solveShared } from './shared_m.js';

export const fitMSchema = baseSchema.merge(solverSchema).merge(windowSchema).extend({
  texts: z.string().min(1),
  /** N; may be left out with --window. */
  length: z.number().int().min(1).nullable().default(null),
  /** Fit only on texts of this split (by story), e.g. train, so held-out windows never shape m. */
  split: z.enum(['train', 'val', 'test', 'all']).default('all'),
  out: z.string().min(1),
  limit: z.number().int().min(1).nullable().default(64),
});

export type FitMConfig = z.infer<typeof fitMSchema>;

/** The texts m is fitted on, and N. */
export interface FitMTargets {
  N: number;
  targets: TextTarget[];
  /** Texts too short for N (only without windows, where each text is one target). */
  tooShort: { id: string; tokens: number }[];
}

/**
 * Refuse, before any work, an output that is not a .safetensors file, one in a missing or
 * unwritable folder, or an existing file (unless `overwrite`: the config beside it goes with it).
 */
export async function checkFitMOut(config: FitMConfig, opts: { overwrite?: boolean } = {}): Promise<void> {
  if (!config.out.endsWith('.safetensors')) {
    throw new PrototokenError(`--out ${config.out}: m is saved as a .safetensors file`, { fix: 'name the output like m.safetensors' });
  }
  await checkOutputFile(config.out, { overwrite: opts.overwrite, example: 'm.safetensors' });
  await checkOutputFile(fitMConfigFile(config.out), { overwrite: true });
}

/** The resolved config written beside m. */
function fitMConfigFile(out: string): string {
  return out.replace(/\.safetensors$/, '.config.json');
}

/** The first --limit targets of the chosen split: windows with --window, else each text's first N tokens. */
export async function fitMTargets(config: FitMConfig, model: LoadedModel): Promise<FitMTargets> {
  const windows = windowOptionsOf(config);
  const N = lengthOf(config.length, windows);
  const texts = await readTexts(config.texts);
  const prepared = windows ? windowTargets(texts, model.tokenizer, windows, config.texts) : prepareTargets(texts, model.tokenizer, N, config.texts);
  const targets = prepared.targets.filter((t) => config.split === 'all' || splitOf(t.id) === config.split).slice(0, config.limit ?? undefined);
  if (targets.length === 0) throw new PrototokenError(`no texts of N=${N} in the ${config.split} split`, { file: config.texts, fix: 'check --split and --length' });
  return { N, targets, tooShort: windows ? [] : prepared.tooShort };
}

/** What fitting reports as it goes. */
export interface FitMHooks {
  /** After every joint step (step 0: the first forward pass). */
  onStep?: (step: number, solved: number, loss: number) => void;
  shouldStop?: () => boolean;
}

/** The `--json` summary of a fit. */
export interface FitMSummary {
  out: string;
  texts: number;
  solved: number;
  mean_accuracy: number;
  steps: number;
  seconds: number;
  interrupted: boolean;
}

/**
 * Fit m on `input`, starting from `init`, and write it to `config.out` (also when interrupted: the
 * current m, which the summary says) with the config beside it.
 */
export async function fitM(config: FitMConfig, model: LoadedModel, input: FitMTargets, init: InitSpec, hooks: FitMHooks = {}): Promise<{ summary: FitMSummary; configFile: string }> {
  const started = Date.now();
  const { targets, N } = input;
  const run = await solveShared(model.lm, targets, solverOptionsOf(config, init, { kind: 'per-text' }), {
    shouldStop: hooks.shouldStop,
    onStep: (s) => hooks.onStep?.(s.step, s.solved, s.loss),
  });
  const solved = run.results.filter((r) => r.solved).length;
  const meanAcc = run.results.reduce((a, r) => a + r.accuracy, 0) / run.results.length;
  const m = run.shared[0];
  await writeVectorFile(config.out, 'm', m, {
    [VECTOR_MODEL_KEY]: await model.fingerprint(),
    // The fingerprint identifies the model; the name says where to get it, on any machine.
    model: portableModelName(config.model),
    arrangement: config.arrangement,
    length: String(N),
    texts: basename(config.texts),
    fitted_on: String(targets.length),
    steps: String(run.steps),
    solved: String(solved),
  });
  const configFile = fitMConfigFile(config.out);
  await fsp.writeFile(configFile, JSON.stringify({ ...config, model: portableModelName(config.model), fitted_on: targets.length, steps: run.steps }, null, 2) + '\n');
  const summary = {
    out: config.out,
    texts: targets.length,
    solved,
    mean_accuracy: meanAcc,
    steps: run.steps,
    seconds: (Date.now() - started) / 1000,
    interrupted: run.interrupted,
  };
  return { summary, configFile };
}
