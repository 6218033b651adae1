/**
 * A training run as `prototoken train` makes it, for any caller: settings checked before anything
 * loads, then the data, the fixed m and a fresh encoder or the exact state of the run's last/
 * snapshot (`openTrainingRun`); then the loop, writing last/ and best/ snapshots and TensorBoard
 * scalars, to a summary (`trainRun`). Printing and signals stay with the caller (hooks).
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { LoadedModel } from '../lm/load.js';
import { embeddingStd } from '../lm/embeddings.js';
import { portableModelName } from '../lm/model_name.js';
import { fingerprintM, readVector } from '../lm/vector_file.js';
import { windowOptionsOf } from '../texts/window_config.js';
import type { WindowOptions } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import { type TrainRunOptions, checkRunOutputs, logdirOf, portablePaths, removeRun, runDirOf, savedTrainConfig } from './run_folder.js';
import { TfEventsWriter } from '../util/tfevents.js';
import { type EncoderMeta, type TrainState, CHECKPOINT_FORMAT, statsSummary, writeSnapshot } from './checkpoint.js';
import { type TrainConfig, recipeDifferences } from './config.js';
import { checkRunInputs, runInputs } from './run_inputs.js';
import { type EncoderData, checkStreamInputs, loadEncoderData } from './data.js';
import { type EStats, fallbackStats } from './head.js';
import { initFromCheckpoint, loadEncoder } from './load.js';
import { EncoderOptimizer } from './optimizer.js';
import { GradientPool } from './grad_pool.js';
import { LEARNED_M } from './grad_step.js';
import { Prng, deriveSeed } from '../util/prng.js';
import type { LossOptions } from './losses.js';
import { buildEncoder, encoderSpec } from './spec.js';
import { type TrainHooks, trainLoop, valScore } from './train.js';
import { type ExampleSource, openTrainSource } from './train_feed.js';
import type { ProtoEncoder } from './types.js';
import type { ValMetrics } from './validate.js';

/** An opened run, ready for trainRun; `close()` it (the model stays the caller's). */
export interface TrainingRun {
  config: TrainConfig;
  model: LoadedModel;
  /** <checkpointsDir>/<name>: its last/ and best/ snapshots. */
  runDir: string;
  /** TensorBoard folder. */
  logdir: string;
  /** The step this invocation stops at: max_steps, at most steps. */
  stopAt: number;
  data: EncoderData;
  /** The fixed m the encoder is trained for; with --learn-m, where m started (or was at the resumed step). */
  m: Float32Array;
  /** m as a trained parameter [d] (--learn-m); null when m is fixed. */
  learnedM: tf.Variable | null;
  encoder: ProtoEncoder;
  optimizer: EncoderOptimizer;
  /** Where a resumed run continues from; null for a new run. */
  state: TrainState | null;
  /** For the user: e.g. an --init-from or resumed checkpoint read without verifying its files. */
  warnings: string[];
  meta: EncoderMeta;
  /** The training batches, positioned at `state`. */
  source: ExampleSource;
  close(): Promise<void>;
}

/** trainRun's report: also `prototoken train --json`. */
export interface TrainSummary {
  run: string;
  step: number;
  interrupted: boolean;
  seconds: number;
  /** CPU seconds of the whole run (every thread, earlier invocations included). */
  cpu_seconds: number;
  train_windows: number;
  val_windows: number;
  val_exact_copies: number;
  best: TrainState['best'];
  /** Training metrics averaged over the last log interval. */
  train: Record<string, number> | null;
  val: ValMetrics | null;
}

/** What the caller watches: trainLoop's hooks but `save`, which the run does itself. */
export type TrainRunHooks = Omit<TrainHooks, 'save'>;

/**
 * Settings refused before anything loads (so before the model, which is slow): an existing run
 * without resume or overwrite, output folders that cannot be written, no window length, stream
 * conflicts, a curriculum without the recon loss. Returns the window options. openTrainingRun
 * checks again, for callers that skip this.
 */
