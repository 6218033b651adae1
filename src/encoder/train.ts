/**
 * The encoder training loop: batches in a seeded, resumable order; one forward+backward through
 * the encoder (and, for recon, the frozen LM) per step; AdamW with warmup + cosine and clipping;
 * validation every K steps; snapshots through the caller's `save`. Per step nothing is downloaded;
 * the running sums of the loss terms are read back only at log steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { rateAt } from '../solver/schedule.js';
import type { EncoderExample } from './batch.js';
import type { TrainState } from './checkpoint.js';
import type { LossOptions } from './losses.js';
import { LEARNED_M, type StepGradients, stepGradients } from './grad_step.js';
import type { EncoderOptimizer } from './optimizer.js';
import { type ExampleSource, isExampleSource, memorySource } from './train_feed.js';
import type { ProtoEncoder } from './types.js';
import { type ValMetrics, validate } from './validate.js';
import { yieldToEventLoop } from '../util/progress.js';

export interface TrainLoopOptions {
  loss: LossOptions;
  /** Texts per step. */
  batchSize: number;
  /** Length of the schedule (warmup + cosine decay to minLrFactor * lr). */
  steps: number;
  /** Stop once this many steps are done (<= steps); a later run can resume to `steps`. */
  stopAt: number;
  lr: number;
  warmupSteps: number;
  minLrFactor: number;
  /** Seed of the data order. */
  seed: number;
  /** Validate every K steps (and at the end); 0 = only at the end. */
  valEvery: number;
  /** Read back and report training metrics every K steps. */
  logEvery: number;
  /** Write the `last` snapshot every K steps (and at the end, and on interrupt). */
  checkpointEvery: number;
  /**
   * N curriculum: while step < `until`, train on the first `n` tokens of each window (text and
   * targets alike); stages in order of `until`, whole windows after the last. recon only.
   */
  curriculum?: readonly CurriculumStage[];
  /**
   * m as a trainable parameter [d] (`train --learn-m`), updated with the encoder; the optimizer must
   * hold it under LEARNED_M. Default: m is the fixed `mVec`.
   */
  learnedM?: tf.Variable;
  /** Where each step's gradients come from. Default: this thread (stepGradients); a GradientPool shares the batch among workers. */
  gradients?: GradientComputer;
}

/** Computes a batch's gradients, e.g. spread over worker threads (grad_pool.ts). */
export interface GradientComputer {
  /** Gradients of the mean loss of `examples` cut to `n` tokens, by parameter name, with the loss terms (the caller disposes both). */
  compute(examples: readonly EncoderExample[], n: number): Promise<StepGradients>;
}

export interface CurriculumStage {
  n: number;
  until: number;
}

/** Tokens per window at `step` (0-based): the first stage not yet over, else the whole window. */
export function curriculumLength(stages: readonly CurriculumStage[] | undefined, step: number, N: number): number {
  const stage = [...(stages ?? [])].sort((a, b) => a.until - b.until).find((s) => step < s.until);
  return Math.min(stage?.n ?? N, N);
}

export interface TrainHooks {
  /** Training scalars at log steps: loss, recon, distill, token_accuracy, lr, grad_norm, windows_per_sec. */
  onLog?: (step: number, scalars: Record<string, number>) => void | Promise<void>;
  onValidate?: (step: number, metrics: ValMetrics, isBest: boolean) => void | Promise<void>;
  /** Persist a snapshot; `state` is what a resumed run continues from. */
  save: (kind: 'last' | 'best', state: TrainState) => Promise<void>;
  /** Checked before each step: true saves `last` and returns (resumable). */
  shouldStop?: () => boolean;
}

export interface TrainOutcome {
  step: number;
  interrupted: boolean;
  best: TrainState['best'];
  lastVal: ValMetrics | null;
  seconds: number;
  /** CPU seconds of the whole run so far, every thread and earlier invocations included. */
  cpuSeconds: number;
}

/** Validation score: higher is better (token accuracy first, then lower loss). */
export function valScore(v: ValMetrics): number {
  return v.tokenAccuracy - 1e-6 * v.reconLoss;
}

