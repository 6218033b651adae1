/**
 * Paths between two solutions p1, p2 of one text through the frozen LM, on the backend.
 *
 * A path is a Bezier curve of degree n, phi(tau) = sum_j B_j^n(tau) Q_j with Q_0 = p1, Q_n = p2
 * and n - 1 trained control points in between: n = 2 is the paper's quadratic curve, n = 3 the
 * two-bend (cubic) fallback. With the control points evenly on the chord, Q_j = p1 + j/n (p2 - p1),
 * any degree is exactly the straight line (1-tau) p1 + tau p2, with the same parameterisation; so
 * the line is evaluated as the untrained curve and one evaluator serves every path.
 *
 * A solution is e when m is fixed (the datasets' m), or (e, m) side by side when m is per text:
 * then the path moves both, since two solutions of a text differ in both.
 *
 * All P pairs share one forward+backward: rows are pairs x taus. Only one scalar (the loss) comes
 * back per training step.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type AdamState, type AdamWOptions, adamState, adamwUpdate, disposeState } from '../solver/adamw.js';
import { type Arrangement, type Layout, checkPositions, layoutFor } from '../solver/arrangements.js';
import { lossAndGrads, scoreRows } from '../solver/step.js';
import { Prng } from '../util/prng.js';
import { yieldToEventLoop } from '../util/progress.js';

/** Degrees of the curves: 2 (one bend, the paper's) and 3 (two bends). */
export type CurveDegree = 2 | 3;

/** The fixed tensors of P pairs; `disposePairTensors` frees them. */
export interface PairTensors {
  /** [P, w]: w = d (e), or 2d (e then m) when m is per text. */
  p1: tf.Tensor2D;
  p2: tf.Tensor2D;
  targets: tf.Tensor2D; // [P, N] int32
  /** The fixed m, [1, d]; null when the arrangement has no m or m is per text. */
  m: tf.Tensor2D | null;
  /** Whether the second half of each point is its m. */
  perTextM: boolean;
  layout: Layout;
}

/**
 * Upload the endpoints (`p1`, `p2`: [P * w] row-major), targets ([P * N]) and m: a fixed m [d], or
 * null when m is per text (each endpoint is then e and m, w = 2d).
 */
export function pairTensors(lm: CausalLM, p1: Float32Array, p2: Float32Array, targets: Int32Array, m: Float32Array | null, N: number, arrangement: Arrangement): PairTensors {
  const d = lm.config.hiddenSize;
  const P = targets.length / N;
  checkPositions(arrangement, N, lm.config.maxPositions);
  const layout = layoutFor(arrangement, N);
  const perTextM = layout.usesM && m === null;
  const w = perTextM ? 2 * d : d;
  if (!Number.isInteger(P) || p1.length !== P * w || p2.length !== P * w || (m !== null && m.length !== d)) {
    throw new Error(`pairTensors: ${p1.length}/${p2.length} endpoint values, ${targets.length} targets and m of ${m?.length ?? 'per text'} do not fit d=${d}, N=${N}`);
  }
  return {
    p1: tf.tensor2d(p1, [P, w]),
    p2: tf.tensor2d(p2, [P, w]),
    targets: tf.tensor2d(targets, [P, N], 'int32'),
    m: layout.usesM && m !== null ? tf.tensor2d(m, [1, d]) : null,
    perTextM,
    layout,
  };
}

export function disposePairTensors(t: PairTensors): void {
  tf.dispose([t.p1, t.p2, t.targets]);
  t.m?.dispose();
}

/** The pairs `rows` of `t` as their own PairTensors (copies: dispose both). */
export function pairSubset(t: PairTensors, rows: readonly number[]): PairTensors {
  const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
  const out = { ...t, p1: tf.gather(t.p1, idx), p2: tf.gather(t.p2, idx), targets: tf.gather(t.targets, idx), m: t.m ? tf.clone(t.m) : null };
  idx.dispose();
  return out;
}

/**
 * The straight line as a degree-n curve: its n - 1 control points evenly on the chord, flattened
 * per pair: [P, (n-1) * w].
 */
