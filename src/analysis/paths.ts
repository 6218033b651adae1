/**
 * Paths between two solutions p1, p2 (the e of one text) through the frozen LM, on the backend.
 *
 * A quadratic Bezier curve phi(tau) = (1-tau)^2 p1 + 2 tau (1-tau) pi + tau^2 p2 with its control
 * point pi at the midpoint is exactly the straight line (1-tau) p1 + tau p2, with the same
 * parameterisation; so the line is evaluated as the untrained curve and one evaluator serves both.
 *
 * All P pairs share one forward+backward: rows are pairs x taus. m is fixed (the datasets' m).
 * Only one scalar (the loss) comes back per training step.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type AdamState, type AdamWOptions, adamState, adamwUpdate, disposeState } from '../solver/adamw.js';
import { type Arrangement, type Layout, checkPositions, layoutFor } from '../solver/arrangements.js';
import { lossAndGrads, scoreRows } from '../solver/step.js';
import { Prng } from '../util/prng.js';
import { yieldToEventLoop } from '../util/progress.js';

/** The fixed tensors of P pairs; `disposePairTensors` frees them. */
export interface PairTensors {
  p1: tf.Tensor2D; // [P, d]
  p2: tf.Tensor2D; // [P, d]
  targets: tf.Tensor2D; // [P, N] int32
  m: tf.Tensor2D | null; // [1, d], null when the arrangement has no m
  layout: Layout;
}

/** Upload the endpoints (`p1`, `p2`: [P * d] row-major), targets ([P * N]) and m ([d]). */
export function pairTensors(lm: CausalLM, p1: Float32Array, p2: Float32Array, targets: Int32Array, m: Float32Array, N: number, arrangement: Arrangement): PairTensors {
  const d = lm.config.hiddenSize;
  const P = targets.length / N;
  if (!Number.isInteger(P) || p1.length !== P * d || p2.length !== P * d || m.length !== d) {
    throw new Error(`pairTensors: ${p1.length}/${p2.length} endpoint values, ${targets.length} targets and m of ${m.length} do not fit d=${d}, N=${N}`);
  }
  checkPositions(arrangement, N, lm.config.maxPositions);
  const layout = layoutFor(arrangement, N);
  return {
    p1: tf.tensor2d(p1, [P, d]),
    p2: tf.tensor2d(p2, [P, d]),
    targets: tf.tensor2d(targets, [P, N], 'int32'),
    m: layout.usesM ? tf.tensor2d(m, [1, d]) : null,
    layout,
  };
}

export function disposePairTensors(t: PairTensors): void {
  tf.dispose([t.p1, t.p2, t.targets]);
  t.m?.dispose();
}

/** The straight line's control point, (p1 + p2) / 2: [P, d]. */
export function midpoint(t: PairTensors): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.add(t.p1, t.p2), 2) as tf.Tensor2D);
}

/**
 * Points phi(tau) of every pair at its T taus (`taus` [P * T], pair-major): [P * T, d].
 * Call inside a tidy (or gradient scope).
 */
