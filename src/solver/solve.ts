/**
 * The batched solver for texts whose m is per text or fixed: a pool of (text, restart) rows.
 * Each step runs one forward+backward over the pool; rows that reach the stop accuracy (and, when
 * polishing, their polishing targets; see PolishOptions), or their step budget, or their patience,
 * leave, and queued rows take their places, so the batch never pays for finished texts. Only
 * [R, N+2] numbers (hits, row losses and smallest logit margins) come back per step.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type AdamState, adamwUpdate, concatRows, disposeState, gatherRows, keepRows } from './adamw.js';
import { checkPositions, layoutFor } from './arrangements.js';
import { initialRow, rowSeed } from './init.js';
import { lossAndGrads, rowMetrics } from './step.js';
import { NO_POLISH, polishes, type PartialText, type PolishOptions, type RowState, type SolveHooks, type SolveResult, type SolverCheckpoint, type SolverOptions, type SolveTarget } from './types.js';
import { learningRate } from './schedule.js';
import { PrototokenError } from '../util/errors.js';
import { yieldToEventLoop } from '../util/progress.js';

interface Row {
  target: number; // index into targets
  restart: number;
  seed: number;
  steps: number; // updates applied so far
  started: number; // ms timestamp
  bestLoss: number;
  sinceBest: number;
  /** Steps at the row's first solved pass; null until then (polishing since). */
  solvedAt: number | null;
  /**
   * While polishing: the row's latest pass at the stop accuracy, so a row that loses its text
   * again and then runs out of budget reports that pass, not an unsolved one. Not saved in
   * checkpoints (a resumed polishing row starts without one).
   */
  lastSolved?: SolveResult;
}

interface TextProgress {
  pending: number; // restarts not yet finished
  best: SolveResult | null;
  /** Restarts finished (folded into `best`), for a checkpoint. */
  finished: number[];
  /** Settled (emitted): its remaining restarts are dropped. */
  cancelled: boolean;
}

/**
 * Solve every target; results reach `hooks.onResults` text by text (best restart), in finishing
 * order, or restart by restart with `opts.keepAllRestarts`. Stopped by `hooks.shouldStop`, it
 * returns a checkpoint of the rows in flight; passed back as `opts.resumeFrom`, they continue from
 * their state (parameters, AdamW moments, step counts, patience), as if never stopped.
 */