export function lineControls(t: PairTensors, degree: CurveDegree): tf.Tensor2D {
  return tf.tidy(() => {
    const [P, w] = t.p1.shape;
    const diff = tf.sub(t.p2, t.p1);
    const points = Array.from({ length: degree - 1 }, (_, j) => tf.add(t.p1, tf.mul(diff, (j + 1) / degree))); // [P, w] each
    return tf.reshape(tf.stack(points, 1), [P, (degree - 1) * w]) as tf.Tensor2D;
  });
}

/**
 * The trained quadratic curves of `controls` [P, w] as cubic ones (degree elevation: the same
 * curves, Q1 = (p1 + 2 pi) / 3, Q2 = (2 pi + p2) / 3): [P, 2w]. The two-bend fallback starts there,
 * so its training can only bend the quadratic further.
 */
export function elevate(t: PairTensors, controls: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const twice = tf.mul(controls, 2);
    return tf.concat([tf.div(tf.add(t.p1, twice), 3), tf.div(tf.add(twice, t.p2), 3)], 1) as tf.Tensor2D;
  });
}

/** Bernstein weights B_j^n(tau) of every pair's taus (`taus` [P * T], pair-major): [P, T, n + 1]. */
function bernstein(n: number, taus: Float32Array, P: number): tf.Tensor3D {
  const T = taus.length / P;
  const w = new Float32Array(P * T * (n + 1));
  const binom = (k: number): number => (n === 3 ? [1, 3, 3, 1] : n === 2 ? [1, 2, 1] : [1, 1])[k];
  for (let r = 0; r < P * T; r++) {
    const tau = taus[r];
    for (let j = 0; j <= n; j++) w[r * (n + 1) + j] = binom(j) * tau ** j * (1 - tau) ** (n - j);
  }
  return tf.tensor3d(w, [P, T, n + 1]);
}

/** Every curve's n + 1 points Q_0..Q_n from its endpoints and controls [P, (n-1) * w]: [P, n + 1, w]. Inside a tidy. */
function controlPolygon(p1: tf.Tensor2D, controls: tf.Tensor2D, p2: tf.Tensor2D): tf.Tensor3D {
  const [P, w] = p1.shape;
  const inner = tf.reshape(controls, [P, controls.shape[1] / w, w]);
  return tf.concat([tf.expandDims(p1, 1), inner, tf.expandDims(p2, 1)], 1) as tf.Tensor3D;
}

/** Points phi(tau) of every pair at its T taus (`taus` [P * T], pair-major): [P * T, w]. Inside a tidy. */
function curvePoints(p1: tf.Tensor2D, controls: tf.Tensor2D, p2: tf.Tensor2D, taus: Float32Array): tf.Tensor2D {
  const polygon = controlPolygon(p1, controls, p2); // [P, n+1, w]
  const [P, n1, w] = polygon.shape;
  return tf.reshape(tf.matMul(bernstein(n1 - 1, taus, P), polygon), [taus.length, w]) as tf.Tensor2D; // [P*T, w]
}

/** What the LM is fed at points [R, w]: e, and m per row (per text; new slices) or the fixed m. */
function inputsAt(t: PairTensors, points: tf.Tensor2D): { e: tf.Tensor2D; m: tf.Tensor2D | null } {
  if (!t.perTextM) return { e: points, m: t.m };
  const [R, w] = points.shape;
  return { e: tf.slice(points, [0, 0], [R, w / 2]), m: tf.slice(points, [0, w / 2], [R, w / 2]) };
}

/** Each pair's targets repeated for its T taus: [P, N] -> [P * T, N]. Inside a tidy. */
function repeatTargets(targets: tf.Tensor2D, T: number): tf.Tensor2D {
  const [P, N] = targets.shape;
  return tf.reshape(tf.tile(tf.expandDims(targets, 1), [1, T, 1]), [P * T, N]) as tf.Tensor2D; // [P*T, N]
}

