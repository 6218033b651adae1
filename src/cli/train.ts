/** `prototoken train`: train an encoder text -> e through the frozen LM, with checkpoints and TensorBoard logs. */
import * as path from 'node:path';
import { Command } from 'commander';
import type { LoadedModel } from '../lm/load.js';
import { fingerprintM, readVector } from '../lm/vector_file.js';
import { type EncoderData, checkStreamInputs, loadEncoderData } from '../encoder/data.js';
import { openTrainSource } from '../encoder/train_feed.js';
import { embeddingStd } from '../lm/embeddings.js';
import { fallbackStats } from '../encoder/head.js';
import { EncoderOptimizer } from '../encoder/optimizer.js';
import { encoderSpec, buildEncoder } from '../encoder/spec.js';
import { trainLoop } from '../encoder/train.js';
import type { ProtoEncoder } from '../encoder/types.js';
import { type EncoderMeta, type TrainState, CHECKPOINT_FORMAT, statsSummary, writeSnapshot } from '../encoder/checkpoint.js';
import { initFromCheckpoint, loadEncoder } from '../encoder/load.js';
import { exists } from '../util/fs_atomic.js';
import { PrototokenError } from '../util/errors.js';
import { TfEventsWriter } from '../util/tfevents.js';
import { TrainProgress } from '../util/progress_bar.js';
import { formatSeconds } from '../util/progress.js';
import { commandConfig, printConfigIfAsked, report, withCommonOptions } from './common.js';
import { openModel } from '../lm/open_model.js';
import { presetFile } from '../util/package.js';
import { installInterrupt } from './run_support.js';
import { addTrainOptions } from './train_options.js';
import { type TrainConfig, recipeDifferences, trainSchema } from '../encoder/config.js';
import { windowOptionsOf } from '../texts/window_config.js';

