/**
 * `prototoken train`'s settings: one strict schema (presets in configs/encoder-*.yaml, --config,
 * then flags), and its recipe: which of them a resumed run may not change.
 */
import { z } from 'zod';
import { baseSchema } from '../lm/open_model.js';
import { windowSchema } from '../texts/window_config.js';
import { snakeKey } from '../util/config.js';
import { Recipe } from '../util/recipe.js';
import { ENCODER_KINDS } from './types.js';
import { LOSS_KINDS } from './losses.js';

export const trainSchema = baseSchema.merge(windowSchema).extend({
  /**
   * The run's name: its folder is <checkpointsDir>/<name> (best/, last/ and, unless `logdir` says
   * otherwise, the TensorBoard logs in logs/). The default folder is the user's runs/, never the
   * shipped checkpoints/.
   */
  name: z.string().min(1).regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only'),
  checkpointsDir: z.string().min(1).default('runs'),
  logdir: z.string().min(1).nullable().default(null),
  /** Raw text files for the recon loss (windows of each). */
  texts: z.array(z.string().min(1)).default([]),
  /** A solution dataset solved with one fixed m: distill targets, head statistics, baselines. */
  dataset: z.string().min(1).nullable().default(null),
  /** The fixed m (file from fit-m); default: the dataset's m.safetensors. */
  m: z.string().min(1).nullable().default(null),
  encoder: z.enum(ENCODER_KINDS).default('transformer'),
  /** transformer */
  width: z.number().int().min(1).optional(),
  layers: z.number().int().min(0).optional(),
  heads: z.number().int().min(1).optional(),
  ffMult: z.number().int().min(1).optional(),
  freezeEmbeddings: z.boolean().optional(),
  /** both */
  maxLength: z.number().int().min(1).optional(),
  poolQueries: z.number().int().min(1).optional(),
  /** lm-pool */
  lmLayer: z.number().int().min(0).nullable().optional(),
  mlpHidden: z.number().int().min(1).optional(),
  cacheFeatures: z.boolean().optional(),
  loss: z.enum(LOSS_KINDS).default('recon'),
  distillWeight: z.number().min(0).default(1),
  cosineWeight: z.number().min(0).default(1),
  normPenalty: z.number().min(0).default(0),
  batch: z.number().int().min(1).default(64),
  /** Length of the learning-rate schedule. */
  steps: z.number().int().min(1).default(2000),
  /**
   * Stop this invocation at this step (<= steps); resume later with --resume. null = steps. (It was
   * `maxSteps`, the solver's name for each text's step budget: util/config.ts RENAMED_KEYS.)
   */
  stopAtStep: z.number().int().min(1).nullable().default(null),
  lr: z.number().positive().default(1e-3),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0.01),
  clipNorm: z.number().min(0).default(1),
  warmupSteps: z.number().int().min(0).default(100),
  minLrFactor: z.number().min(0).max(1).default(0.1),
  valEvery: z.number().int().min(0).default(200),
  logEvery: z.number().int().min(1).default(20),
  checkpointEvery: z.number().int().min(1).default(200),
  maxTrain: z.number().int().min(1).nullable().default(null),
  maxVal: z.number().int().min(1).nullable().default(512),
  /** Stream the dataset's training rows batch by batch instead of reading the dataset into memory. */
  stream: z.boolean().default(false),
  /** With stream: the reference set (baselines) is the first N solved training rows. */
  maxReference: z.number().int().min(1).default(20000),
  /** Start from this checkpoint's weights (same architecture, LM and m); a new optimiser and schedule. */
  initFrom: z.string().min(1).nullable().default(null),
  /** Dataset rows at or above this one-pass accuracy count as solved (reference, statistics, distill targets). */
  referenceMinAccuracy: z.number().min(0).max(1).default(1),
  /** N curriculum (recon): while step < `until`, train on the first `n` tokens of each window; then whole windows. */
  /**
   * Threads that share each batch (data parallel, the training thread included); null = one per
   * core. Any count computes the same steps, so a run may resume with another.
   */
  workers: z.number().int().min(1).nullable().default(null),
  /** Train the universal m jointly with the encoder (recon loss), from --m, the dataset's m, or N(0,1) when neither is given. */
  learnM: z.boolean().default(false),
  /** Train on a --dataset that is incomplete (an interrupted solve, missing shards); refused otherwise. */
  allowPartial: z.boolean().default(false),
  curriculum: z.array(z.object({ n: z.number().int().min(1), until: z.number().int().min(1) }).strict()).default([]),
});

export type TrainConfig = z.infer<typeof trainSchema>;

/** Keys that steer how a run is watched or bounded, not what it computes: a resume may change them. */
const STEERING_KEYS = new Set(['stopAtStep', 'backend', 'logdir', 'checkpointsDir', 'logEvery', 'checkpointEvery', 'model', 'workers', 'allowPartial']);

/**
 * Every other key decides the run. Keys added after runs were already checkpointed name the value
 * those runs were trained with.
 */
export const TRAIN_RECIPE = new Recipe(
  Object.keys(trainSchema.shape).filter((k) => !STEERING_KEYS.has(k)),
  { stream: false, maxReference: 20000, curriculum: [], referenceMinAccuracy: 1, initFrom: null, learnM: false },
);

/**
 * Settings that differ between a saved run's config and this invocation's (resume must not change
 * the recipe), each named as a config file spells it (`warmup_steps: saved 100 vs now 150`).
 */
export function recipeDifferences(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  return TRAIN_RECIPE.differences(saved, now).map((line) => snakeKey(line.slice(0, line.indexOf(':'))) + line.slice(line.indexOf(':')));
}
