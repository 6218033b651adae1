/**
 * A generated corpus (`prototoken generate-corpus --count K --out FILE.jsonl`): K stories sampled from the model, from
 * BOS to end-of-text, as JSONL `{"id": "gen-<seed>-<i>", "text": ...}`: unlimited in-distribution
 * text for training.
 *
 * Story i samples from its own stream deriveSeed(seed, i), and stories are sampled in fixed groups
 * [gB, (g+1)B) of the batch size B, so a seed and batch size reproduce the file on one backend,
 * interrupted or not. FILE itself only ever appears whole: finished groups are appended (and
 * fsync'd) to FILE.partial, whose settings sit in FILE.partial.json; a rerun with the same settings
 * continues after the last whole group, and the finished FILE.partial is renamed to FILE.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { stopIdsFor } from '../lm/generate.js';
import type { LoadedModel } from '../lm/load.js';
import { baseSchema } from '../lm/open_model.js';
import { type SampleBatchOptions, type SampledRow, sampleBatch } from '../lm/sample_batch.js';
import type { SampleTaskInput } from '../lm/sample_task.js';
import type { ModelThreads } from '../lm/threads.js';
import { PrototokenError } from '../util/errors.js';
import { exists, fsyncDir, writeFileAtomic } from '../util/fs_atomic.js';
import { checkOutputFile } from '../util/output_paths.js';
import { deriveSeed } from '../util/prng.js';

export const generateCorpusSchema = baseSchema.extend({
  count: z.number().int().min(1),
  out: z.string().min(1),
  temperature: z.number().gt(0).default(1),
  /** New tokens per story at most; null = the model's positions minus BOS. */
  maxNewTokens: z.number().int().min(1).nullable().default(null),
  /** Stories sampled together; part of what reproduces a file (see the module comment). */
  batch: z.number().int().min(1).default(8),
  /** Threads sampling groups side by side (the file is the same for any count); null = one per core. */
  workers: z.number().int().min(1).nullable().default(null),
});

export type GenerateCorpusConfig = z.infer<typeof generateCorpusSchema>;

/** What must match for a rerun to continue a partial file. */
interface PartialSettings {
  model_fingerprint: string;
  seed: number;
  temperature: number;
  max_tokens: number;
  batch: number;
}

const SAMPLE_TASK = new URL('../lm/sample_task.js', import.meta.url);

/** Refuse an existing output before the model loads (the file only ever appears whole, never replaced). */
export async function checkCorpusOut(out: string): Promise<void> {
  if (await exists(out)) throw new PrototokenError('already exists', { file: out, fix: 'delete it or pass another --out' });
  await checkOutputFile(out, { example: 'corpus.jsonl' });
}

/** What generation reports as it goes. */
export interface GenerateCorpusHooks {
  /** Once, with the number of stories still to sample. */
  onStart?: (remaining: number) => void;
  /** After each group: stories just written and the mean tokens per story so far. */
  onStories?: (stories: number, meanTokens: number) => void;
  shouldStop?: () => boolean;
}

/** The `--json` summary of a run. */
export interface GenerateCorpusSummary {
  out: string;
  stories: number;
  generated_now: number;
  resumed_from: number;
  mean_tokens: number;
  ended_at_eos: number;
  seconds: number;
  stories_per_second: number;
  interrupted: boolean;
}

