/**
 * `prototoken interpolate`: is the set of solutions of a text connected? For pairs of solutions
 * (p1, p2) of one text (same m setting), the token accuracy and loss along the straight line
 * between them, along a quadratic Bezier curve whose control point is trained to keep the LM
 * emitting the text (mode connectivity, as for the weights of networks), and along a two-bend
 * (cubic) curve as the fallback; and how localized the texts' solutions are (localized.ts). See
 * paths.ts for the tensor side.
 */
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs';
import { baseSchema } from '../lm/open_model.js';
import type { CausalLM } from '../lm/types.js';
import { summarize } from '../util/stats.js';
import { RESULT_VERSION, type InterpolatePair, type InterpolateResult, type PathKind } from './results.js';
import {
  CONTROL_POINT_DEFAULTS, type ControlPointOptions, type PairTensors, type PathValues, arcLengths, disposePairTensors, elevate, evaluatePath, lineControls, pairSubset,
  pairTensors, trainControlPoints,
} from './paths.js';
import { type SolutionPairs, pointOf } from './solutions.js';
import { type Localization, localization } from './localized.js';
import { PrototokenError } from '../util/errors.js';

/** Which pairs get the two-bend (cubic) curve: none, those the quadratic one leaves below 1.0 somewhere, or all. */
export const CUBIC_MODES = ['off', 'fallback', 'all'] as const;
export type CubicMode = (typeof CUBIC_MODES)[number];

/**
 * Settings of one run: how the control points are trained (paths.ts; a stop during training ends
 * the run with nothing evaluated), the evaluation grid and the fallback curve.
 */
export interface InterpolateOptions extends Omit<ControlPointOptions, 'onStep'> {
  /** Points of the evaluation grid, evenly spaced in [0, 1] with both ends. Default 65 (at least 65). */
  taus: number;
  /** Rows (pairs x taus) per forward when evaluating. Default 512. */
  evalRows: number;
  /**
   * The cubic curve: 'fallback' trains it, from the trained quadratic curve (elevated, so it starts
   * as that curve) for `steps` more updates, on the pairs the quadratic one does not connect; 'all'
   * on every pair; 'off' never. Default 'fallback'.
   */
  cubic: CubicMode;
  /** After each training step: the curve trained, the step (1-based) and the loss estimate. Default none. */
  onStep?: (curve: 'bezier' | 'cubic', step: number, loss: number) => void;
}

export const INTERPOLATE_DEFAULTS: InterpolateOptions = { steps: CONTROL_POINT_DEFAULTS.steps, tausPerStep: CONTROL_POINT_DEFAULTS.tausPerStep, adamw: CONTROL_POINT_DEFAULTS.adamw, seed: 0, taus: 65, evalRows: 512, cubic: 'fallback' };

/** One row of curves.arrow: a (pair, path, tau). */
export interface CurvePoint {
  pair: number;
  path: PathKind;
  tau: number;
  accuracy: number;
  loss: number;
}

/** What a run computed; `interrupted` runs have no pairs. */
export interface InterpolateRun {
  taus: number[];
  pairs: InterpolatePair[];
  curves: CurvePoint[];
  /** Training steps taken (both curves). */
  steps: number;
  interrupted: boolean;
  /** Same-text against other-text distances of the solutions of the paired texts; null when interrupted. */
  localized: Localization | null;
}

/** The evaluation grid: `n` evenly spaced taus, 0 and 1 included. */
export function tauGrid(n: number): number[] {
  if (!Number.isInteger(n) || n < 65) throw new PrototokenError(`the tau grid needs at least 65 points, got ${n}`, { fix: 'use --taus 65 or more' });
  return Array.from({ length: n }, (_, i) => i / (n - 1));
}

/** A trained curve evaluated on the grid, with its arc lengths. */
interface Evaluated {
  values: PathValues;
  lengths: { curve: number[]; line: number[] };
}

