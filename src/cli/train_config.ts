/**
 * `prototoken train`'s settings: one strict schema (presets in configs/encoder-*.yaml, --config,
 * then flags), and which of them a resumed run may change.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { ENCODER_KINDS } from '../encoder/types.js';
import { LOSS_KINDS } from '../encoder/losses.js';
import { baseSchema, toFloat, toInt } from './common.js';
import { addWindowOptions, windowSchema } from './window_options.js';

export const trainSchema = baseSchema.merge(windowSchema).extend({
  /** The run's name: checkpoints in <checkpointsDir>/<name>, TensorBoard logs in <logdir or runs/name>. */
  name: z.string().min(1).regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only'),
  checkpointsDir: z.string().min(1).default('checkpoints'),
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
  /** Stop this invocation at this step (<= steps); resume later with --resume. null = steps. */
  maxSteps: z.number().int().min(1).nullable().default(null),
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
  curriculum: z.array(z.object({ n: z.number().int().min(1), until: z.number().int().min(1) }).strict()).default([]),
});

export type TrainConfig = z.infer<typeof trainSchema>;

/** Keys that steer how a run is watched or bounded, not what it computes: a resume may change them. */
export const RESUMABLE_KEYS = new Set(['maxSteps', 'backend', 'logdir', 'checkpointsDir', 'logEvery', 'checkpointEvery', 'model']);

/**
 * Keys added after runs were already checkpointed: a saved config without one was trained with
 * this value, so resuming such a run is not a change of recipe.
 */
const LATER_KEYS: Record<string, unknown> = { stream: false, maxReference: 20000, curriculum: [], referenceMinAccuracy: 1, initFrom: null };

/** Settings that differ between a saved run and this invocation (resume must not change the recipe). */
export function recipeDifferences(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
  const out: string[] = [];
  for (const k of keys) {
    if (RESUMABLE_KEYS.has(k)) continue;
    const a = JSON.stringify(saved[k] ?? LATER_KEYS[k] ?? null);
    const b = JSON.stringify(now[k] ?? null);
    if (a !== b) out.push(`${k}: saved ${a} vs now ${b}`);
  }
  return out;
}

function list(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected one or more files, comma-separated');
  return [...(previous ?? []), ...items];
}

/** `2@400,4@1000`: N=2 until step 400, N=4 until step 1000, then whole windows. */
function curriculum(value: string): { n: number; until: number }[] {
  return value.split(',').map((part) => {
    const m = /^\s*(\d+)@(\d+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected stages like 2@400,4@1000 (N@until_step), got "${part}"`);
    return { n: Number(m[1]), until: Number(m[2]) };
  });
}

function bool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

export function addTrainOptions(cmd: Command): Command {
  return addWindowOptions(cmd)
    .option('--name <run>', 'run name: checkpoints/<run>/ and runs/<run>/')
    .option('--checkpoints-dir <dir>', 'where run folders go (default checkpoints)')
    .option('--logdir <dir>', 'TensorBoard folder (default runs/<run>)')
    .option('--texts <files>', 'raw text files for the recon loss (comma-separated, or repeat the flag)', list)
    .option('--dataset <dir>', 'solution dataset solved with one fixed m (distill targets, statistics, baselines)')
    .option('--m <file>', 'the fixed m (default: the dataset\'s m.safetensors)')
    .option('--encoder <kind>', `architecture: ${ENCODER_KINDS.join(' | ')}`)
    .option('--width <n>', 'transformer width', toInt)
    .option('--layers <n>', 'transformer blocks', toInt)
    .option('--heads <n>', 'attention heads', toInt)
    .option('--ff-mult <n>', 'MLP width as a multiple of the width', toInt)
    .option('--freeze-embeddings <bool>', 'keep the token embeddings at the LM\'s', bool)
    .option('--max-length <n>', 'longest text the encoder accepts', toInt)
    .option('--pool-queries <n>', 'learned pooling queries', toInt)
    .option('--lm-layer <n>', 'lm-pool: LM blocks to run before pooling', toInt)
    .option('--mlp-hidden <n>', 'lm-pool: MLP width', toInt)
    .option('--cache-features <bool>', 'lm-pool: keep each text\'s LM features', bool)
    .option('--loss <kind>', `${LOSS_KINDS.join(' | ')}`)
    .option('--distill-weight <w>', 'weight of the distill term in mixed', toFloat)
    .option('--cosine-weight <w>', 'weight of the cosine part of distill', toFloat)
    .option('--norm-penalty <w>', 'weight of mean ||e_hat||^2 / d', toFloat)
    .option('--batch <n>', 'windows per step', toInt)
    .option('--steps <n>', 'length of the schedule', toInt)
    .option('--max-steps <n>', 'stop at this step (resume later with --resume)', toInt)
    .option('--lr <x>', 'peak learning rate', toFloat)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (matrices only)', toFloat)
    .option('--clip-norm <x>', 'global gradient-norm clip (0: none)', toFloat)
    .option('--warmup-steps <n>', 'linear warmup steps', toInt)
    .option('--val-every <n>', 'validate every N steps', toInt)
    .option('--log-every <n>', 'log every N steps', toInt)
    .option('--checkpoint-every <n>', 'write last/ every N steps', toInt)
    .option('--max-train <n>', 'at most N training windows', toInt)
    .option('--max-val <n>', 'at most N validation windows', toInt)
    .option('--stream', 'stream the --dataset rows batch by batch (no --texts; memory independent of the dataset size)')
    .option('--max-reference <n>', 'with --stream: the first N solved training rows are the baselines\' reference', toInt)
    .option('--init-from <checkpoint>', 'start from a trained encoder\'s weights (same architecture, model and m), e.g. one trained at a shorter N')
    .option('--reference-min-accuracy <x>', 'dataset rows with at least this token accuracy count as solved (default 1; lower it above the model\'s shared-m capacity)', toFloat)
    .option('--curriculum <stages>', 'N curriculum for recon: N@until,... e.g. 2@400,4@1000 trains on 2-token prefixes until step 400, 4-token ones until 1000, then whole windows', curriculum)
    .option('--preset <name>', 'configs/encoder-<name>.yaml under --config and flags')
    .option('--resume', 'continue the run in checkpoints/<run>/last exactly where it stopped');
}