export async function solveTexts(
  lm: CausalLM,
  targets: readonly SolveTarget[],
  opts: SolverOptions,
  hooks: SolveHooks = {},
): Promise<{ interrupted: boolean; checkpoint: SolverCheckpoint | null }> {
  const d = lm.config.hiddenSize;
  const N = checkTargets(lm, targets, opts);
  const layout = layoutFor(opts.arrangement, N);
  if (opts.m.kind === 'fixed' && opts.m.vector.length !== d) {
    throw new PrototokenError(`m has ${opts.m.vector.length} values but the model needs d=${d}`, { file: opts.m.source });
  }
  const perTextM = layout.usesM && opts.m.kind === 'per-text';
  const polish = opts.polish ?? NO_POLISH;
  const fixedM = layout.usesM && opts.m.kind === 'fixed' ? tf.tensor2d(opts.m.vector, [1, d]) : null;

  const saved = new Map((opts.resumeFrom?.rows ?? []).map((s) => [rowKey(s.id, s.restart), s]));
  const partial = new Map((opts.keepAllRestarts ? [] : opts.resumeFrom?.partial ?? []).map((p) => [p.id, p]));
  const queue: Row[] = [];
  // A text's restarts that finished before an interruption are not run again: their best is carried.
  const restartsOf = (t: SolveTarget): readonly number[] =>
    (t.restarts ?? [...Array(opts.restarts).keys()]).filter((r) => !partial.get(t.id)?.finished.includes(r));
  targets.forEach((t, i) => {
    for (const r of restartsOf(t)) {
      queue.push({ target: i, restart: r, seed: rowSeed(opts.seed, t.id, r), steps: 0, started: 0, bestLoss: Infinity, sinceBest: 0, solvedAt: null });
    }
  });
  const progress: TextProgress[] = targets.map((t, i) => {
    const carried = partial.get(t.id);
    return { pending: restartsOf(t).length, best: carried ? { ...carried.best, targetIndex: i } : null, finished: [...(carried?.finished ?? [])], cancelled: false };
  });
  let rows: Row[] = [];
  let eState: AdamState | null = null;
  let mState: AdamState | null = null;
  let targetIds: tf.Tensor2D | null = null;
  let interrupted = false;
  let checkpoint: SolverCheckpoint | null = null;

  try {
    while (rows.length > 0 || queue.length > 0) {
      await yieldToEventLoop(); // so a signal handler can run and set shouldStop
      if (hooks.shouldStop?.()) {
        interrupted = true;
        checkpoint = await checkpointOf(rows, targets, progress, eState, perTextM ? mState : null, d);
        // Rows resumed from an earlier stop that had not rejoined the pool yet keep their saved state.
        for (const row of queue) {
          const state = saved.get(rowKey(targets[row.target].id, row.restart));
          if (state && !progress[row.target].cancelled) checkpoint.rows.push(state);
        }
        break;
      }
      // Fill the pool.
      const joining: Row[] = [];
      while (rows.length + joining.length < opts.batchSize && queue.length > 0) {
        const row = queue.shift() as Row;
        if (progress[row.target].cancelled) continue;
        row.started = Date.now();
        joining.push(row);
      }
      if (joining.length > 0) {
        const starts = joining.map((r) => startOf(r, targets[r.target].id, saved.get(rowKey(targets[r.target].id, r.restart)), opts, d, perTextM));
        const eNew = stateOf(starts.map((s) => s.e), d);
        const mNew = perTextM ? stateOf(starts.map((s) => s.m as Moments), d) : null;
        const tNew = tf.tensor2d(concatRowsInto((n) => new Int32Array(n), joining.map((r) => targets[r.target].ids)), [joining.length, N], 'int32');
        [eState, mState, targetIds] = [append(eState, eNew), mNew ? append(mState, mNew) : null, appendTensor(targetIds, tNew)];
        rows = rows.concat(joining);
      }
      if (rows.length === 0) break;

      // Forward + backward; one download of hits and losses.
      const es = eState as AdamState;
      const mTensor = perTextM ? (mState as AdamState).param : fixedM;
      const step = lossAndGrads(lm, layout, targetIds as tf.Tensor2D, es.param, mTensor, perTextM, true);
      const rowMargin = step.rowMargin as tf.Tensor1D;
      const packed = tf.tidy(() => tf.concat([step.hits, tf.expandDims(step.rowLoss, 1), tf.expandDims(rowMargin, 1)], 1)); // [R, N+2]
      const host = await packed.data();
      packed.dispose();
      const hits = new Float32Array(rows.length * N);
      const losses = new Float32Array(rows.length);
      const margins = new Float32Array(rows.length);
      for (let r = 0; r < rows.length; r++) {
        hits.set(host.subarray(r * (N + 2), r * (N + 2) + N), r * N);
        losses[r] = host[r * (N + 2) + N];
        margins[r] = host[r * (N + 2) + N + 1];
      }

      // Decide who leaves (before the update: a solved row keeps the parameters that solved it).
      const leaving: number[] = [];
      const finished: SolveResult[] = [];
      let eHost: Float32Array | null = null;
      let mHost: Float32Array | null = null;
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r];
        const metrics = rowMetrics(hits, r, N);
        if (losses[r] < row.bestLoss - 1e-6 * Math.abs(row.bestLoss)) {
          row.bestLoss = losses[r];
          row.sinceBest = 0;
        } else {
          row.sinceBest++;
        }
        const solved = metrics.accuracy >= opts.stopAccuracy;
        if (solved) row.solvedAt ??= row.steps;
        const outOfBudget = row.steps >= opts.maxSteps || (opts.patience > 0 && row.sinceBest >= opts.patience);
        const done = solved && polished(polish, row.steps - (row.solvedAt as number), losses[r], margins[r]);
        const leaves = done || outOfBudget || progress[row.target].cancelled;
        // Only a polishing row at a solved pass needs its parameters now (kept in case it loses the text later).
        if (!leaves && !(solved && polishes(polish))) continue;
        eHost ??= (await es.param.data()) as Float32Array;
        if (perTextM) mHost ??= (await (mState as AdamState).param.data()) as Float32Array;
        const pass: SolveResult = {
          id: targets[row.target].id,
          targetIndex: row.target,
          restart: row.restart,
          seed: row.seed,
          e: eHost.slice(r * d, (r + 1) * d),
          m: mHost ? mHost.slice(r * d, (r + 1) * d) : null,
          steps: row.steps,
          loss: losses[r],
          margin: margins[r],
          polishSteps: row.solvedAt === null ? 0 : row.steps - row.solvedAt,
          seconds: (Date.now() - row.started) / 1000,
          solved,
          ...metrics,
        };
        if (!leaves) {
          row.lastSolved = pass;
          continue;
        }
        leaving.push(r);
        if (progress[row.target].cancelled) continue;
        finished.push(!solved && row.lastSolved ? { ...row.lastSolved, seconds: pass.seconds } : pass);
      }

      // Update the rows that stay (the leaving rows' update is computed but dropped below).
      const newE = adamwUpdate(es, step.gradE, stepsAfter(rows), opts.adamw, learningRate(opts, rows));
      disposeState(es);
      eState = newE;
      if (perTextM && step.gradM) {
        const newM = adamwUpdate(mState as AdamState, step.gradM, stepsAfter(rows), opts.adamw, learningRate(opts, rows));
        disposeState(mState);
        mState = newM;
      }
      tf.dispose([step.gradE, step.rowLoss, step.hits, rowMargin]);
      step.gradM?.dispose();
      for (const row of rows) row.steps++;

      if (leaving.length > 0) {
        const keepIdx = rows.map((_, i) => i).filter((i) => !leaving.includes(i));
        const keep = tf.tensor1d(keepIdx, 'int32');
        [eState, mState, targetIds] = [
          keepRows(eState, keep),
          mState ? keepRows(mState, keep) : null,
          gatherRows(targetIds as tf.Tensor2D, keep),
        ];
        keep.dispose();
        rows = keepIdx.map((i) => rows[i]);
      }
      const done = opts.keepAllRestarts ? finished : collect(finished, progress);
      if (done.length > 0) await hooks.onResults?.(done);
      hooks.onStep?.({ active: rows.length, queued: queue.length });
    }
  } finally {
    disposeState(eState);
    disposeState(mState);
    targetIds?.dispose();
    fixedM?.dispose();
  }
  return { interrupted, checkpoint };
}

