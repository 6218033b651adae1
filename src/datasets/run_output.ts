/**
 * The output side of a run that writes a solution dataset: its config keys (output folder, shard,
 * workers, provenance) and opening this process's part with everything dataset_info.json records.
 */
import { basename, join } from 'node:path';
import { z } from 'zod';
import { resolveShard } from '../jobs/shard.js';
import type { LoadedModel } from '../lm/load.js';
import { portableModelName } from '../lm/model_name.js';
import { writeFileAtomic } from '../util/fs_atomic.js';
import type { Recipe } from '../util/recipe.js';
import type { DatasetKind, RestartsInfo } from './info.js';
import { type DatasetWriter, openDatasetWriter } from './writer.js';

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

type DatasetConfig = z.infer<typeof datasetSchema> & Record<string, unknown>;

/**
 * Open (or resume) this process's part of the output dataset, recording the run's `recipe` (which a
 * resumed or merged part must share) and, beside the part, the whole resolved config.
 */
export async function openRunDataset(
  config: DatasetConfig,
  model: LoadedModel,
  run: {
    kind: DatasetKind; arrangement: string; length: number | null; init: string; m: 'per-text' | Float32Array; restarts?: RestartsInfo; source: string; recipe: Recipe;
    /** Every text of the run in input order: recorded as this shard's plan, and rows get their position (`order`). */
    plan: readonly string[];
  },
): Promise<DatasetWriter> {
  const shard = resolveShard({ shard: config.shard ?? undefined, numShards: config.numShards ?? undefined, env: process.env });
  const writer = await openDatasetWriter(config.out, {
    kind: run.kind,
    model: {
      // Written for sharing (the card, Hugging Face): a name that means the same on another machine.
      id: portableModelName(typeof config.model === 'string' ? config.model : model.dir),
      fingerprint: await model.fingerprint(),
      tokenizerHash: model.tokenizer.hash,
      dModel: model.lm.config.hiddenSize,
    },
    arrangement: run.arrangement,
    length: run.length,
    init: run.init,
    m: run.m,
    restarts: run.restarts,
    solverConfig: run.recipe.pick(config),
    source: { name: run.source, license: config.license },
    shard,
    splitRatios: config.splitRatios,
    plan: run.plan,
    ordered: true,
    margins: true,
  });
  // The whole resolved config (paths, limits, backend too) beside this shard's part.
  const name = basename(writer.partPath).replace(/\.arrows$/, '.config.json');
  const shared = typeof config.model === 'string' ? { ...config, model: portableModelName(config.model) } : config;
  await writeFileAtomic(join(config.out, name), JSON.stringify(shared, null, 2) + '\n');
  return writer;
}
