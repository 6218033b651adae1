/**
 * The solver for one trainable m shared by a group of texts (the paper's shared-m setting, and
 * how `fit-m` learns a universal m). Moving m can break texts that were already solved, so no
 * text leaves early: the whole group stays in the loss until every text is solved at the same
 * forward pass or the budget ends, and accuracy is reported from the final pass.
 *
 * Groups larger than `batchSize` are processed in chunks; m's gradient is summed over chunks before
 * its single update, so this is exact full-group gradient descent with bounded memory.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type AdamState, adamState, adamwUpdate, disposeState } from './adamw.js';
import { checkPositions, layoutFor } from './arrangements.js';
import { initialRow, rowSeed } from './init.js';
import { rateAt } from './schedule.js';
import { lossAndGrads, rowMetrics } from './step.js';
import type { SolveHooks, SolveResult, SolverOptions, SolveTarget } from './types.js';
import { Prng, deriveSeed } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';
import { yieldToEventLoop } from '../util/progress.js';

export interface SharedMRun {
  /** The learned m [d]. */
  m: Float32Array;
  /** Per text, from the final forward pass (steps = group steps). */
  results: SolveResult[];
  /** Group updates applied. */
  steps: number;
  allSolved: boolean;
  interrupted: boolean;
}

/** Jointly optimise per-text e and one shared m over `targets` (all of one length N). */
export async function solveSharedM(
  lm: CausalLM,
  targets: readonly SolveTarget[],
  opts: Omit<SolverOptions, 'm' | 'restarts'>,
  hooks: Pick<SolveHooks, 'shouldStop'> & { onStep?: (s: { step: number; solved: number; loss: number }) => void } = {},
): Promise<SharedMRun> {
  const d = lm.config.hiddenSize;
  if (targets.length === 0) throw new PrototokenError('there are no texts to fit m on', { fix: 'check --texts and --limit' });
  const N = targets[0].ids.length;
  const layout = layoutFor(opts.arrangement, N);
  if (!layout.usesM) throw new PrototokenError(`arrangement "${opts.arrangement}" has no m to share`, { fix: 'use e-m, e-mN, half or alt' });
  checkPositions(opts.arrangement, N, lm.config.maxPositions);
  const started = Date.now();
  const seeds = targets.map((t) => rowSeed(opts.seed, t.id, 0));
  const chunks: { rows: number[]; e: AdamState; targets: tf.Tensor2D }[] = [];
  for (let s = 0; s < targets.length; s += opts.batchSize) {
    const rows = [...Array(Math.min(opts.batchSize, targets.length - s)).keys()].map((i) => s + i);
    const e = new Float32Array(rows.length * d);
    rows.forEach((r, i) => e.set(initialRow(opts.init, d, targets[r].id, seeds[r], false).e, i * d));
    const ids = new Int32Array(rows.length * N);
    rows.forEach((r, i) => ids.set(Array.from(targets[r].ids), i * N));
    chunks.push({ rows, e: adamState(tf.tensor2d(e, [rows.length, d])), targets: tf.tensor2d(ids, [rows.length, N], 'int32') });
  }
  const mInit = new Prng(deriveSeed(opts.seed, 0x6d5f)).normals(d, opts.init.kind === 'scaled' ? opts.init.scale : 1);
  let m = adamState(tf.tensor2d(mInit, [1, d]));

  let step = 0;
  let interrupted = false;
  let final: { hits: Float32Array; losses: Float32Array; e: Float32Array } | null = null;
  try {
    for (;;) {
      await yieldToEventLoop(); // so a signal handler can run and set shouldStop
      if (hooks.shouldStop?.()) {
        interrupted = true;
      }
      // Pass 1: every chunk's forward+backward at the current parameters.
      const hits = new Float32Array(targets.length * N);
      const losses = new Float32Array(targets.length);
      const grads: tf.Tensor2D[] = [];
      let gradM: tf.Tensor2D | null = null;
      for (const c of chunks) {
        const r = lossAndGrads(lm, layout, c.targets, c.e.param, m.param, true);
        const packed = tf.tidy(() => tf.concat([r.hits, tf.expandDims(r.rowLoss, 1)], 1)); // [R, N+1]
        const host = await packed.data();
        tf.dispose([packed, r.hits, r.rowLoss]);
        c.rows.forEach((row, i) => {
          hits.set(host.subarray(i * (N + 1), i * (N + 1) + N), row * N);
          losses[row] = host[i * (N + 1) + N];
        });
        grads.push(r.gradE);
        const gm = r.gradM as tf.Tensor2D;
        if (gradM) {
          const sum = tf.add(gradM, gm) as tf.Tensor2D;
          tf.dispose([gradM, gm]);
          gradM = sum;
        } else {
          gradM = gm;
        }
      }
      let solved = 0;
      for (let r = 0; r < targets.length; r++) if (rowMetrics(hits, r, N).accuracy >= opts.stopAccuracy) solved++;
      hooks.onStep?.({ step, solved, loss: losses.reduce((a, b) => a + b, 0) });
      if (solved === targets.length || step >= opts.maxSteps || interrupted) {
        const e = new Float32Array(targets.length * d);
        for (const c of chunks) {
          const data = await c.e.param.data();
          c.rows.forEach((row, i) => e.set(data.subarray(i * d, (i + 1) * d), row * d));
        }
        final = { hits, losses, e };
        tf.dispose([...grads, gradM as tf.Tensor2D]);
        break;
      }
      // Pass 2: apply the updates (e per chunk, then m once with the summed gradient).
      step++;
      const lr = rateAt(opts.schedule, opts.adamw.lr, step, opts.maxSteps);
      chunks.forEach((c, i) => {
        const next = adamwUpdate(c.e, grads[i], new Array<number>(c.rows.length).fill(step), opts.adamw, lr);
        disposeState(c.e);
        c.e = next;
      });
      const nextM = adamwUpdate(m, gradM as tf.Tensor2D, [step], opts.adamw, lr);
      disposeState(m);
      m = nextM;
      tf.dispose([...grads, gradM as tf.Tensor2D]);
    }
    const mHost = Float32Array.from(await m.param.data());
    const seconds = (Date.now() - started) / 1000;
    const results: SolveResult[] = targets.map((t, r) => {
      const metrics = rowMetrics(final!.hits, r, N);
      return {
        id: t.id,
        targetIndex: r,
        restart: 0,
        seed: seeds[r],
        e: final!.e.slice(r * d, (r + 1) * d),
        m: null,
        steps: step,
        loss: final!.losses[r],
        seconds,
        solved: metrics.accuracy >= opts.stopAccuracy,
        ...metrics,
      };
    });
    return { m: mHost, results, steps: step, allSolved: results.every((r) => r.solved), interrupted };
  } finally {
    for (const c of chunks) {
      disposeState(c.e);
      c.targets.dispose();
    }
    disposeState(m);
  }
}
