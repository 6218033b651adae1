/**
 * The encoder training loop: batches in a seeded, resumable order; one forward+backward through
 * the encoder (and, for recon, the frozen LM) per step; AdamW with warmup + cosine and clipping;
 * validation every K steps; snapshots through the caller's `save`. Per step nothing is downloaded;
 * the running sums of the loss terms are read back only at log steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { rateAt } from '../solver/schedule.js';
import { type EncoderExample, disposeBatch, toBatch } from './batch.js';
import type { TrainState } from './checkpoint.js';
import { type LossOptions, encoderLoss } from './losses.js';
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
  const state = (): TrainState => ({ step, data: source.state(), best, seconds: seconds() });
  const trainable = [...encoder.variables].filter(([, v]) => v.trainable);
  const byTfName = new Map(trainable.map(([name, v]) => [v.name, name]));
  const m = tf.tensor2d(mVec, [1, d]);
  // Running sums on the backend since the last log: [loss, recon, distill, hit fraction, grad norm].
  let sums: tf.Tensor1D = tf.zeros([5]);
  let sinceLog = 0;
  // Examples since the last log: a streamed epoch's last batch can be shorter than batchSize.
  let windowsSinceLog = 0;
  let logClock = Date.now();

  const runValidation = async (): Promise<void> => {
    if (data.val.length === 0) return;
    lastVal = await validate(encoder, lm, m, data.val);
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
        return { step, interrupted: true, best, lastVal, seconds: seconds() };
      }
      const examples = await source.next(opts.batchSize);
      windowsSinceLog += examples.length;
      const batch = toBatch(examples, d);
      const n = curriculumLength(opts.curriculum, step, batch.ids.shape[1]);
      if (n < batch.ids.shape[1]) {
        if (opts.loss.kind !== 'recon') throw new Error('an N curriculum trains on window prefixes, which have no solved e: use the recon loss');
        const whole = batch.ids;
        batch.ids = tf.slice(whole, [0, 0], [-1, n]); // [B, n]
        whole.dispose();
      }
      const lr = rateAt({ kind: 'warmup-cosine', warmup: Math.max(1, opts.warmupSteps), minFactor: opts.minLrFactor }, opts.lr, step + 1, opts.steps);
      let terms: tf.Tensor1D | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const eHat = encoder.apply(batch.ids, true, examples.map((x) => x.id));
        const t = encoderLoss(eHat, { lm, m, targets: batch.ids, e: batch.e }, opts.loss);
        const zero = tf.scalar(0);
        terms = tf.keep(tf.stack([t.total, t.recon ?? zero, t.distill ?? zero, t.hits ? tf.mean(t.hits) : zero]) as tf.Tensor1D);
        return t.total;
      }, trainable.map(([, v]) => v));
      value.dispose();
      const named = new Map(Object.entries(grads).map(([k, g]) => [byTfName.get(k) as string, g]));
      const norm = optimizer.apply(named, lr);
      step++;
      const t4 = terms as unknown as tf.Tensor1D;
      const next = tf.tidy(() => tf.add(sums, tf.concat([t4, tf.reshape(norm, [1])])) as tf.Tensor1D);
      tf.dispose([sums, t4, norm]);
      sums = next;
      sinceLog++;
      disposeBatch(batch);

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
    return { step, interrupted: false, best, lastVal, seconds: seconds() };
  } finally {
    sums.dispose();
    m.dispose();
    if (source !== data.train) await source.close();
  }
}