/** Parameters of rows with their AdamW moments, [d] each. */
interface Moments {
  param: Float32Array;
  m1: Float32Array;
  m2: Float32Array;
}

function rowKey(id: string, restart: number): string {
  return `${id}\u0000${restart}`;
}

/**
 * Where a joining row starts: its saved state when an interrupted run left one for it (same seed:
 * the same row), else its initial draw with zero moments. A resumed row takes its steps, patience
 * and elapsed time along.
 */
function startOf(row: Row, id: string, state: RowState | undefined, opts: SolverOptions, d: number, perTextM: boolean): { e: Moments; m: Moments | null } {
  if (state && state.seed === row.seed && state.e.length === d && (state.m !== null) === perTextM) {
    row.steps = state.steps;
    row.bestLoss = state.bestLoss;
    row.sinceBest = state.sinceBest;
    row.solvedAt = state.solvedAt ?? null;
    row.started = Date.now() - state.seconds * 1000;
    return { e: { param: state.e, m1: state.eM1, m2: state.eM2 }, m: state.m };
  }
  const fresh = (v: Float32Array): Moments => ({ param: v, m1: new Float32Array(d), m2: new Float32Array(d) });
  const init = initialRow(opts.init, d, id, row.seed, perTextM);
  return { e: fresh(init.e), m: init.m ? fresh(init.m) : null };
}

function stateOf(rows: readonly Moments[], d: number): AdamState {
  const stack = (pick: (m: Moments) => Float32Array): tf.Tensor2D => tf.tensor2d(concatRowsInto((n) => new Float32Array(n), rows.map(pick)), [rows.length, d]);
  return { param: stack((m) => m.param), m1: stack((m) => m.m1), m2: stack((m) => m.m2) };
}

