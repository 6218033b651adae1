/**
 * The solver for one trainable vector shared by a group of texts, the other vector being per
 * text: the paper's shared m (and how `fit-m` learns a universal m), and its converse, one e
 * shared by a group with m per text (the paper's sharing experiment). Moving a shared vector can
 * break texts that were already solved, so no text leaves early: a group stays in the loss until
 * every one of its texts is solved at the same forward pass or the budget ends, and accuracy is
 * reported from that final pass.
 *
 * Several groups run in one batch (consecutive targets of `groupSize`): their rows are independent
 * except through their own group's vector, so this is the same as solving each group alone, with
 * one forward+backward per step for all of them. A finished group leaves with the parameters of
 * its final pass. Rows are processed in chunks of `batchSize`; a group's gradient is summed over
 * the chunks before its single update, so this is exact full-group gradient descent with bounded
 * memory.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type AdamState, adamState, adamwUpdate, disposeState, keepRows } from './adamw.js';
import { type Arrangement, type Layout, checkPositions, layoutFor } from './arrangements.js';
import { type InitSpec, initialRow, rowSeed } from './init.js';
import { rateAt } from './schedule.js';
import { lossAndGrads, rowMetrics } from './step.js';
import { type SolveHooks, type SolveResult, type SolverOptions, type SolveTarget, polishes } from './types.js';
import { Prng, deriveSeed } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';
import { yieldToEventLoop } from '../util/progress.js';

/** Which of the two learned vectors a group shares; the other one is learned per text. */
export type SharedVector = 'e' | 'm';

/** A shared solve: the solver's settings (m is never fixed here, and restarts are separate runs) plus the grouping. */
export interface SharedSolveOptions extends Omit<SolverOptions, 'm' | 'restarts'> {
  /** The vector a group shares. Default 'm' (the paper's shared m, `fit-m`). */
  share?: SharedVector;
  /** Texts per group: consecutive targets, the last group may be smaller. Default: all targets are one group. */
  groupSize?: number;
}

export interface SharedRun {
  share: SharedVector;
  /** Per group (group g holds targets g*groupSize ...): its learned shared vector [d]. */
  shared: Float32Array[];
  /**
   * Per text in target order, from its group's final forward pass (steps = its group's updates).
   * Sharing m: `e` is the text's own and `m` is null. Sharing e: `e` is the group's e, `m` the text's own.
   */
  results: SolveResult[];
  /** The most updates any group took. */
  steps: number;
  allSolved: boolean;
  interrupted: boolean;
}

export interface SharedHooks extends Pick<SolveHooks, 'shouldStop'> {
  /** After every forward pass: texts at the stop accuracy, summed loss of the groups still running, texts whose group has finished. */
  onStep?: (s: { step: number; solved: number; loss: number; done: number }) => void;
}

/** Seed tags of the shared starts; group g uses tag + g, so group 0 keeps the start single-group runs always had. */
const SHARED_TAG: Record<SharedVector, number> = { m: 0x6d5f, e: 0x655f };

/** Refuse an arrangement without m (nothing to share one of) or an N that does not fit the model. */
export function checkShareable(arrangement: Arrangement, N: number, maxPositions: number): void {
  if (!layoutFor(arrangement, N).usesM) throw new PrototokenError(`arrangement "${arrangement}" has no m, so there is no e/m pair to share one of`, { fix: 'use e-m, e-mN, half or alt' });
  checkPositions(arrangement, N, maxPositions);
}