export async function checkTrainConfig(config: TrainConfig, opts: TrainRunOptions = {}): Promise<WindowOptions> {
  await checkRunOutputs(config, opts);
  const windows = windowOptionsOf(config);
  if (!windows) throw new PrototokenError('an encoder trains on windows of one length', { fix: 'pass --window N (e.g. --window 8)' });
  checkStreamConfig(config);
  if (config.learnM && config.loss !== 'recon') {
    throw new PrototokenError(`--learn-m trains m by the recon loss; the ${config.loss} loss's solved e belong to the m they were solved with`, { fix: 'use --loss recon, or drop --learn-m' });
  }
  if (config.learnM && config.encoder === 'retrieve-edit') {
    throw new PrototokenError('--learn-m cannot train retrieve-edit: it edits solved e, which belong to the m they were solved with', { fix: 'use --encoder transformer or lm-pool, or drop --learn-m' });
  }
  if (config.curriculum.length > 0 && config.loss !== 'recon') {
    throw new PrototokenError(`an N curriculum trains on window prefixes, which have no solved e, so it needs the recon loss (not ${config.loss})`, { fix: 'use --loss recon, or drop --curriculum' });
  }
  const tooLong = config.curriculum.filter((s) => s.n > windows.window);
  if (tooLong.length > 0) {
    throw new PrototokenError(`--curriculum ${tooLong.map((s) => `${s.n}@${s.until}`).join(',')}: a stage trains on the first n tokens of each window, but --window ${windows.window} windows have only ${windows.window}`, {
      fix: `use stages with n below ${windows.window} (e.g. ${Math.max(1, Math.floor(windows.window / 2))}@${tooLong[0].until}), or a larger --window`,
    });
  }
  return windows;
}

/** --stream trains on the dataset's own rows only: say so instead of silently ignoring other inputs. */
function checkStreamConfig(config: TrainConfig): void {
  if (!config.stream) return;
  checkStreamInputs(config);
  if (config.referenceMinAccuracy < 1) {
    throw new PrototokenError('--reference-min-accuracy below 1 is not supported with --stream (the streamed training rows are the solved ones)', { fix: 'drop --stream, or use a dataset of solved rows' });
  }
  if (config.maxTrain !== null) throw new PrototokenError('--max-train does not apply with --stream (every solved training row is streamed)', { fix: 'drop --max-train, or drop --stream' });
}

/** Load the data, resolve m, build or restore the encoder and position the batches. */
export async function openTrainingRun(config: TrainConfig, model: LoadedModel, opts: TrainRunOptions = {}): Promise<TrainingRun> {
  const windows = await checkTrainConfig(config, opts);
  const runDir = runDirOf(config);
  const data = await loadEncoderData({
    d: model.lm.config.hiddenSize,
    windows,
    stream: config.stream,
    texts: config.texts,
    tokenizer: model.tokenizer,
    dataset: config.dataset,
    loss: config.loss,
    maxTrain: config.maxTrain,
    maxVal: config.maxVal,
    maxReference: config.maxReference,
    referenceMinAccuracy: config.referenceMinAccuracy,
    allowPartial: config.allowPartial,
  });
  const given = await resolveM(config, data, model);
  const { encoder, optimizer, state, meta, m, learnedM, warnings } = await startEncoder(config, model, data, given, opts.resume ?? false, path.join(runDir, 'last'));
  let source: ExampleSource;
  try {
    // Positioned where the snapshot stopped, so the resumed run draws the batches an uninterrupted one would.
    source = await openTrainSource(data, { batchRows: config.batch, seed: config.seed }, state?.data);
    // Everything loaded: only now is the replaced run removed (a refusal above leaves it whole).
    if (opts.overwrite) await removeRun(config);
  } catch (err) {
    optimizer.dispose();
    encoder.dispose();
    learnedM?.dispose();
    throw err;
  }
  return {
    config,
    model,
    runDir,
    logdir: logdirOf(config),
    stopAt: Math.min(config.stopAtStep ?? config.steps, config.steps),
    data,
    m,
    learnedM,
    encoder,
    optimizer,
    state,
    meta,
    source,
    warnings,
    async close() {
      await source.close();
      optimizer.dispose();
      encoder.dispose();
      learnedM?.dispose();
    },
  };
}