/** The checkpoint of a stopped run: every row in the pool, and the unsettled texts' finished restarts. */
async function checkpointOf(rows: readonly Row[], targets: readonly SolveTarget[], progress: readonly TextProgress[], e: AdamState | null, m: AdamState | null, d: number): Promise<SolverCheckpoint> {
  const host = async (s: AdamState | null): Promise<Moments | null> =>
    s ? { param: (await s.param.data()) as Float32Array, m1: (await s.m1.data()) as Float32Array, m2: (await s.m2.data()) as Float32Array } : null;
  const eh = await host(e);
  const mh = await host(m);
  const row = (h: Moments, r: number): Moments => ({ param: h.param.slice(r * d, (r + 1) * d), m1: h.m1.slice(r * d, (r + 1) * d), m2: h.m2.slice(r * d, (r + 1) * d) });
  const states: RowState[] = eh
    ? rows.filter((r) => !progress[r.target].cancelled).map((r) => {
      const i = rows.indexOf(r);
      const er = row(eh, i);
      return {
        id: targets[r.target].id, restart: r.restart, seed: r.seed, steps: r.steps, bestLoss: r.bestLoss, sinceBest: r.sinceBest, solvedAt: r.solvedAt,
        seconds: (Date.now() - r.started) / 1000, e: er.param, eM1: er.m1, eM2: er.m2, m: mh ? row(mh, i) : null,
      };
    })
    : [];
  const partial: PartialText[] = progress.flatMap((p, i) => (p.best && !p.cancelled ? [{ id: targets[i].id, finished: [...p.finished], best: p.best }] : []));
  return { rows: states, partial };
}

/**
 * Whether a row at a solved pass, `since` updates after its first one, has met every polishing
 * target (none given: at once, the paper's rule).
 */
function polished(p: PolishOptions, since: number, loss: number, margin: number): boolean {
  return since >= p.steps && (p.stopLoss === null || loss <= p.stopLoss) && (p.minMargin === null || margin >= p.minMargin);
}

/** Fold finished restarts into per-text bests; return the texts settled by this step. */
function collect(finished: SolveResult[], progress: TextProgress[]): SolveResult[] {
  const done: SolveResult[] = [];
  for (const res of finished) {
    const p = progress[res.targetIndex];
    if (p.cancelled) continue;
    p.pending--;
    p.finished.push(res.restart);
    if (!p.best || better(res, p.best)) p.best = res;
    // One solved restart settles the text: the others cannot beat 100% accuracy.
    if (res.solved || p.pending === 0) {
      done.push(p.best);
      p.cancelled = true;
    }
  }
  return done;
}

function better(a: SolveResult, b: SolveResult): boolean {
  return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.loss < b.loss);
}

function checkTargets(lm: CausalLM, targets: readonly SolveTarget[], opts: SolverOptions): number {
  if (targets.length === 0) throw new PrototokenError('there are no texts to solve', { fix: 'check --texts and --limit' });
  const N = targets[0].ids.length;
  for (const t of targets) {
    if (t.ids.length !== N) throw new Error(`solveTexts: every target must have N=${N} tokens; "${t.id}" has ${t.ids.length}`);
  }
  checkPositions(opts.arrangement, N, lm.config.maxPositions);
  return N;
}

function stepsAfter(rows: Row[]): number[] {
  return rows.map((r) => r.steps + 1);
}

function append(a: AdamState | null, b: AdamState): AdamState {
  if (!a) return b;
  const out = concatRows(a, b);
  disposeState(a);
  disposeState(b);
  return out;
}

function appendTensor(a: tf.Tensor2D | null, b: tf.Tensor2D): tf.Tensor2D {
  if (!a) return b;
  const out = tf.concat([a, b]);
  a.dispose();
  b.dispose();
  return out;
}

/** Concatenate row arrays into one typed array of the given kind. */
function concatRowsInto<T extends Float32Array | Int32Array>(make: (n: number) => T, parts: readonly ArrayLike<number>[]): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