/** Jointly optimise per-text vectors and one shared vector per group over `targets` (all of one length N). */
export async function solveShared(lm: CausalLM, targets: readonly SolveTarget[], opts: SharedSolveOptions, hooks: SharedHooks = {}): Promise<SharedRun> {
  const d = lm.config.hiddenSize;
  const share = opts.share ?? 'm';
  if (targets.length === 0) throw new PrototokenError('there are no texts to solve', { fix: 'check --texts and --limit' });
  const S = opts.groupSize ?? targets.length;
  if (!Number.isInteger(S) || S < 1) throw new PrototokenError(`the group size must be a whole number >= 1, got ${S}`);
  const N = targets[0].ids.length;
  if (targets.some((t) => t.ids.length !== N)) throw new Error(`solveShared: every target must have N=${N} tokens`);
  checkShareable(opts.arrangement, N, lm.config.maxPositions);
  if (polishes(opts.polish)) {
    // A group's texts leave together at one pass; going on would move the shared vector under texts already polished.
    throw new PrototokenError('polishing (--polish-steps, --stop-loss, --min-margin) is for texts solved with m per text or a fixed m; a shared vector is solved for its whole group at once', {
      fix: 'drop the polishing flags here, or solve with `prototoken solve` (with --m FILE for a fixed m) to polish',
    });
  }
  const layout = layoutFor(opts.arrangement, N);
  const started = Date.now();
  const G = Math.ceil(targets.length / S);
  const seeds = targets.map((t) => rowSeed(opts.seed, t.id, 0));

  // Rows still running, as target indices, and each one's group among the groups still running.
  let rows = targets.map((_, i) => i);
  let groups = [...Array(G).keys()];
  let localGroup = Int32Array.from(rows, (r) => Math.floor(r / S));
  const own = new Float32Array(targets.length * d);
  targets.forEach((t, r) => {
    const start = initialRow(opts.init, d, t.id, seeds[r], share === 'e');
    own.set(share === 'e' ? (start.m as Float32Array) : start.e, r * d);
  });
  const sharedInit = new Float32Array(G * d);
  for (let g = 0; g < G; g++) sharedInit.set(sharedStart(opts.init, share, deriveSeed(opts.seed, SHARED_TAG[share] + g), d), g * d);
  const ids = new Int32Array(targets.length * N);
  targets.forEach((t, r) => ids.set(Array.from(t.ids), r * N));

  let ownState: AdamState = adamState(tf.tensor2d(own, [targets.length, d])); // [R, d]
  let sharedState: AdamState = adamState(tf.tensor2d(sharedInit, [G, d])); // [G, d]
  let targetIds: tf.Tensor2D = tf.tensor2d(ids, [targets.length, N], 'int32'); // [R, N]
  const results: SolveResult[] = new Array<SolveResult>(targets.length);
  const sharedOut: Float32Array[] = new Array<Float32Array>(G);
  let step = 0;
  let done = 0;
  let solvedLeft = 0; // solved texts of groups that have finished
  let interrupted = false;
  try {
    for (;;) {
      await yieldToEventLoop(); // so a signal handler can run and set shouldStop
      if (hooks.shouldStop?.()) interrupted = true;
      const pass = await forwardBackward(lm, layout, share, ownState, sharedState, targetIds, localGroup, groups.length, opts.batchSize);
      const solvedRow = rows.map((_, i) => rowMetrics(pass.hits, i, N).accuracy >= opts.stopAccuracy);
      const finishing = groups.map((_, gi) => interrupted || step >= opts.maxSteps || rows.every((_r, i) => localGroup[i] !== gi || solvedRow[i]));
      if (finishing.some((f) => f)) {
        const ownHost = await ownState.param.data();
        const sharedHost = await sharedState.param.data();
        const seconds = (Date.now() - started) / 1000;
        groups.forEach((g, gi) => {
          if (finishing[gi]) sharedOut[g] = Float32Array.from(sharedHost.subarray(gi * d, (gi + 1) * d));
        });
        rows.forEach((r, i) => {
          const gi = localGroup[i];
          if (!finishing[gi]) return;
          const mine = Float32Array.from(ownHost.subarray(i * d, (i + 1) * d));
          const metrics = rowMetrics(pass.hits, i, N);
          results[r] = {
            id: targets[r].id,
            targetIndex: r,
            restart: 0,
            seed: seeds[r],
            e: share === 'e' ? sharedOut[groups[gi]] : mine,
            m: share === 'e' ? mine : null,
            steps: step,
            loss: pass.losses[i],
            margin: pass.margins[i],
            polishSteps: 0,
            seconds,
            solved: solvedRow[i],
            ...metrics,
          };
          done++;
        });
      }
      hooks.onStep?.({ step, solved: solvedLeft + solvedRow.filter((x) => x).length, loss: pass.losses.reduce((a, b) => a + b, 0), done });
      if (finishing.every((f) => f)) {
        tf.dispose([pass.gradOwn, pass.gradShared]);
        break;
      }
      // Update every row (a finishing group's update is computed, then dropped with its rows).
      step++;
      const lr = rateAt(opts.schedule, opts.adamw.lr, step, opts.maxSteps);
      const nextOwn = adamwUpdate(ownState, pass.gradOwn, new Array<number>(rows.length).fill(step), opts.adamw, lr);
      const nextShared = adamwUpdate(sharedState, pass.gradShared, new Array<number>(groups.length).fill(step), opts.adamw, lr);
      tf.dispose([pass.gradOwn, pass.gradShared]);
      disposeState(ownState);
      disposeState(sharedState);
      [ownState, sharedState] = [nextOwn, nextShared];
      if (finishing.some((f) => f)) {
        solvedLeft += rows.filter((_r, i) => finishing[localGroup[i]] && solvedRow[i]).length;
        const keepRowIdx = rows.map((_, i) => i).filter((i) => !finishing[localGroup[i]]);
        const keepGroups = groups.map((_, gi) => gi).filter((gi) => !finishing[gi]);
        const renumber = new Map(keepGroups.map((gi, k) => [gi, k]));
        [ownState, sharedState, targetIds] = [keepRows(ownState, keepRowIdx), keepRows(sharedState, keepGroups), selectTensor(targetIds, keepRowIdx)];
        localGroup = Int32Array.from(keepRowIdx, (i) => renumber.get(localGroup[i]) as number);
        rows = keepRowIdx.map((i) => rows[i]);
        groups = keepGroups.map((gi) => groups[gi]);
      }
    }
    return { share, shared: sharedOut, results, steps: step, allSolved: results.every((r) => r.solved), interrupted };
  } finally {
    disposeState(ownState);
    disposeState(sharedState);
    targetIds.dispose();
  }
}

