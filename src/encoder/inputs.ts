/**
 * What running a trained encoder on texts takes (`eval`, `compare`, `refine`, and any caller that
 * wants e_hat for a file): the keys naming a checkpoint and the texts, and turning those into
 * windows of one N with ids (and, from a dataset, their solved e).
 */
import { z } from 'zod';
import type { LoadedModel } from '../lm/load.js';
import { baseSchema } from '../lm/open_model.js';
import { fingerprintM, readVector } from '../lm/vector_file.js';
import { readDataset } from '../datasets/index.js';
import { splitOf } from '../texts/split.js';
import { readTexts } from '../texts/text_file.js';
import { windowTexts } from '../texts/windows.js';
import { type WindowConfig, windowOptionsOf, windowSchema } from '../texts/window_config.js';
import { PrototokenError } from '../util/errors.js';
import { type LoadedEncoder, loadEncoder } from './load.js';

export const SPLITS = ['train', 'val', 'test', 'all'] as const;

export type SplitChoice = (typeof SPLITS)[number];

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

/** Which checkpoint, and optionally the m it must have been trained with (defaults: encoderRunSchema's). */
export type OpenCheckpointOptions = Pick<EncoderRunConfig, 'checkpoint' | 'm'>;

/** Which texts, cut how (defaults: encoderRunSchema's). Exactly one of `texts` and `dataset`. */
export type RunTextsOptions = Pick<EncoderRunConfig, 'texts' | 'dataset' | 'split' | 'length' | 'limit'> & WindowConfig;

/** One text to run: its N token ids and, from a dataset, its solved e. */
export interface RunText {
  id: string;
  ids: Int32Array;
  e: Float32Array | null;
}

export interface RunTexts {
  texts: RunText[];
  N: number;
  /** Whether the texts are a dataset's rows (so solved e could be there) or a texts file's. */
  from: 'texts' | 'dataset';
  /** The split they were taken from. */
  split: SplitChoice;
  /** Whether the solved e (dataset) were found with the checkpoint's m, so they are a fair upper bound. */
  eMatchesM: boolean;
  tooShort: number;
  /** The texts file or dataset folder. */
  source: string;
  /** What the figures do not cover, e.g. an incomplete dataset's texts never solved. */
  warnings: string[];
}

/** Open the checkpoint for this model (and the m the user named, if any). */
export async function openCheckpoint(opts: OpenCheckpointOptions, model: LoadedModel): Promise<LoadedEncoder> {
  const m = opts.m ? await readVector(opts.m, 'm', model.lm.config.hiddenSize, null) : null;
  return loadEncoder(opts.checkpoint, model, { m });
}

/** The texts of `texts` or `dataset`, in one N (the window, else `length`, else the encoder's training N). */
export async function runTexts(opts: RunTextsOptions, model: LoadedModel, enc: LoadedEncoder): Promise<RunTexts> {
  if ((opts.texts === null) === (opts.dataset === null)) {
    throw new PrototokenError('say which texts to run on', { fix: 'pass exactly one of --texts FILE or --dataset DIR' });
  }
  const windows = windowOptionsOf(opts);
  const N = windows?.window ?? opts.length ?? enc.meta.trainN;
  const keep = (split: string): boolean => opts.split === 'all' || split === opts.split;
  const out: RunText[] = [];
  let tooShort = 0;
  let eMatchesM = false;
  const warnings: string[] = [];
  if (opts.texts) {
    const items = await readTexts(opts.texts);
    const cut = windowTexts(items, model.tokenizer, windows ?? { window: N, windowsPerText: 1 });
    tooShort = cut.tooShort.length;
    for (const w of cut.windows) {
      // Without --window a text is its first N tokens, under its own id.
      const id = windows ? w.id : w.storyId;
      if (keep(splitOf(id))) out.push({ id, ids: Int32Array.from(w.ids), e: null });
    }
  } else {
    const ds = await readDataset(opts.dataset as string);
    // A row's e solves its own N tokens (with its own m when m is per text): cut to other N, the rows
    // would be scored on prefixes their e were never made for, so another N is refused.
    if (ds.info.length !== null && ds.info.length !== N) {
      throw new PrototokenError(
        `the dataset's rows are N=${ds.info.length} targets (their e${ds.perTextM ? ', each with its own m,' : ''} solve those ${ds.info.length} tokens), but this run is at N=${N}${windows ? ` (--window ${N})` : opts.length !== null ? ` (--length ${N})` : ' (the N the encoder was trained on)'}`,
        {
          file: opts.dataset as string,
          fix: `run at the dataset's N (--window ${ds.info.length} or --length ${ds.info.length}), use a dataset solved at N=${N}, or pass the texts themselves with --texts FILE to use their first ${N} tokens`,
        },
      );
    }
    // An interrupted solve's rows are a subset whose figures would read as the whole set's (readDataset assessed it).
    const completeness = ds.info.completeness;
    if (completeness?.status === 'incomplete') warnings.push(`the dataset is incomplete, so these figures cover only the rows it has: ${completeness.summary.replace(/^INCOMPLETE: /, '')}`);
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
  const texts = opts.limit !== null ? out.slice(0, opts.limit) : out;
  const source = opts.texts ?? (opts.dataset as string);
  if (texts.length === 0) {
    throw new PrototokenError(`no texts of ${N} tokens${opts.split !== 'all' ? ` in the ${opts.split} split` : ''} (${tooShort} too short)`, {
      file: source,
      fix: 'check --split, --window/--length and the file',
    });
  }
  return { texts, N, from: opts.texts ? 'texts' : 'dataset', split: opts.split, eMatchesM, tooShort, source, warnings };
}

/** Flatten the texts' ids: [n * N]. */
export function flatIds(texts: readonly { ids: ArrayLike<number> }[], N: number): Int32Array {
  const out = new Int32Array(texts.length * N);
  texts.forEach((t, i) => out.set(t.ids, i * N));
  return out;
}

/** The inverse of flattening: row i of e [n * d] under texts[i].id (copies, so the rows outlive e). */
export function eByText(texts: readonly { id: string }[], e: Float32Array, d: number): Map<string, Float32Array> {
  return new Map(texts.map((t, i) => [t.id, e.slice(i * d, (i + 1) * d)]));
}

/** Flatten the texts' solved e (every text must have one): [n * d]. */
export function flatE(texts: readonly RunText[], d: number): Float32Array {
  const out = new Float32Array(texts.length * d);
  texts.forEach((t, i) => out.set(t.e as Float32Array, i * d));
  return out;
}