/** Sample the stories still missing from `config.out` (continuing FILE.partial), and rename it into place when complete. */
export async function generateCorpus(config: GenerateCorpusConfig, model: LoadedModel, hooks: GenerateCorpusHooks = {}, threads: ModelThreads | null = null): Promise<GenerateCorpusSummary> {
  const started = Date.now();
  const { lm, tokenizer } = model;
  if (tokenizer.bosId === null) throw new PrototokenError('the tokenizer has no BOS token to start a story from', { file: model.dir });
  const prompt = [tokenizer.bosId];
  const settings: PartialSettings = {
    model_fingerprint: await model.fingerprint(),
    seed: config.seed,
    temperature: config.temperature,
    max_tokens: Math.min(config.maxNewTokens ?? lm.config.maxPositions - 1, lm.config.maxPositions - 1),
    batch: config.batch,
  };
  const partial = `${config.out}.partial`;
  const done = await openPartial(partial, settings, config.count);
  hooks.onStart?.(config.count - done);
  let tokens = 0;
  let stopped = 0;
  let made = 0;
  const handle = await fsp.open(partial, 'a');
  try {
    const opts: SampleBatchOptions = { prompt, maxNewTokens: settings.max_tokens, temperature: config.temperature, stopIds: stopIdsFor(tokenizer, prompt), minNewTokens: 1 };
    const sample = (seeds: number[]): Promise<SampledRow[]> =>
      threads ? threads.run<SampleTaskInput, SampledRow[]>(SAMPLE_TASK, { seeds, opts }) : sampleBatch(lm, seeds, opts);
    // Up to one group per thread in flight; groups are written in order, so the file is the same for any thread count.
    const inFlight: { indices: number[]; rows: Promise<SampledRow[]> }[] = [];
    let first = done;
    const fill = (): void => {
      while (inFlight.length < (threads?.threads ?? 1) && first < config.count && !hooks.shouldStop?.()) {
        const indices = Array.from({ length: Math.min(config.batch, config.count - first) }, (_, j) => first + j);
        const rows = sample(indices.map((i) => deriveSeed(config.seed, i)));
        rows.catch(() => undefined); // surfaced when awaited below
        inFlight.push({ indices, rows });
        first += config.batch;
      }
    };
    fill();
    while (inFlight.length > 0) {
      const group = inFlight.shift() as (typeof inFlight)[number];
      const rows = await group.rows;
      const lines = rows.map((r, j) => JSON.stringify({ id: `gen-${config.seed}-${group.indices[j]}`, text: tokenizer.decode(r.ids) }) + '\n');
      await handle.appendFile(lines.join(''), 'utf8');
      await handle.sync();
      for (const r of rows) {
        tokens += r.ids.length;
        if (r.stopped) stopped++;
      }
      made += rows.length;
      hooks.onStories?.(rows.length, tokens / made);
      fill();
    }
  } finally {
    await handle.close();
  }
  const complete = done + made >= config.count;
  if (complete) {
    await fsp.rename(partial, config.out);
    await fsyncDir(dirname(config.out));
    await fsp.rm(metaFile(partial), { force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    out: complete ? config.out : partial,
    stories: done + made,
    generated_now: made,
    resumed_from: done,
    mean_tokens: made ? tokens / made : 0,
    ended_at_eos: made ? stopped / made : 0,
    seconds,
    stories_per_second: seconds > 0 ? made / seconds : 0,
    interrupted: !complete,
  };
}

function metaFile(partial: string): string {
  return `${partial}.json`;
}

/**
 * Start or continue `partial`: returns how many stories it holds, after cutting it back to its last
 * whole group (a torn line, or a group cut short by a crash, is sampled again).
 */
async function openPartial(partial: string, settings: PartialSettings, count: number): Promise<number> {
  const meta = metaFile(partial);
  const content = await fsp.readFile(partial, 'utf8').catch(() => null);
  const metaText = await fsp.readFile(meta, 'utf8').catch(() => null);
  if (content === null || metaText === null) {
    await writeFileAtomic(meta, JSON.stringify(settings, null, 2) + '\n');
    await writeFileAtomic(partial, '');
    return 0;
  }
  const had = JSON.parse(metaText) as Record<string, unknown>;
  const diff = (Object.keys(settings) as (keyof PartialSettings)[]).filter((k) => had[k] !== settings[k]).map((k) => `${k}: ${JSON.stringify(had[k])} vs ${JSON.stringify(settings[k])}`);
  if (diff.length > 0) {
    throw new PrototokenError(`an interrupted run with other settings is there (${meta}); differences (field: existing vs this run):\n  ${diff.join('\n  ')}`, {
      file: partial,
      fix: 'rerun with the settings it was made with, or delete it and its .json to start over',
    });
  }
  const lines = content.split('\n').slice(0, -1); // the piece after the last newline is torn
  const keep = lines.length >= count ? count : lines.length - (lines.length % settings.batch);
  const bytes = Buffer.byteLength(lines.slice(0, keep).map((l) => l + '\n').join(''), 'utf8');
  if (bytes !== Buffer.byteLength(content, 'utf8')) await fsp.truncate(partial, bytes);
  return keep;
}
