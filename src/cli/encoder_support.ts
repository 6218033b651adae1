/**
 * What `eval`, `compare`, `refine` and `solve --init encoder:` share: the options naming a
 * checkpoint and the texts to run it on, and turning those into windows of one N with ids.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import type { LoadedModel } from '../lm/load.js';
import { readDataset } from '../datasets/reader.js';
import { fingerprintM, readVector } from '../lm/vector_file.js';
import { splitOf } from '../texts/split.js';
import { readTexts } from '../texts/text_file.js';
import { windowTexts } from '../texts/windows.js';
import { type LoadedEncoder, loadEncoder } from '../encoder/load.js';
import { encodeAll } from '../encoder/encode.js';
import type { Arrangement } from '../solver/arrangements.js';
import type { InitSpec } from '../solver/init.js';
import type { SolveTarget } from '../solver/types.js';
import { PrototokenError } from '../util/errors.js';
import { toInt } from './common.js';
import { baseSchema } from '../lm/open_model.js';
import { addWindowOptions } from './window_options.js';
import { windowOptionsOf, windowSchema } from '../texts/window_config.js';

export const SPLITS = ['train', 'val', 'test', 'all'] as const;

export const encoderRunSchema = baseSchema.merge(windowSchema).extend({
  checkpoint: z.string().min(1),
  /** Texts to run on (JSONL or plain text), cut into windows with --window. */
  texts: z.string().min(1).nullable().default(null),
  /** Or a solution dataset's rows (their tokens, and their solved e where relevant). */
  dataset: z.string().min(1).nullable().default(null),
  /** Which split: texts by the story hash, dataset rows by their split column. */
  split: z.enum(SPLITS).default('all'),
  /** Without --window: each text's first N tokens; default the N the encoder was trained on. */
  length: z.number().int().min(1).nullable().default(null),
  limit: z.number().int().min(1).nullable().default(null),
  /** The m to use; must be the checkpoint's (checked). Default: the checkpoint's own. */
  m: z.string().min(1).nullable().default(null),
  batch: z.number().int().min(1).default(64),
});

export type EncoderRunConfig = z.infer<typeof encoderRunSchema>;

/** `withBatch` false for commands whose solver options already define --batch. */
export function addEncoderRunOptions(cmd: Command, withBatch = true): Command {
  addWindowOptions(cmd)
    .requiredOption('--checkpoint <dir>', 'encoder checkpoint: checkpoints/RUN (its best/), or a snapshot folder')
    .option('--texts <file>', 'texts to run on: JSONL or plain text')
    .option('--dataset <dir>', 'or the rows of a solution dataset')
    .option('--split <name>', `${SPLITS.join(' | ')}: texts by story hash, dataset rows by their split (default all)`)
    .option('--length <n>', 'without --window: each text\'s first N tokens (default: the encoder\'s training N)', toInt)
    .option('--limit <k>', 'at most K texts (windows)', toInt)
    .option('--m <file>', 'the fixed m (default: the checkpoint\'s own; another m is refused)');
  return withBatch ? cmd.option('--batch <n>', 'texts per forward pass', toInt) : cmd;
}

/** One text to run: its N token ids and, from a dataset, its solved e. */
export interface RunText {
  id: string;
  ids: Int32Array;
  e: Float32Array | null;
}

export interface RunTexts {
  texts: RunText[];
  N: number;
  /** Whether the solved e (dataset) were found with the checkpoint's m, so they are a fair upper bound. */
  eMatchesM: boolean;
  tooShort: number;
  source: string;
}

/** Open the checkpoint for this model (and the m the user named, if any). */
export async function openCheckpoint(config: EncoderRunConfig, model: LoadedModel): Promise<LoadedEncoder> {
  const m = config.m ? await readVector(config.m, 'm', model.lm.config.hiddenSize, null) : null;
  return loadEncoder(config.checkpoint, model, { m });
}

/** The texts of --texts or --dataset, in one N. */
export async function runTexts(config: EncoderRunConfig, model: LoadedModel, enc: LoadedEncoder): Promise<RunTexts> {
  if ((config.texts === null) === (config.dataset === null)) {
    throw new PrototokenError('say which texts to run on', { fix: 'pass exactly one of --texts FILE or --dataset DIR' });
  }
  const windows = windowOptionsOf(config);
  const N = windows?.window ?? config.length ?? enc.meta.trainN;
  const keep = (split: string): boolean => config.split === 'all' || split === config.split;
  const out: RunText[] = [];
  let tooShort = 0;
  let eMatchesM = false;
  if (config.texts) {
    const items = await readTexts(config.texts);
    const cut = windowTexts(items, model.tokenizer, windows ?? { window: N, windowsPerText: 1 });
    tooShort = cut.tooShort.length;
    for (const w of cut.windows) {
      // Without --window a text is its first N tokens, under its own id.
      const id = windows ? w.id : w.storyId;
      if (keep(splitOf(id))) out.push({ id, ids: Int32Array.from(w.ids), e: null });
    }
  } else {
    const ds = await readDataset(config.dataset as string);
    const dsM = await ds.sharedM();
    eMatchesM = dsM !== null && fingerprintM(dsM) === enc.meta.mSha256;
    for (const row of ds.rows()) {
      if (row.nTokens < N) {
        tooShort++;
        continue;
      }
      if (!keep(row.split)) continue;
      const solvedHere = row.nTokens === N && row.solved;
      out.push({ id: row.textId, ids: Int32Array.from(row.tokenIds.subarray(0, N)), e: solvedHere ? Float32Array.from(row.e) : null });
    }
  }
  const texts = config.limit !== null ? out.slice(0, config.limit) : out;
  const source = config.texts ?? (config.dataset as string);
  if (texts.length === 0) {
    throw new PrototokenError(`no texts of ${N} tokens${config.split !== 'all' ? ` in the ${config.split} split` : ''} (${tooShort} too short)`, {
      file: source,
      fix: 'check --split, --window/--length and the file',
    });
  }
  return { texts, N, eMatchesM, tooShort, source };
}

/** Flatten the texts' ids: [n * N]. */
export function flatIds(texts: readonly { ids: ArrayLike<number> }[], N: number): Int32Array {
  const out = new Int32Array(texts.length * N);
  texts.forEach((t, i) => out.set(t.ids, i * N));
  return out;
}

/** Flatten the texts' solved e (every text must have one): [n * d]. */
export function flatE(texts: readonly RunText[], d: number): Float32Array {
  const out = new Float32Array(texts.length * d);
  texts.forEach((t, i) => out.set(t.e as Float32Array, i * d));
  return out;
}

/** `solve --init encoder:CKPT`. */
export const ENCODER_INIT = 'encoder:';

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
    const N = targets[0].ids.length;
    const e = await encodeAll(enc.encoder, flatIds(targets, N), N);
    const d = enc.meta.dModel;
    const perText = new Map(targets.map((t, i) => [t.id, e.slice(i * d, (i + 1) * d)]));
    return { init: { kind: 'perText', e: perText, source: `encoder ${enc.dir}` }, m: enc.m, mSource: `${enc.dir}/m.safetensors` };
  } finally {
    enc.encoder.dispose();
  }
}