export function trainCommand(): Command {
  const cmd = addTrainOptions(withCommonOptions(new Command('train'))).description('train an encoder that maps a text straight to its proto-token e');
  cmd.action(async () => {
    const preset = cmd.opts<{ preset?: string }>().preset;
    const config = commandConfig(cmd, trainSchema, preset ? [presetFile('encoder', preset)] : []);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const resume = cmd.opts().resume === true;
    const runDir = path.join(config.checkpointsDir, config.name);
    const lastDir = path.join(runDir, 'last');
    if (!resume && (await exists(path.join(lastDir, 'encoder.json')))) {
      throw new PrototokenError(`a run named "${config.name}" already exists`, { file: runDir, fix: 'pass --resume to continue it, or choose another --name' });
    }
    const windows = windowOptionsOf(config);
    if (!windows) throw new PrototokenError('an encoder trains on windows of one length', { fix: 'pass --window N (e.g. --window 8)' });
    const stopAt = Math.min(config.maxSteps ?? config.steps, config.steps);
    checkStreamConfig(config);
    if (config.curriculum.length > 0 && config.loss !== 'recon') {
      throw new PrototokenError(`an N curriculum trains on window prefixes, which have no solved e, so it needs the recon loss (not ${config.loss})`, { fix: 'use --loss recon, or drop --curriculum' });
    }

    const model = await openModel(config, quiet);
    const d = model.lm.config.hiddenSize;
    const data = await loadEncoderData({
      d,
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
    });
    const trainCount = data.trainRows;
    const m = await resolveM(config, data, model);
    const started = await startRun(config, model, data, m, resume, lastDir);
    const { encoder, optimizer, state, meta } = started;
    // Positioned where the snapshot stopped, so the resumed run draws the batches an uninterrupted one would.
    const source = await openTrainSource(data, { batchRows: config.batch, seed: config.seed }, state?.data);
    const logdir = config.logdir ?? path.join('runs', config.name);
    const events = await TfEventsWriter.open(logdir);
    const progress = new TrainProgress({ total: stopAt, start: state?.step ?? 0, quiet });
    if (!quiet) {
      progress.message(
        `${config.encoder} encoder, ${count(encoder)} weights | ${trainCount} train${config.stream ? ' (streamed)' : ''} / ${data.val.length} val windows of N=${data.N}` +
          ` (${data.valExactCopies} val windows copy a train window) | ${data.reference ? `${data.reference.textIds.length} solved references` : 'no solved e'}` +
          `${state ? ` | resuming at step ${state.step}` : ''} | logs: ${logdir}`,
      );
    }
    const interrupt = installInterrupt(quiet);
    let lastVal: { tokenAccuracy: number; exactMatch: number; reconLoss: number; cosine: number | null } | null = null;
    let lastLog: Record<string, number> | null = null;
    try {
      const outcome = await trainLoop(
        encoder,
        model.lm,
        m,
        { train: source, val: data.val },
        optimizer,
        {
          loss: { kind: config.loss, distillWeight: config.distillWeight, cosineWeight: config.cosineWeight, normPenalty: config.normPenalty },
          batchSize: config.batch,
          steps: config.steps,
          stopAt,
          lr: config.lr,
          warmupSteps: config.warmupSteps,
          minLrFactor: config.minLrFactor,
          seed: config.seed,
          valEvery: config.valEvery,
          logEvery: config.logEvery,
          checkpointEvery: config.checkpointEvery,
          curriculum: config.curriculum,
        },
        {
          onLog: (step, scalars) => {
            lastLog = { step, ...scalars };
            events.scalars(Object.fromEntries(Object.entries(scalars).map(([k, v]) => [k === 'lr' || k === 'grad_norm' || k === 'windows_per_sec' ? k : `train/${k}`, v])), step);
            progress.update(step, pick(scalars, ['loss', 'token_accuracy', 'windows_per_sec']), true);
          },
          onValidate: (step, v, isBest) => {
            lastVal = v;
            events.scalars({ 'val/recon_loss': v.reconLoss, 'val/token_accuracy': v.tokenAccuracy, 'val/exact_match': v.exactMatch, ...(v.cosine !== null ? { 'val/cosine_to_e': v.cosine } : {}) }, step);
            progress.message(`step ${step}: val token accuracy ${v.tokenAccuracy.toFixed(4)}, exact ${v.exactMatch.toFixed(4)}, recon ${v.reconLoss.toFixed(3)}${v.cosine !== null ? `, cos(e) ${v.cosine.toFixed(3)}` : ''}${isBest ? ' (best)' : ''}`);
          },
          save: async (kind, st) => {
            const value = kind === 'best' ? st.best?.value ?? null : null;
            await saveSnapshot(path.join(runDir, kind), encoder, optimizer, { ...meta, step: st.step, metric: { name: 'val_token_accuracy', value } }, config, m, data, kind === 'last' ? st : null);
          },
          shouldStop: interrupt.stopped,
        },
        state,
      );
      progress.stop();
      const summary = {
        run: runDir,
        step: outcome.step,
        interrupted: outcome.interrupted,
        seconds: outcome.seconds,
        train_windows: trainCount,
        val_windows: data.val.length,
        val_exact_copies: data.valExactCopies,
        best: outcome.best,
        /** Training metrics averaged over the last log interval. */
        train: lastLog,
        val: outcome.lastVal ?? lastVal,
      };
      const v = summary.val;
      report(
        cmd,
        summary,
        `${outcome.interrupted ? 'interrupted (rerun with --resume to continue): ' : ''}trained ${config.name} to step ${outcome.step}/${config.steps} in ${formatSeconds(outcome.seconds)}` +
          (v ? ` | val token accuracy ${v.tokenAccuracy.toFixed(4)}, exact ${v.exactMatch.toFixed(4)}` : '') +
          (outcome.best ? ` | best at step ${outcome.best.step}` : '') +
          ` | -> ${runDir}/{last,best}, logs ${logdir}`,
      );
      if (outcome.interrupted) process.exitCode = 130;
    } finally {
      interrupt.dispose();
      progress.stop();
      await source.close();
      await events.close();
      optimizer.dispose();
      encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
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

interface StartedRun {
  encoder: ProtoEncoder;
  optimizer: EncoderOptimizer;
  state: TrainState | null;
  meta: EncoderMeta;
}

/** A fresh encoder, or the run in `lastDir` restored exactly (weights, moments, data order). */
async function startRun(config: TrainConfig, model: LoadedModel, data: Pick<EncoderData, 'stats' | 'N' | 'reference'>, m: Float32Array, resume: boolean, lastDir: string): Promise<StartedRun> {
  const optimizerOpts = { lr: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, clipNorm: config.clipNorm };
  if (resume) {
    if (!(await exists(path.join(lastDir, 'encoder.json')))) {
      throw new PrototokenError('nothing to resume: no last/ snapshot', { file: lastDir, fix: 'drop --resume to start the run' });
    }
    const loaded = await loadEncoder(lastDir, model, { m, withOptimizer: true, prefer: 'last' });
    const diffs = recipeDifferences(loaded.snapshot.config as Record<string, unknown>, config as Record<string, unknown>);
    if (diffs.length > 0) {
      loaded.encoder.dispose();
      throw new PrototokenError(`--resume with other settings than the run was started with:\n  ${diffs.join('\n  ')}`, {
        file: path.join(lastDir, 'config.json'),
        fix: 'resume with the same settings (only max_steps, logging, checkpoint frequency and backend may change), or start a new --name',
      });
    }
    const optimizer = new EncoderOptimizer(loaded.encoder.variables, optimizerOpts);
    const opt = loaded.snapshot.optimizer as NonNullable<typeof loaded.snapshot.optimizer>;
    optimizer.load(opt.state.step, new Map([...opt.arrays].map(([k, v]) => [k, v.data])));
    return { encoder: loaded.encoder, optimizer, state: opt.state, meta: loaded.meta };
  }
  const stats = data.stats ?? fallbackStats(model.lm.config.hiddenSize, embeddingStd(model.lm));
  const spec = encoderSpec(config.encoder, { ...config, seed: config.seed });
  const encoder = buildEncoder(spec, { lm: model.lm, bosId: model.tokenizer.bosId, stats, reference: data.reference });
  if (config.initFrom) {
    try {
      await initFromCheckpoint(encoder, spec, config.initFrom, model, m);
    } catch (err) {
      encoder.dispose();
      throw err;
    }
  }
  const meta: EncoderMeta = {
    format: CHECKPOINT_FORMAT,
    spec,
    model: config.model,
    modelFingerprint: await model.fingerprint(),
    dModel: model.lm.config.hiddenSize,
    vocabSize: model.lm.config.vocabSize,
    mSha256: fingerprintM(m),
    trainN: data.N,
    stats: statsSummary(stats),
    step: 0,
    metric: { name: 'val_token_accuracy', value: null },
    createdAt: new Date().toISOString(),
  };
  return { encoder, optimizer: new EncoderOptimizer(encoder.variables, optimizerOpts), state: null, meta };
}

/** --m, else the dataset's shared m: an encoder is trained for one fixed m. */
async function resolveM(config: TrainConfig, data: Pick<EncoderData, 'datasetM'>, model: LoadedModel): Promise<Float32Array> {
  const d = model.lm.config.hiddenSize;
  if (config.m) return readVector(config.m, 'm', d, await model.fingerprint());
  if (data.datasetM) return data.datasetM;
  throw new PrototokenError('an encoder needs one fixed m', {
    fix: 'fit one with `prototoken fit-m --texts FILE --length N --out m.safetensors` and pass --m m.safetensors (or --dataset solved with that m)',
  });
}

async function saveSnapshot(
  dir: string,
  encoder: ProtoEncoder,
  optimizer: EncoderOptimizer,
  meta: EncoderMeta,
  config: TrainConfig,
  m: Float32Array,
  data: Pick<EncoderData, 'reference'>,
  state: TrainState | null,
): Promise<void> {
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, v] of encoder.variables) weights.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  await writeSnapshot(dir, {
    meta,
    weights,
    m,
    reference: data.reference,
    config,
    ...(state ? { optimizer: { arrays: await optimizer.stateArrays(), state } } : {}),
  });
}

function count(encoder: ProtoEncoder): number {
  let n = 0;
  for (const v of encoder.variables.values()) if (v.trainable) n += v.size;
  return n;
}

function pick(o: Record<string, number>, keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}