/** One forward+backward over all running rows, chunk by chunk; the shared gradient is summed per group. */
async function forwardBackward(
  lm: CausalLM,
  layout: Layout,
  share: SharedVector,
  own: AdamState,
  shared: AdamState,
  targetIds: tf.Tensor2D,
  localGroup: Int32Array,
  groups: number,
  batchSize: number,
): Promise<{ hits: Float32Array; losses: Float32Array; margins: Float32Array; gradOwn: tf.Tensor2D; gradShared: tf.Tensor2D }> {
  const [R, N] = targetIds.shape;
  const d = own.param.shape[1];
  const hits = new Float32Array(R * N);
  const losses = new Float32Array(R);
  const margins = new Float32Array(R);
  const ownGrads: tf.Tensor2D[] = [];
  let gradShared: tf.Tensor2D | null = null;
  for (let s = 0; s < R; s += batchSize) {
    const n = Math.min(batchSize, R - s);
    const gid = tf.tensor1d(localGroup.subarray(s, s + n), 'int32'); // [n]
    const mine = tf.slice(own.param, [s, 0], [n, d]); // [n, d]
    const theirs = tf.gather(shared.param, gid); // [n, d]: each row's group vector
    const chunkIds = tf.slice(targetIds, [s, 0], [n, N]); // [n, N]
    const r = share === 'e' ? lossAndGrads(lm, layout, chunkIds, theirs, mine, true, true) : lossAndGrads(lm, layout, chunkIds, mine, theirs, true, true);
    const [gOwn, gRows] = share === 'e' ? [r.gradM as tf.Tensor2D, r.gradE] : [r.gradE, r.gradM as tf.Tensor2D];
    const rowMargin = r.rowMargin as tf.Tensor1D;
    const packed = tf.tidy(() => tf.concat([r.hits, tf.expandDims(r.rowLoss, 1), tf.expandDims(rowMargin, 1)], 1)); // [n, N+2]
    const host = await packed.data();
    for (let i = 0; i < n; i++) {
      hits.set(host.subarray(i * (N + 2), i * (N + 2) + N), (s + i) * N);
      losses[s + i] = host[i * (N + 2) + N];
      margins[s + i] = host[i * (N + 2) + N + 1];
    }
    const chunkShared = tf.unsortedSegmentSum(gRows, gid, groups); // [G, d]
    ownGrads.push(gOwn);
    if (gradShared) {
      const sum: tf.Tensor2D = tf.add(gradShared, chunkShared);
      tf.dispose([gradShared, chunkShared]);
      gradShared = sum;
    } else {
      gradShared = chunkShared;
    }
    tf.dispose([packed, r.hits, r.rowLoss, rowMargin, gRows, gid, mine, theirs, chunkIds]);
  }
  const gradOwn = ownGrads.length === 1 ? ownGrads[0] : tf.concat(ownGrads); // [R, d]
  if (ownGrads.length > 1) tf.dispose(ownGrads);
  return { hits, losses, margins, gradOwn, gradShared: gradShared as tf.Tensor2D };
}

/**
 * The start of one group's shared vector. A shared e starts like a text's e would (so `--init
 * FILE` applies to it); a shared m starts N(0,1), scaled like e under `--init scaled`.
 */
function sharedStart(init: InitSpec, share: SharedVector, seed: number, d: number): Float32Array {
  if (share === 'm') return new Prng(seed).normals(d, init.kind === 'scaled' ? init.scale : 1);
  if (init.kind === 'perText') {
    throw new PrototokenError('a shared e has one start per group, but this --init gives one per text', {
      file: init.source,
      fix: 'use --init normal, scaled, embed-std or a .safetensors file with one vector "e"',
    });
  }
  return initialRow(init, d, '', seed, false).e;
}

function selectTensor(t: tf.Tensor2D, indices: number[]): tf.Tensor2D {
  const out = tf.tidy(() => tf.gather(t, tf.tensor1d(indices, 'int32')));
  t.dispose();
  return out;
}