/** Train to `run.stopAt` (or until `hooks.shouldStop`), writing snapshots and TensorBoard scalars. */
export async function trainRun(run: TrainingRun, hooks: TrainRunHooks = {}): Promise<TrainSummary> {
  const { config, data, encoder, optimizer } = run;
  const threads = trainThreads(config);
  const pool = threads > 1
    ? await GradientPool.open(encoder, run.model.lm, run.m, run.learnedM, {
      threads,
      modelDir: run.model.dir,
      backend: config.backend,
      spec: run.meta.spec,
      context: { stats: startStats(config, data, run.model), reference: data.reference },
      loss: lossOptionsOf(config),
    })
    : null;
  const events = await TfEventsWriter.open(run.logdir);
  let lastVal: ValMetrics | null = null;
  let validatedAt: { step: number; score: number } | null = null;
  let lastLog: Record<string, number> | null = null;
  try {
    const outcome = await trainLoop(
      encoder,
      run.model.lm,
      run.m,
      { train: run.source, val: data.val },
      optimizer,
      {
        loss: lossOptionsOf(config),
        batchSize: config.batch,
        steps: config.steps,
        stopAt: run.stopAt,
        lr: config.lr,
        warmupSteps: config.warmupSteps,
        minLrFactor: config.minLrFactor,
        seed: config.seed,
        valEvery: config.valEvery,
        logEvery: config.logEvery,
        checkpointEvery: config.checkpointEvery,
        curriculum: config.curriculum,
        gradients: pool ?? undefined,
        learnedM: run.learnedM ?? undefined,
      },
      {
        onLog: (step, scalars) => {
          lastLog = { step, ...scalars };
          // lr, grad_norm and windows_per_sec describe the step, not the training loss: not under train/.
          events.scalars(Object.fromEntries(Object.entries(scalars).map(([k, v]) => [k === 'lr' || k === 'grad_norm' || k === 'windows_per_sec' || k === 'cpu_seconds' ? k : `train/${k}`, v])), step);
          return hooks.onLog?.(step, scalars);
        },
        onValidate: (step, v, isBest) => {
          lastVal = v;
          validatedAt = { step, score: valScore(v) };
          events.scalars({ 'val/recon_loss': v.reconLoss, 'val/token_accuracy': v.tokenAccuracy, 'val/exact_match': v.exactMatch, ...(v.cosine !== null ? { 'val/cosine_to_e': v.cosine } : {}) }, step);
          return hooks.onValidate?.(step, v, isBest);
        },
        save: async (kind, st) => {
          // last/ records the validation of its own step too, when one ran there (the report's table shows it).
          const value = kind === 'best' ? st.best?.value ?? null : validatedAt?.step === st.step ? validatedAt.score : null;
          // A learned m is part of the snapshot as it is now; the encoder only works with it.
          const m = run.learnedM ? ((await run.learnedM.data()) as Float32Array) : run.m;
          await saveSnapshot(path.join(run.runDir, kind), run, m, { ...run.meta, mSha256: fingerprintM(m), step: st.step, metric: { name: 'val_token_accuracy', value } }, kind === 'last' ? st : null);
        },
        shouldStop: hooks.shouldStop,
      },
      run.state,
    );
    return {
      run: run.runDir,
      step: outcome.step,
      interrupted: outcome.interrupted,
      seconds: outcome.seconds,
      cpu_seconds: outcome.cpuSeconds,
      train_windows: data.trainRows,
      val_windows: data.val.length,
      val_exact_copies: data.valExactCopies,
      best: outcome.best,
      train: lastLog,
      val: outcome.lastVal ?? lastVal,
    };
  } finally {
    await events.close();
    await pool?.close();
  }
}

/** Threads a run's steps use: `workers`, or one per core; never more than a batch has windows. */
export function trainThreads(config: Pick<TrainConfig, 'workers' | 'batch'>): number {
  return Math.max(1, Math.min(config.workers ?? availableParallelism(), config.batch));
}

function lossOptionsOf(config: TrainConfig): LossOptions {
  return { kind: config.loss, distillWeight: config.distillWeight, cosineWeight: config.cosineWeight, normPenalty: config.normPenalty };
}

/** Trainable weights of an encoder (frozen embeddings excluded). */
export function trainableWeights(encoder: ProtoEncoder): number {
  let n = 0;
  for (const v of encoder.variables.values()) if (v.trainable) n += v.size;
  return n;
}

interface StartedEncoder {
  encoder: ProtoEncoder;
  optimizer: EncoderOptimizer;
  state: TrainState | null;
  meta: EncoderMeta;
  /** m now: the given one, or the learned one of a resumed --learn-m run. */
  m: Float32Array;
  learnedM: tf.Variable | null;
  warnings: string[];
}

/** The parameters the optimizer moves: the encoder's, and m when it is learned. */
function optimizerParams(encoder: ProtoEncoder, learnedM: tf.Variable | null): Map<string, tf.Variable> {
  return new Map([...encoder.variables, ...(learnedM ? [[LEARNED_M, learnedM] as [string, tf.Variable]] : [])]);
}