/** Train the curves of every pair and evaluate them and the straight lines on the grid. */
export async function interpolatePairs(lm: CausalLM, input: SolutionPairs, options: Partial<InterpolateOptions> = {}): Promise<InterpolateRun> {
  const opts: InterpolateOptions = { ...INTERPOLATE_DEFAULTS, ...options };
  const taus = tauGrid(opts.taus);
  const grid = Float32Array.from(taus);
  const { pairs, N } = input;
  const P = pairs.length;
  const w = pointOf(pairs[0].a).length;
  // Pair rows stacked row-major, as the tensors want them.
  const flat = <A extends Float32Array | Int32Array>(out: A, get: (i: number) => ArrayLike<number>): A => {
    pairs.forEach((_, i) => out.set(get(i), i * (out.length / P)));
    return out;
  };
  const t = pairTensors(
    lm,
    flat(new Float32Array(P * w), (i) => pointOf(pairs[i].a)),
    flat(new Float32Array(P * w), (i) => pointOf(pairs[i].b)),
    flat(new Int32Array(P * N), (i) => pairs[i].tokenIds),
    input.m,
    N,
    input.arrangement,
  );
  const stopped = (steps: number): InterpolateRun => ({ taus, pairs: [], curves: [], steps, interrupted: true, localized: null });
  try {
    const trainOpts = (curve: 'bezier' | 'cubic'): Partial<ControlPointOptions> => ({ ...opts, onStep: (s, loss) => opts.onStep?.(curve, s, loss) });
    const quad = await trainControlPoints(lm, t, 2, trainOpts('bezier'));
    let steps = quad.steps;
    try {
      if (quad.interrupted) return stopped(steps);
      const line = await evaluateControls(lm, t, lineControls(t, 2), grid, opts.evalRows);
      const bezier = await evaluateControls(lm, t, quad.controls, grid, opts.evalRows, false);
      const G = grid.length;
      const minOf = (v: Float32Array, i: number): number => Math.min(...v.subarray(i * G, (i + 1) * G));
      const cubicRows = opts.cubic === 'off' ? [] : pairs.map((_, i) => i).filter((i) => opts.cubic === 'all' || minOf(bezier.values.accuracy, i) < 1);
      let cubic: (Evaluated & { rows: number[] }) | null = null;
      if (cubicRows.length > 0) {
        const sub = pairSubset(t, cubicRows);
        const startAt = tf.tidy(() => elevate(sub, tf.gather(quad.controls, tf.tensor1d(Int32Array.from(cubicRows), 'int32'))));
        try {
          const trained = await trainControlPoints(lm, sub, 3, trainOpts('cubic'), startAt);
          steps += trained.steps;
          try {
            if (trained.interrupted) return stopped(steps);
            cubic = { ...(await evaluateControls(lm, sub, trained.controls, grid, opts.evalRows, false)), rows: cubicRows };
          } finally {
            trained.controls.dispose();
          }
        } finally {
          startAt.dispose();
          disposePairTensors(sub);
        }
      }
      const curves: CurvePoint[] = [];
      const result = pairs.map((p, i): InterpolatePair => {
        const at = (v: Float32Array, row = i): number[] => Array.from(v.subarray(row * G, (row + 1) * G));
        const c = cubic ? cubic.rows.indexOf(i) : -1;
        const paths: [PathKind, PathValues, number][] = [['line', line.values, i], ['bezier', bezier.values, i]];
        if (cubic && c >= 0) paths.push(['cubic', cubic.values, c]);
        for (const [path, values, row] of paths) {
          taus.forEach((tau, g) => curves.push({ pair: i, path, tau, accuracy: values.accuracy[row * G + g], loss: values.loss[row * G + g] }));
        }
        const [lineAcc, bezierAcc] = [at(line.values.accuracy), at(bezier.values.accuracy)];
        const cubicAcc = cubic && c >= 0 ? at(cubic.values.accuracy, c) : null;
        const connectedBy = ([['line', lineAcc], ['bezier', bezierAcc], ['cubic', cubicAcc]] as const).find(([, acc]) => acc !== null && Math.min(...acc) >= 1)?.[0] ?? null;
        return {
          textId: p.textId,
          restartA: p.a.restart,
          restartB: p.b.restart,
          datasetA: p.a.dataset,
          datasetB: p.b.dataset,
          N,
          lineAccuracy: lineAcc,
          bezierAccuracy: bezierAcc,
          lineMinAccuracy: Math.min(...lineAcc),
          bezierMinAccuracy: Math.min(...bezierAcc),
          lengthRatio: bezier.lengths.curve[i] / bezier.lengths.line[i],
          // The untrained curve is the line, so "before" is the line's expected loss.
          bezierLossBefore: expectation(at(line.values.loss)),
          bezierLossAfter: expectation(at(bezier.values.loss)),
          endpointDistance: bezier.lengths.line[i],
          lineLoss: at(line.values.loss),
          bezierLoss: at(bezier.values.loss),
          cubicAccuracy: cubicAcc,
          cubicLoss: cubic && c >= 0 ? at(cubic.values.loss, c) : null,
          cubicMinAccuracy: cubicAcc ? Math.min(...cubicAcc) : null,
          cubicLengthRatio: cubic && c >= 0 ? cubic.lengths.curve[c] / cubic.lengths.line[c] : null,
          connectedBy,
          marginA: p.a.margin,
          marginB: p.b.margin,
          polishStepsA: p.a.polishSteps,
          polishStepsB: p.b.polishSteps,
        };
      });
      const localized = localization(input.solutions.map((s) => ({ textId: s.textId, x: pointOf(s.end) })));
      return { taus, pairs: result, curves, steps, interrupted: false, localized };
    } finally {
      quad.controls.dispose();
    }
  } finally {
    disposePairTensors(t);
  }
}