/** How the control points are trained. */
export interface ControlPointOptions {
  /** AdamW updates. Default 200. */
  steps: number;
  /**
   * taus drawn per pair and step, stratified (one uniform draw in each of [k/T, (k+1)/T)), so
   * rows per step = pairs x this. Default 8.
   */
  tausPerStep: number;
  /**
   * Default lr 0.01, betas (0.9, 0.999), eps 1e-8 and no weight decay: decay would pull the
   * control points towards the origin, which means nothing here.
   */
  adamw: AdamWOptions;
  /** Seed of the tau draws (our PRNG, so a seed reproduces a run on every backend). Default 0. */
  seed: number;
  /** After each step: its number (1-based) and the loss estimate, mean over pairs of E_tau[summed CE]. Default none. */
  onStep?: (step: number, loss: number) => void;
  /** Checked before each step; true stops training (the points so far are returned). Default none. */
  shouldStop?: () => boolean;
}

export const CONTROL_POINT_DEFAULTS: ControlPointOptions = {
  steps: 200,
  tausPerStep: 8,
  adamw: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  seed: 0,
};

/**
 * Train the control points of every pair's degree-n curve on sum over pairs of
 * E_{tau ~ U[0,1]} [summed cross-entropy at phi(tau)], starting from `start` (controls of this
 * degree; copied) or else on the chord (the line). Returns the controls [P, (n-1) * w] (the caller
 * disposes them).
 */
export async function trainControlPoints(
  lm: CausalLM,
  t: PairTensors,
  degree: CurveDegree,
  options: Partial<ControlPointOptions> = {},
  start: tf.Tensor2D | null = null,
): Promise<{ controls: tf.Tensor2D; steps: number; interrupted: boolean }> {
  const opts: ControlPointOptions = { ...CONTROL_POINT_DEFAULTS, ...options };
  const [P, w] = t.p1.shape;
  const T = opts.tausPerStep;
  const rng = new Prng(opts.seed);
  let state: AdamState = adamState(start ? tf.clone(start) : lineControls(t, degree));
  const targets = tf.tidy(() => repeatTargets(t.targets, T)); // [P*T, N]
  let step = 0;
  let interrupted = false;
  try {
    while (step < opts.steps) {
      await yieldToEventLoop(); // so a Ctrl-C handler can run
      if (opts.shouldStop?.()) {
        interrupted = true;
        break;
      }
      const taus = new Float32Array(P * T);
      for (let i = 0; i < P * T; i++) taus[i] = ((i % T) + rng.uniform()) / T;
      const points = tf.tidy(() => curvePoints(t.p1, state.param, t.p2, taus)); // [P*T, w]
      const x = inputsAt(t, points);
      const g = lossAndGrads(lm, t.layout, targets, x.e, x.m, t.perTextM);
      // The loss is linear in each point's CE, so d/dQ_j = sum over its taus of B_j(tau) dCE/dphi(tau), / T for the mean.
      const [grad, loss] = tf.tidy(() => {
        const gPoints = t.perTextM ? tf.concat([g.gradE, g.gradM as tf.Tensor2D], 1) : g.gradE; // [P*T, w]
        const all = tf.matMul(bernstein(degree, taus, P), tf.reshape(gPoints, [P, T, w]), true, false); // [P, n+1, w]
        const inner = tf.slice(all, [0, 1, 0], [P, degree - 1, w]);
        return [tf.div(tf.reshape(inner, [P, (degree - 1) * w]), T) as tf.Tensor2D, tf.div(tf.sum(g.rowLoss), P * T)];
      });
      tf.dispose([points, g.gradE, g.rowLoss, g.hits]);
      if (t.perTextM) tf.dispose([x.e, x.m as tf.Tensor2D]);
      g.gradM?.dispose();
      step++;
      const next = adamwUpdate(state, grad, new Array<number>(P).fill(step), opts.adamw);
      disposeState(state);
      state = next;
      grad.dispose();
      const value = (await loss.data())[0];
      loss.dispose();
      opts.onStep?.(step, value);
    }
  } catch (err) {
    disposeState(state);
    throw err;
  } finally {
    targets.dispose();
  }
  tf.dispose([state.m1, state.m2]);
  return { controls: state.param, steps: step, interrupted };
}