/** A fresh encoder, or the run in `lastDir` restored exactly (weights, moments, data order). */
async function startEncoder(config: TrainConfig, model: LoadedModel, data: Pick<EncoderData, 'stats' | 'N' | 'reference'>, m: Float32Array, resume: boolean, lastDir: string): Promise<StartedEncoder> {
  const optimizerOpts = { lr: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, clipNorm: config.clipNorm };
  if (resume) {
    // A learned m moved since the start: the snapshot's own m is the one to continue from.
    const loaded = await loadEncoder(lastDir, model, { m: config.learnM ? null : m, withOptimizer: true, prefer: 'last' });
    // Paths compared as they are saved (portable), so a run started with absolute paths resumes with them.
    const diffs = recipeDifferences(portablePaths(loaded.snapshot.config as Record<string, unknown>), portablePaths(config));
    if (diffs.length > 0) {
      loaded.encoder.dispose();
      throw new PrototokenError(`--resume with other settings than the run was started with:\n  ${diffs.join('\n  ')}`, {
        file: path.join(lastDir, 'config.json'),
        fix: 'resume with the same settings (only stop_at_step, logging, checkpoint frequency and backend may change), or start a new --name',
      });
    }
    const inputs = await runInputs(config);
    try {
      checkRunInputs(loaded.meta.inputs, inputs, lastDir);
    } catch (err) {
      loaded.encoder.dispose();
      throw err;
    }
    // A run from before inputs were recorded adopts the ones it resumes on.
    const meta = { ...loaded.meta, inputs: { ...inputs, ...loaded.meta.inputs } };
    const learnedM = config.learnM ? tf.variable(tf.tensor1d(loaded.m), true) : null;
    const optimizer = new EncoderOptimizer(optimizerParams(loaded.encoder, learnedM), optimizerOpts);
    const opt = loaded.snapshot.optimizer as NonNullable<typeof loaded.snapshot.optimizer>;
    optimizer.load(opt.state.step, new Map([...opt.arrays].map(([k, v]) => [k, v.data])));
    return { encoder: loaded.encoder, optimizer, state: opt.state, meta, m: loaded.m, learnedM, warnings: loaded.warnings };
  }
  const stats = startStats(config, data, model);
  const spec = encoderSpec(config.encoder, { ...config, seed: config.seed });
  const encoder = buildEncoder(spec, { lm: model.lm, bosId: model.tokenizer.bosId, stats, reference: data.reference });
  const warnings: string[] = [];
  if (config.initFrom) {
    try {
      warnings.push(...(await initFromCheckpoint(encoder, spec, config.initFrom, model, m)).warnings);
    } catch (err) {
      encoder.dispose();
      throw err;
    }
  }
  const meta: EncoderMeta = {
    format: CHECKPOINT_FORMAT,
    spec,
    model: portableModelName(config.model),
    modelFingerprint: await model.fingerprint(),
    dModel: model.lm.config.hiddenSize,
    vocabSize: model.lm.config.vocabSize,
    mSha256: fingerprintM(m),
    ...(config.learnM ? { learnedM: true } : {}),
    trainN: data.N,
    stats: statsSummary(stats),
    inputs: await runInputs(config),
    step: 0,
    metric: { name: 'val_token_accuracy', value: null },
    createdAt: new Date().toISOString(),
  };
  const learnedM = config.learnM ? tf.variable(tf.tensor1d(m), true) : null;
  return { encoder, optimizer: new EncoderOptimizer(optimizerParams(encoder, learnedM), optimizerOpts), state: null, meta, m, learnedM, warnings };
}

/**
 * The head's statistics, so where a fresh encoder's e_hat starts: the training e's mean and spread
 * when there are solved e; else a seeded vector at the scale of the LM's token embeddings. Not the
 * zero vector: the LM's first normalisation divides by the norm of its input, and at e = 0 the first
 * gradient norm was ~1e13 (clipping hid it; without clipping the loss stalled).
 */
function startStats(config: TrainConfig, data: Pick<EncoderData, 'stats'>, model: LoadedModel): EStats {
  return data.stats ?? fallbackStats(model.lm.config.hiddenSize, embeddingStd(model.lm), deriveSeed(config.seed, 0x65));
}

/** config.m, else the dataset's shared m: an encoder is trained for one fixed m. */
async function resolveM(config: TrainConfig, data: Pick<EncoderData, 'datasetM'>, model: LoadedModel): Promise<Float32Array> {
  const d = model.lm.config.hiddenSize;
  if (config.m) return readVector(config.m, 'm', d, await model.fingerprint());
  if (data.datasetM) return data.datasetM;
  // From scratch: the solver's per-text start, N(0,1), seeded by the run.
  if (config.learnM) return new Prng(deriveSeed(config.seed, 0x6d)).normals(d, 1);
  throw new PrototokenError('an encoder needs one fixed m', {
    fix: 'fit one with `prototoken fit-m --texts FILE --length N --out m.safetensors` and pass --m m.safetensors (or --dataset solved with that m)',
  });
}

/** `state` only for last/: best/ is for use, not for resuming. */
async function saveSnapshot(dir: string, run: TrainingRun, m: Float32Array, meta: EncoderMeta, state: TrainState | null): Promise<void> {
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of run.encoder.variables) weights.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  await writeSnapshot(dir, {
    meta,
    weights,
    m,
    // The solved reference windows hold e for the m they were solved with, which a learned m has left.
    reference: run.learnedM ? null : run.data.reference,
    config: savedTrainConfig(run.config),
    ...(state ? { optimizer: { arrays: await run.optimizer.stateArrays(), state } } : {}),
  });
}
