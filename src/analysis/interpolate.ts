/**
 * `prototoken interpolate`: is the set of solutions of a text connected? For pairs of solutions
 * (p1, p2) of one text (same fixed m), the token accuracy along the straight line between them and
 * along a quadratic Bezier curve whose control point is trained to keep the LM emitting the text
 * (mode connectivity, as for the weights of networks). See paths.ts for the tensor side.
 */
import { z } from 'zod';
import { baseSchema } from '../lm/open_model.js';
import type { CausalLM } from '../lm/types.js';
import { summarize } from '../util/stats.js';
import { RESULT_VERSION, type InterpolatePair, type InterpolateResult } from './results.js';
import {
  CONTROL_POINT_DEFAULTS, type ControlPointOptions, arcLengths, disposePairTensors, evaluatePath, midpoint, pairTensors, trainControlPoints,
} from './paths.js';
import type { SolutionPairs } from './solutions.js';
import { PrototokenError } from '../util/errors.js';

/**
 * Settings of one run: how the control points are trained (paths.ts; a stop during training ends
 * the run with nothing evaluated) and the evaluation grid.
 */
export interface InterpolateOptions extends ControlPointOptions {
  /** Points of the evaluation grid, evenly spaced in [0, 1] with both ends. Default 33 (at least 33). */
  taus: number;
  /** Rows (pairs x taus) per forward when evaluating. Default 512. */
  evalRows: number;
}

export const INTERPOLATE_DEFAULTS: InterpolateOptions = { ...CONTROL_POINT_DEFAULTS, taus: 33, evalRows: 512 };

/** One row of curves.arrow: a (pair, path, tau). */
export interface CurvePoint {
  pair: number;
  path: 'line' | 'bezier';
  tau: number;
  accuracy: number;
  loss: number;
}

/** What a run computed; `interrupted` runs have no pairs. */
export interface InterpolateRun {
  taus: number[];
  pairs: InterpolatePair[];
  curves: CurvePoint[];
  /** Training steps taken. */
  steps: number;
  interrupted: boolean;
}

/** The evaluation grid: `n` evenly spaced taus, 0 and 1 included. */
export function tauGrid(n: number): number[] {
  if (!Number.isInteger(n) || n < 33) throw new PrototokenError(`the tau grid needs at least 33 points, got ${n}`, { fix: 'use --taus 33 or more' });
  return Array.from({ length: n }, (_, i) => i / (n - 1));
}

/** Train the curves of every pair and evaluate them and the straight lines on the grid. */
export async function interpolatePairs(lm: CausalLM, input: SolutionPairs, options: Partial<InterpolateOptions> = {}): Promise<InterpolateRun> {
  const opts: InterpolateOptions = { ...INTERPOLATE_DEFAULTS, ...options };
  const taus = tauGrid(opts.taus);
  const grid = Float32Array.from(taus);
  const { pairs, N } = input;
  const d = lm.config.hiddenSize;
  // Pair rows stacked row-major, as the tensors want them.
  const flat = <A extends Float32Array | Int32Array>(out: A, get: (i: number) => ArrayLike<number>): A => {
    const width = out.length / pairs.length;
    pairs.forEach((_, i) => out.set(get(i), i * width));
    return out;
  };
  const P = pairs.length;
  const t = pairTensors(
    lm,
    flat(new Float32Array(P * d), (i) => pairs[i].a.e),
    flat(new Float32Array(P * d), (i) => pairs[i].b.e),
    flat(new Int32Array(P * N), (i) => pairs[i].tokenIds),
    input.m,
    N,
    input.arrangement,
  );
  const mid = midpoint(t);
  try {
    const trained = await trainControlPoints(lm, t, opts);
    try {
      if (trained.interrupted) return { taus, pairs: [], curves: [], steps: trained.steps, interrupted: true };
      const line = await evaluatePath(lm, t, mid, grid, opts.evalRows);
      const bezier = await evaluatePath(lm, t, trained.pi, grid, opts.evalRows);
      const lengths = await arcLengths(t, trained.pi);
      const G = grid.length;
      const curves: CurvePoint[] = [];
      const result = pairs.map((p, i): InterpolatePair => {
        const at = (v: Float32Array): number[] => Array.from(v.subarray(i * G, (i + 1) * G));
        for (const [path, values] of [['line', line], ['bezier', bezier]] as const) {
          taus.forEach((tau, g) => curves.push({ pair: i, path, tau, accuracy: values.accuracy[i * G + g], loss: values.loss[i * G + g] }));
        }
        return {
          textId: p.textId,
          restartA: p.a.restart,
          restartB: p.b.restart,
          datasetA: p.a.dataset,
          datasetB: p.b.dataset,
          N,
          lineAccuracy: at(line.accuracy),
          bezierAccuracy: at(bezier.accuracy),
          lineMinAccuracy: Math.min(...at(line.accuracy)),
          bezierMinAccuracy: Math.min(...at(bezier.accuracy)),
          lengthRatio: lengths.curve[i] / lengths.line[i],
          // The untrained curve is the line, so "before" is the line's expected loss.
          bezierLossBefore: expectation(at(line.loss)),
          bezierLossAfter: expectation(at(bezier.loss)),
          endpointDistance: lengths.line[i],
        };
      });
      return { taus, pairs: result, curves, steps: trained.steps, interrupted: false };
    } finally {
      trained.pi.dispose();
    }
  } finally {
    mid.dispose();
    disposePairTensors(t);
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
  taus: z.number().int().min(33).default(INTERPOLATE_DEFAULTS.taus),
  steps: z.number().int().min(0).default(INTERPOLATE_DEFAULTS.steps),
  tausPerStep: z.number().int().min(1).default(INTERPOLATE_DEFAULTS.tausPerStep),
  lr: z.number().positive().default(INTERPOLATE_DEFAULTS.adamw.lr),
  beta1: z.number().min(0).max(1).default(INTERPOLATE_DEFAULTS.adamw.beta1),
  beta2: z.number().min(0).max(1).default(INTERPOLATE_DEFAULTS.adamw.beta2),
  eps: z.number().positive().default(INTERPOLATE_DEFAULTS.adamw.eps),
  weightDecay: z.number().min(0).default(INTERPOLATE_DEFAULTS.adamw.weightDecay),
  evalRows: z.number().int().min(1).default(INTERPOLATE_DEFAULTS.evalRows),
});