function curvePoints(p1: tf.Tensor2D, pi: tf.Tensor2D, p2: tf.Tensor2D, taus: Float32Array): tf.Tensor2D {
  const [P, d] = p1.shape;
  const T = taus.length / P;
  const tau = tf.tensor3d(taus, [P, T, 1]); // [P, T, 1]
  const rest = tf.sub(1, tau); // [P, T, 1]
  const w1 = tf.square(rest); // [P, T, 1]
  const wPi = tf.mul(2, tf.mul(tau, rest)); // [P, T, 1]
  const w2 = tf.square(tau); // [P, T, 1]
  const at = (x: tf.Tensor2D, w: tf.Tensor): tf.Tensor => tf.mul(tf.expandDims(x, 1), w); // [P, T, d]
  return tf.reshape(tf.addN([at(p1, w1), at(pi, wPi), at(p2, w2)]), [P * T, d]) as tf.Tensor2D; // [P*T, d]
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
   * control point towards the origin, which means nothing here.
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
 * Train one control point per pair, starting at the midpoint, on sum over pairs of
 * E_{tau ~ U[0,1]} [summed cross-entropy at phi(tau)]. Returns pi [P, d] (the caller disposes it).
 */
export async function trainControlPoints(lm: CausalLM, t: PairTensors, options: Partial<ControlPointOptions> = {}): Promise<{ pi: tf.Tensor2D; steps: number; interrupted: boolean }> {
  const opts: ControlPointOptions = { ...CONTROL_POINT_DEFAULTS, ...options };
  const [P] = t.p1.shape;
  const T = opts.tausPerStep;
  const rng = new Prng(opts.seed);
  let state: AdamState = adamState(midpoint(t));
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
      const points = tf.tidy(() => curvePoints(t.p1, state.param, t.p2, taus)); // [P*T, d]
      // The loss is linear in each point's CE, so d/dpi = sum over its taus of 2 tau (1-tau) dCE/dphi(tau), / T for the mean.
      const g = lossAndGrads(lm, t.layout, targets, points, t.m, false);
      const [gradPi, loss] = tf.tidy(() => {
        const d = t.p1.shape[1];
        const tau = tf.tensor3d(taus, [P, T, 1]); // [P, T, 1]
        const wPi = tf.mul(2, tf.mul(tau, tf.sub(1, tau))); // [P, T, 1]
        const grad = tf.div(tf.sum(tf.mul(tf.reshape(g.gradE, [P, T, d]), wPi), 1), T) as tf.Tensor2D; // [P, d]
        return [grad, tf.div(tf.sum(g.rowLoss), P * T)]; // [P, d], scalar
      });
      tf.dispose([points, g.gradE, g.rowLoss, g.hits]);
      step++;
      const next = adamwUpdate(state, gradPi, new Array<number>(P).fill(step), opts.adamw);
      disposeState(state);
      state = next;
      gradPi.dispose();
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
  return { pi: state.param, steps: step, interrupted };
}

/** Token accuracy and summed cross-entropy at every (pair, tau) of a grid: [P * G] each, pair-major. */
export interface PathValues {
  accuracy: Float32Array;
  loss: Float32Array;
}

/**
 * Evaluate the curve with control points `pi` [P, d] at every tau of `grid` (the same G taus for
 * every pair), `maxRows` rows (pairs x taus) per forward. One download of [rows, 2] per forward.
 */
export async function evaluatePath(lm: CausalLM, t: PairTensors, pi: tf.Tensor2D, grid: Float32Array, maxRows = 512): Promise<PathValues> {
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
      const rows = (x: tf.Tensor2D): tf.Tensor2D => tf.slice(x, [s, 0], [c, -1]); // [c, d|N]
      const points = curvePoints(rows(t.p1), rows(pi), rows(t.p2), taus); // [c*G, d]
      const { nll, hits } = scoreRows(lm, t.layout, repeatTargets(rows(t.targets), G), points, t.m); // [c*G, N] each
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
 * Arc length of each pair's curve and of its straight line |p2 - p1|. With a = 2 (pi - p1) and
 * b = 2 (p2 - pi), |phi'(tau)|^2 = (1-tau)^2 |a|^2 + 2 tau (1-tau) a.b + tau^2 |b|^2, so four
 * scalars per pair come back and the integral is Simpson's rule on `intervals` (even) steps.
 */
export async function arcLengths(t: PairTensors, pi: tf.Tensor2D, intervals = 1024): Promise<{ curve: number[]; line: number[] }> {
  const packed = tf.tidy(() => {
    const a = tf.mul(2, tf.sub(pi, t.p1)); // [P, d]
    const b = tf.mul(2, tf.sub(t.p2, pi)); // [P, d]
    const dot = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.sum(tf.mul(x, y), 1); // [P]
    const diff = tf.sub(t.p2, t.p1); // [P, d]
    return tf.stack([dot(a, a), dot(b, b), dot(a, b), dot(diff, diff)], 1); // [P, 4]
  });
  const host = await packed.data();
  packed.dispose();
  const P = host.length / 4;
  const curve: number[] = [];
  const line: number[] = [];
  for (let p = 0; p < P; p++) {
    const [A, B, C, D] = [host[4 * p], host[4 * p + 1], host[4 * p + 2], host[4 * p + 3]];
    const speed = (x: number): number => Math.sqrt(Math.max(0, (1 - x) ** 2 * A + 2 * x * (1 - x) * C + x ** 2 * B));
    let sum = speed(0) + speed(1);
    for (let i = 1; i < intervals; i++) sum += (i % 2 === 1 ? 4 : 2) * speed(i / intervals);
    curve.push(sum / (3 * intervals));
    line.push(Math.sqrt(D));
  }
  return { curve, line };
}