/** Token accuracy and summed cross-entropy at every (pair, tau) of a grid: [P * G] each, pair-major. */
export interface PathValues {
  accuracy: Float32Array;
  loss: Float32Array;
}

/**
 * Evaluate every pair's curve with controls [P, (n-1) * w] at every tau of `grid` (the same G taus
 * for every pair), `maxRows` rows (pairs x taus) per forward. One download of [rows, 2] per forward.
 */
export async function evaluatePath(lm: CausalLM, t: PairTensors, controls: tf.Tensor2D, grid: Float32Array, maxRows = 512): Promise<PathValues> {
  const [P, N] = t.targets.shape;
  const G = grid.length;
  const per = Math.max(1, Math.floor(maxRows / G));
  const accuracy = new Float32Array(P * G);
  const loss = new Float32Array(P * G);
  for (let s = 0; s < P; s += per) {
    const c = Math.min(per, P - s);
    const taus = new Float32Array(c * G);
    for (let i = 0; i < c; i++) taus.set(grid, i * G);
    const packed = tf.tidy(() => {
      const rows = (x: tf.Tensor2D): tf.Tensor2D => tf.slice(x, [s, 0], [c, -1]); // [c, w|N]
      const x = inputsAt(t, curvePoints(rows(t.p1), rows(controls), rows(t.p2), taus)); // [c*G, d]
      const { nll, hits } = scoreRows(lm, t.layout, repeatTargets(rows(t.targets), G), x.e, x.m); // [c*G, N] each
      return tf.stack([tf.div(tf.sum(hits, 1), N), tf.sum(nll, 1)], 1); // [c*G, 2]
    });
    const host = await packed.data();
    packed.dispose();
    for (let r = 0; r < c * G; r++) {
      accuracy[s * G + r] = host[2 * r];
      loss[s * G + r] = host[2 * r + 1];
    }
  }
  return { accuracy, loss };
}

/**
 * Arc length of each pair's curve and of its straight line |p2 - p1|. The derivative of a degree-n
 * curve is the degree-(n-1) curve of D_j = n (Q_{j+1} - Q_j), so |phi'(tau)|^2 =
 * sum_ij B_i(tau) B_j(tau) <D_i, D_j>: only the n x n Gram matrix of each pair comes back, and the
 * integral is Simpson's rule on `intervals` (even) steps.
 */
export async function arcLengths(t: PairTensors, controls: tf.Tensor2D, intervals = 1024): Promise<{ curve: number[]; line: number[] }> {
  const [P, w] = t.p1.shape;
  const n = controls.shape[1] / w + 1;
  const packed = tf.tidy(() => {
    const q = controlPolygon(t.p1, controls, t.p2); // [P, n+1, w]
    const diffs = tf.mul(n, tf.sub(tf.slice(q, [0, 1, 0], [P, n, w]), tf.slice(q, [0, 0, 0], [P, n, w]))); // [P, n, w]
    const gram = tf.reshape(tf.matMul(diffs, diffs, false, true), [P, n * n]); // [P, n*n]
    const chord = tf.sum(tf.square(tf.sub(t.p2, t.p1)), 1, true); // [P, 1]
    return tf.concat([gram, chord], 1); // [P, n*n + 1]
  });
  const host = await packed.data();
  packed.dispose();
  const width = n * n + 1;
  const basis = (x: number): number[] => Array.from({ length: n }, (_, j) => (n === 3 ? [1, 2, 1][j] : 1) * x ** j * (1 - x) ** (n - 1 - j));
  const curve: number[] = [];
  const line: number[] = [];
  for (let p = 0; p < P; p++) {
    const gram = host.subarray(p * width, p * width + n * n);
    const speed = (x: number): number => {
      const b = basis(x);
      let s = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += b[i] * b[j] * gram[i * n + j];
      return Math.sqrt(Math.max(0, s));
    };
    let sum = speed(0) + speed(1);
    for (let i = 1; i < intervals; i++) sum += (i % 2 === 1 ? 4 : 2) * speed(i / intervals);
    curve.push(sum / (3 * intervals));
    line.push(Math.sqrt(host[p * width + n * n]));
  }
  return { curve, line };
}
