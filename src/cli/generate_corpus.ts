/**
 * `prototoken generate-corpus --count K --out FILE.jsonl`: K stories sampled from the model, from
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
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, report, toFloat, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { installInterrupt } from './run_support.js';
import { stopIdsFor } from './generate.js';
import { sampleBatch } from '../lm/sample_batch.js';
import { exists, fsyncDir, writeFileAtomic } from '../util/fs_atomic.js';
import { deriveSeed } from '../util/prng.js';
import { Progress, formatSeconds } from '../util/progress.js';
import { PrototokenError } from '../util/errors.js';

const schema = baseSchema.extend({
  count: z.number().int().min(1),
  out: z.string().min(1),
  temperature: z.number().gt(0).default(1),
  /** New tokens per story at most; null = the model's positions minus BOS. */
  maxTokens: z.number().int().min(1).nullable().default(null),
  /** Stories sampled together; part of what reproduces a file (see the module comment). */
  batch: z.number().int().min(1).default(8),
});

/** What must match for a rerun to continue a partial file. */
interface PartialSettings {
  model_fingerprint: string;
  seed: number;
  temperature: number;
  max_tokens: number;
  batch: number;
}

export function generateCorpusCommand(): Command {
  const cmd = withCommonOptions(new Command('generate-corpus'))
    .description('sample stories from the model (from BOS to end of text) into a JSONL corpus')
    .option('--count <k>', 'stories to sample', toInt)
    .option('--out <file>', 'the JSONL file to write (appears only when complete; a rerun continues an interrupted one)')
    .option('--temperature <t>', 'sampling temperature (default 1)', toFloat)
    .option('--max-tokens <t>', "tokens per story at most (default: the model's positions minus 1)", toInt)
    .option('--batch <b>', 'stories sampled together (default 8; the same seed and batch reproduce the file)', toInt);
  cmd.action(async () => {
    const config = commandConfig(cmd, schema);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    if (await exists(config.out)) throw new PrototokenError('already exists', { file: config.out, fix: 'delete it or pass another --out' });
    const started = Date.now();
    const model = await openModel(config, quiet);
    const { lm, tokenizer } = model;
    if (tokenizer.bosId === null) throw new PrototokenError('the tokenizer has no BOS token to start a story from', { file: model.dir });
    const prompt = [tokenizer.bosId];
    const settings: PartialSettings = {
      model_fingerprint: await model.fingerprint(),
      seed: config.seed,
      temperature: config.temperature,
      max_tokens: Math.min(config.maxTokens ?? lm.config.maxPositions - 1, lm.config.maxPositions - 1),
      batch: config.batch,
    };
    const partial = `${config.out}.partial`;
    const done = await openPartial(partial, settings, config.count);
    const progress = new Progress(config.count - done, { unit: 'stories', quiet });
    const interrupt = installInterrupt(quiet);
    let tokens = 0;
    let stopped = 0;
    let made = 0;
    const handle = await fsp.open(partial, 'a');
    try {
      for (let first = done; first < config.count && !interrupt.stopped(); first += config.batch) {
        const indices = Array.from({ length: Math.min(config.batch, config.count - first) }, (_, j) => first + j);
        const rows = await sampleBatch(lm, indices.map((i) => deriveSeed(config.seed, i)), {
          prompt,
          maxNewTokens: settings.max_tokens,
          temperature: config.temperature,
          stopIds: stopIdsFor(tokenizer, prompt),
          minNewTokens: 1,
        });
        const lines = rows.map((r, j) => JSON.stringify({ id: `gen-${config.seed}-${indices[j]}`, text: tokenizer.decode(r.ids) }) + '\n');
        await handle.appendFile(lines.join(''), 'utf8');
        await handle.sync();
        for (const r of rows) {
          tokens += r.ids.length;
          if (r.stopped) stopped++;
        }
        made += rows.length;
        progress.tick(rows.length, `${(tokens / made).toFixed(0)} tokens/story`);
      }
    } finally {
      await handle.close();
      interrupt.dispose();
      lm.dispose();
    }
    const complete = done + made >= config.count;
    if (complete) {
      await fsp.rename(partial, config.out);
      await fsyncDir(dirname(config.out));
      await fsp.rm(metaFile(partial), { force: true });
    }
    const seconds = (Date.now() - started) / 1000;
    const summary = {
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
    report(
      cmd,
      summary,
      `${complete ? '' : 'interrupted (rerun the same command to continue): '}${done + made}/${config.count} stories` +
        ` (${made} now, mean ${summary.mean_tokens.toFixed(0)} tokens, ${(100 * summary.ended_at_eos).toFixed(0)}% ended by the model)` +
        ` | ${formatSeconds(seconds)} (${summary.stories_per_second.toFixed(2)} stories/s) | -> ${summary.out}`,
    );
    if (!complete) process.exitCode = 130;
  });
  return cmd;
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
