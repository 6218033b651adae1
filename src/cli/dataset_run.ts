/**
 * The dataset side of the solver commands: output/shard/worker flags, opening the writer with
 * everything dataset_info.json records, and `--workers K` (K local shard processes, then merge).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { basename, join } from 'node:path';
import { toFloat, toInt } from './common.js';
import { solverSchema } from '../solver/config.js';
import { writeFileAtomic } from '../util/fs_atomic.js';
import type { LoadedModel } from '../lm/load.js';
import { type DatasetKind, type DatasetWriter, type RestartsInfo, mergeDataset, openDatasetWriter } from '../datasets/index.js';
import { runWorkers } from '../jobs/workers.js';
import { resolveShard } from '../jobs/shard.js';
import { PrototokenError } from '../util/errors.js';

export const datasetSchema = z.object({
  out: z.string().min(1),
  /** "i/n": this process's shard. */
  shard: z.string().nullable().default(null),
  /** Shard count for Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX gives the index). */
  numShards: z.number().int().min(1).nullable().default(null),
  workers: z.number().int().min(1).default(1),
  /** Name of the text source, for the dataset card (default: the texts file's name). */
  source: z.string().nullable().default(null),
  /** License of the source texts (a Hugging Face license id). */
  license: z.string().default('unknown'),
  splitRatios: z.object({ train: z.number().min(0), val: z.number().min(0), test: z.number().min(0) }).strict().default({ train: 0.9, val: 0.05, test: 0.05 }),
});

/** Solver flags shared by solve, capacity and fit-m. */
export function addSolverOptions(cmd: Command): Command {
  return cmd
    .option('--preset <name>', 'solver preset from configs/: paper (default values) | fast')
    .option('--arrangement <name>', 'e-m (default) | e-mN | e | half | alt')
    .option('--batch <b>', 'rows (text x restart) optimised together (default 32)', toInt)
    .option('--max-steps <s>', 'optimiser steps per text (default 5000)', toInt)
    .option('--restarts <k>', 'seeds per text, the best is kept (solve --keep-all-restarts: every one) (default 1)', toInt)
    .option('--lr <x>', 'AdamW learning rate (default 0.01)', toFloat)
    .option('--init <how>', 'normal | scaled | embed-std | FILE.safetensors | DATASET | encoder:CHECKPOINT (e_hat per text, with the encoder\'s m) (default normal)')
    .option('--init-scale <x>', 'factor on the N(0,1) start (default 1)', toFloat)
    .option('--schedule <name>', 'constant | cosine | warmup-cosine (default constant)')
    .option('--patience <s>', 'stop a text after S steps without loss improvement (default 0 = never)', toInt)
    .option('--stop-accuracy <x>', 'token accuracy at which a text stops (default 1.0)', toFloat);
}

/** Output, sharding and provenance flags of the commands that write a solution dataset. */
export function addDatasetOptions(cmd: Command): Command {
  return cmd
    .option('--out <dir>', 'the solution dataset folder (created, or resumed when it exists)')
    .option('--shard <i/n>', 'solve only shard i of n (texts are assigned by a stable hash of their id)')
    .option('--num-shards <n>', 'shard count when the index comes from JOB_COMPLETION_INDEX', toInt)
    .option('--workers <k>', 'run K local processes over K shards, then merge', toInt)
    .option('--source <name>', 'name of the text source for the dataset card')
    .option('--license <id>', 'license of the source texts (e.g. cdla-sharing-1.0)');
}

type DatasetConfig = z.infer<typeof datasetSchema> & Record<string, unknown>;

/** Open (or resume) this process's part of the output dataset. */
export async function openRunDataset(
  config: DatasetConfig,
  model: LoadedModel,
  run: { kind: DatasetKind; arrangement: string; length: number | null; init: string; m: 'per-text' | Float32Array; restarts?: RestartsInfo; source: string },
): Promise<DatasetWriter> {
  const shard = resolveShard({ shard: config.shard ?? undefined, numShards: config.numShards ?? undefined, env: process.env });
  const writer = await openDatasetWriter(config.out, {
    kind: run.kind,
    model: {
      id: typeof config.model === 'string' ? config.model : model.dir,
      fingerprint: await model.fingerprint(),
      tokenizerHash: model.tokenizer.hash,
      dModel: model.lm.config.hiddenSize,
    },
    arrangement: run.arrangement,
    length: run.length,
    init: run.init,
    m: run.m,
    restarts: run.restarts,
    solverConfig: recipeOf(config),
    source: { name: run.source, license: config.license },
    shard,
    splitRatios: config.splitRatios,
  });
  // The whole resolved config (paths, limits, backend too) beside this shard's part.
  const name = basename(writer.partPath).replace(/\.arrows$/, '.config.json');
  await writeFileAtomic(join(config.out, name), JSON.stringify(config, null, 2) + '\n');
  return writer;
}

/**
 * The settings that decide what a row is (and so must match on resume): the solver recipe and the
 * seed. Paths, limits, shards, workers and the backend may change between runs of one dataset.
 */
export function recipeOf(config: Record<string, unknown>): Record<string, unknown> {
  const keys = [...Object.keys(solverSchema.shape), 'seed', 'threshold', 'grid', 'window', 'stride', 'textSeed'];
  const out: Record<string, unknown> = {};
  // textSeed only when given, so datasets made before it existed still resume.
  for (const k of keys) if (k in config && k !== 'batch' && !(k === 'textSeed' && config[k] === null)) out[k] = config[k];
  return out;
}

/** Re-run this very command as K shard processes, then merge their parts. */
export async function runWorkersAndMerge(cmd: Command, k: number, out: string, quiet: boolean): Promise<void> {
  const args = process.argv.slice(2);
  const cleaned: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--workers' || args[i] === '--shard' || args[i] === '--json') {
      if (args[i] !== '--json') i++;
      continue;
    }
    if (args[i].startsWith('--workers=') || args[i].startsWith('--shard=')) continue;
    cleaned.push(args[i]);
  }
  if (!cmd.opts<{ quiet?: boolean }>().quiet) cleaned.push('--quiet');
  const results = await runWorkers({
    k,
    command: process.execPath,
    argsFor: (i, n) => [process.argv[1], ...cleaned, '--shard', `${i}/${n}`],
  });
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) throw new PrototokenError(`worker(s) ${failed.map((f) => f.index).join(', ')} failed`, { fix: 'rerun the same command to resume' });
  const merged = await mergeDataset(out);
  if (!quiet) process.stderr.write(`merged ${k} shards into ${out}\n`);
  if (cmd.opts<{ json?: boolean }>().json) process.stdout.write(JSON.stringify({ out, workers: k, merge: merged }) + '\n');
  else process.stdout.write(`merged ${k} worker shards -> ${out}\n`);
}