/** Evaluate curves of `controls` on the grid and measure them; `dispose`: the controls are this call's to free. */
async function evaluateControls(lm: CausalLM, t: PairTensors, controls: tf.Tensor2D, grid: Float32Array, evalRows: number, dispose = true): Promise<Evaluated> {
  try {
    return { values: await evaluatePath(lm, t, controls, grid, evalRows), lengths: await arcLengths(t, controls) };
  } finally {
    if (dispose) controls.dispose();
  }
}

/** E_{tau ~ U[0,1]} of values on an evenly spaced grid with both ends: the trapezoidal rule. */
export function expectation(values: readonly number[]): number {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += i === 0 || i === n - 1 ? values[i] / 2 : values[i];
  return sum / (n - 1);
}

/** The summary block of a result. */
export function summarizePairs(pairs: readonly InterpolatePair[]): InterpolateResult['summary'] {
  const connected = (acc: (p: InterpolatePair) => number): number => pairs.filter((p) => acc(p) >= 1).length;
  return {
    pairs: pairs.length,
    lineMinAccuracy: summarize(pairs.map((p) => p.lineMinAccuracy)),
    bezierMinAccuracy: summarize(pairs.map((p) => p.bezierMinAccuracy)),
    lineConnected: connected((p) => p.lineMinAccuracy),
    bezierConnected: connected((p) => p.bezierMinAccuracy),
    lengthRatio: summarize(pairs.map((p) => p.lengthRatio)),
    cubicPairs: pairs.filter((p) => p.cubicMinAccuracy != null).length,
    cubicConnected: connected((p) => p.cubicMinAccuracy ?? 0),
    cubicMinAccuracy: summarize(pairs.flatMap((p) => (p.cubicMinAccuracy == null ? [] : [p.cubicMinAccuracy]))),
    connected: pairs.filter((p) => p.connectedBy != null).length,
    lineMaxLoss: summarize(pairs.flatMap((p) => (p.lineLoss ? [Math.max(...p.lineLoss)] : []))),
    bezierMaxLoss: summarize(pairs.flatMap((p) => (p.bezierLoss ? [Math.max(...p.bezierLoss)] : []))),
    endpointMargin: summarize(pairs.flatMap((p) => [p.marginA, p.marginB].filter((x): x is number => x != null))),
    endpointPolishSteps: summarize(pairs.flatMap((p) => [p.polishStepsA, p.polishStepsB].filter((x): x is number => x != null))),
  };
}

/** result.json of a finished run. */
export function interpolateResult(run: InterpolateRun, input: SolutionPairs, model: string, curvesFile: string, now = new Date()): InterpolateResult {
  return {
    kind: 'interpolate',
    version: RESULT_VERSION,
    model,
    created: now.toISOString(),
    dataset: input.datasets[0],
    datasets: input.datasets,
    taus: run.taus,
    pairs: run.pairs,
    summary: summarizePairs(run.pairs),
    perTextM: input.m === null,
    ...(run.localized ? { localized: run.localized } : {}),
    curvesFile,
  };
}

/** `prototoken interpolate`'s config keys. */
export const interpolateSchema = baseSchema.extend({
  /** Dataset folders; the command line's DATASET arguments replace this list. */
  datasets: z.array(z.string().min(1)).default([]),
  out: z.string().min(1),
  /** At most this many pairs of solutions, round-robin over texts. */
  pairs: z.number().int().min(1).default(16),
  taus: z.number().int().min(65).default(INTERPOLATE_DEFAULTS.taus),
  /** The two-bend curve: off | fallback (pairs the quadratic curve leaves below 1.0) | all. */
  cubic: z.enum(CUBIC_MODES).default(INTERPOLATE_DEFAULTS.cubic),
  steps: z.number().int().min(0).default(INTERPOLATE_DEFAULTS.steps),
  tausPerStep: z.number().int().min(1).default(INTERPOLATE_DEFAULTS.tausPerStep),
  lr: z.number().positive().default(INTERPOLATE_DEFAULTS.adamw.lr),
  beta1: z.number().min(0).max(1).default(INTERPOLATE_DEFAULTS.adamw.beta1),
  beta2: z.number().min(0).max(1).default(INTERPOLATE_DEFAULTS.adamw.beta2),
  eps: z.number().positive().default(INTERPOLATE_DEFAULTS.adamw.eps),
  weightDecay: z.number().min(0).default(INTERPOLATE_DEFAULTS.adamw.weightDecay),
  evalRows: z.number().int().min(1).default(INTERPOLATE_DEFAULTS.evalRows),
});