export async function trainLoop(
  encoder: ProtoEncoder,
  lm: CausalLM,
  mVec: Float32Array,
  /** `train`: a source (streamed or in memory), or the examples, drawn in memory from `opts.seed` and `resume`. */
  data: { train: ExampleSource | readonly EncoderExample[]; val: readonly EncoderExample[] },
  optimizer: EncoderOptimizer,
  opts: TrainLoopOptions,
  hooks: TrainHooks,
  resume: TrainState | null = null,
): Promise<TrainOutcome> {
  const d = lm.config.hiddenSize;
  // A source handed in is the caller's (already positioned at resume.data); one made here is ours.
  const source = isExampleSource(data.train) ? data.train : memorySource(data.train, opts.seed, resume?.data);
  let step = resume?.step ?? 0;
  let best = resume?.best ?? null;
  let lastVal: ValMetrics | null = null;
  const priorSeconds = resume?.seconds ?? 0;
  const started = Date.now();
  const seconds = (): number => priorSeconds + (Date.now() - started) / 1000;
  // The process's CPU time (data-parallel worker threads included): what a run costs, whatever else the machine does.
  const priorCpu = resume?.cpuSeconds ?? 0;
  const cpuStart = process.cpuUsage();
  const cpuSeconds = (): number => {
    const u = process.cpuUsage(cpuStart);
    return priorCpu + (u.user + u.system) / 1e6;
  };
  const state = (): TrainState => ({ step, data: source.state(), best, seconds: seconds(), cpuSeconds: cpuSeconds() });
  const trainable: [string, tf.Variable][] = [...encoder.variables].filter(([, v]) => v.trainable);
  // A learned m is one more parameter of the step (and of the optimizer); a fixed one a constant.
  const m: tf.Tensor = opts.learnedM ?? tf.tensor2d(mVec, [1, d]);
  if (opts.learnedM) trainable.push([LEARNED_M, opts.learnedM]);
  // Running sums on the backend since the last log: [loss, recon, distill, hit fraction, grad norm].
  let sums: tf.Tensor1D = tf.zeros([5]);
  let sinceLog = 0;
  // Examples since the last log: a streamed epoch's last batch can be shorter than batchSize.
  let windowsSinceLog = 0;
  let logClock = Date.now();

  const runValidation = async (): Promise<void> => {
    if (data.val.length === 0) return;
    const m2 = m.rank === 1 ? tf.reshape(m, [1, d]) as tf.Tensor2D : m as tf.Tensor2D;
    try {
      lastVal = await validate(encoder, lm, m2, data.val);
    } finally {
      if (m2 !== m) m2.dispose();
    }
    const score = valScore(lastVal);
    const isBest = !best || score > best.value;
    if (isBest) best = { value: score, step };
    await hooks.onValidate?.(step, lastVal, isBest);
    if (isBest) await hooks.save('best', state());
  };

  try {
    while (step < opts.stopAt) {
      await yieldToEventLoop(); // so a signal handler can run and set shouldStop
      if (hooks.shouldStop?.()) {
        await hooks.save('last', state());
        return { step, interrupted: true, best, lastVal, seconds: seconds(), cpuSeconds: cpuSeconds() };
      }
      const examples = await source.next(opts.batchSize);
      windowsSinceLog += examples.length;
      const n = curriculumLength(opts.curriculum, step, examples[0].ids.length);
      const lr = rateAt({ kind: 'warmup-cosine', warmup: Math.max(1, opts.warmupSteps), minFactor: opts.minLrFactor }, opts.lr, step + 1, opts.steps);
      const { grads: named, terms } = opts.gradients
        ? await opts.gradients.compute(examples, n)
        : stepGradients(encoder, lm, m, trainable, examples, n, opts.loss);
      const norm = optimizer.apply(named, lr);
      step++;
      const next = tf.tidy(() => tf.add(sums, tf.concat([terms, tf.reshape(norm, [1])])) as tf.Tensor1D);
      tf.dispose([sums, terms, norm]);
      sums = next;
      sinceLog++;

      if (step % opts.logEvery === 0 || step === opts.stopAt) {
        const s = await sums.data();
        const now = Date.now();
        await hooks.onLog?.(step, {
          loss: s[0] / sinceLog,
          ...(opts.loss.kind !== 'distill' ? { recon: s[1] / sinceLog, token_accuracy: s[3] / sinceLog } : {}),
          ...(opts.loss.kind !== 'recon' ? { distill: s[2] / sinceLog } : {}),
          lr,
          grad_norm: s[4] / sinceLog,
          windows_per_sec: windowsSinceLog / Math.max(1e-3, (now - logClock) / 1000),
          cpu_seconds: cpuSeconds(),
        });
        sums.dispose();
        sums = tf.zeros([5]);
        sinceLog = 0;
        windowsSinceLog = 0;
        logClock = now;
      }
      if (opts.valEvery > 0 && step % opts.valEvery === 0) await runValidation();
      if (step % opts.checkpointEvery === 0 && step < opts.stopAt) await hooks.save('last', state());
    }
    if (opts.valEvery === 0 || step % opts.valEvery !== 0) await runValidation();
    await hooks.save('last', state());
    return { step, interrupted: false, best, lastVal, seconds: seconds(), cpuSeconds: cpuSeconds() };
  } finally {
    sums.dispose();
    if (m !== opts.learnedM) m.dispose();
    if (source !== data.train) await source.close();
  }
}
