/**
 * Does a good guess of e make the solver faster? The same texts are solved once per named start
 * (N(0,1), the constant mean e, the encoder's per-text e_hat, ...) with one fixed m and the same
 * solver recipe; each start is reported by solved rate, steps and wall time, relative to the
 * first two starts.
 */
import type { CausalLM } from '../lm/types.js';
import { type SolverConfig, solverOptionsOf } from '../solver/config.js';
import type { InitSpec } from '../solver/init.js';
import { solveTexts } from '../solver/solve.js';
import type { SolveResult, SolverOptions, SolveTarget } from '../solver/types.js';
import { summarize } from '../util/stats.js';
import { PrototokenError } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import type { RunTexts } from './inputs.js';
import type { LoadedEncoder } from './load.js';
import { constantStart, eHatByText } from './starts.js';

/** A named starting point for every text. */
export interface RefineStart {
  name: string;
  init: InitSpec;
}

export interface RefineOptions {
  /** Names the fixed m in solver errors. Default 'fixed m'. */
  mSource?: string;
  /** Called when a start has finished (e.g. to print progress); its ratios cover the starts run so far. Default none. */
  onStartDone?: (start: RefineStartReport) => void;
  /** Checked before every solver step; true stops the run (the report says interrupted). Default never. */
  shouldStop?: () => boolean;
}

/**
 * One start. Steps of an unsolved text count as the full budget (`max_steps`), even when patience
 * stopped it earlier, so a start cannot look fast by giving up.
 */
export interface RefineStartReport {
  start: string;
  texts: number;
  solved: number;
  solved_rate: number;
  median_steps: number;
  mean_steps: number;
  wall_seconds: number;
  /** median_steps / the first start's median_steps (below 1: fewer steps); null when that is 0. */
  median_ratio_vs_first: number | null;
  mean_ratio_vs_first: number | null;
  /** The same against the second start (e.g. the constant mean e); null without a second start. */
  median_ratio_vs_second: number | null;
  mean_ratio_vs_second: number | null;
}

/** Also the JSON shape of `prototoken refine --json`. */
export interface RefineReport {
  N: number;
  texts: number;
  max_steps: number;
  /** True when `shouldStop` ended the run; the starts listed are the ones that finished. */
  interrupted: boolean;
  starts: RefineStartReport[];
}

/**
 * Solve `targets` (all of one N) once per start. The solver's m is `m` (fixed) and its init is
 * each start's; every other setting, the seed included, is `solver`'s, so starts differ only in e_0.
 * Returns the report and each start's results in target order.
 */
export async function refineStarts(
  lm: CausalLM,
  targets: readonly SolveTarget[],
  m: Float32Array,
  solver: Omit<SolverOptions, 'm' | 'init'>,
  starts: readonly RefineStart[],
  opts: RefineOptions = {},
): Promise<{ report: RefineReport; results: SolveResult[][] }> {
  if (starts.length === 0) throw new PrototokenError('no starts to compare', { fix: 'name at least one start' });
  const stats: StartStats[] = [];
  const results: SolveResult[][] = [];
  let interrupted = false;
  for (const start of starts) {
    const out = new Array<SolveResult>(targets.length);
    const t0 = performance.now();
    const run = await solveTexts(
      lm,
      targets,
      { ...solver, m: { kind: 'fixed', vector: m, source: opts.mSource ?? 'fixed m' }, init: start.init },
      { onResults: (rs) => rs.forEach((r) => (out[r.targetIndex] = r)), shouldStop: opts.shouldStop },
    );
    if (run.interrupted) {
      interrupted = true;
      break;
    }
    stats.push(startStats(start.name, out, solver.maxSteps, (performance.now() - t0) / 1000));
    results.push(out);
    opts.onStartDone?.(withRatios(stats)[stats.length - 1]);
  }
  return {
    report: { N: targets[0].ids.length, texts: targets.length, max_steps: solver.maxSteps, interrupted, starts: withRatios(stats) },
    results,
  };
}

export interface EncoderRefineOptions extends Omit<RefineOptions, 'mSource'> {
  /** Texts per encoder forward pass. Default encodeAll's. */
  batchSize?: number;
}

/** `prototoken refine --json`: the report and what it was measured on. */
export interface EncoderRefineSummary extends RefineReport {
  checkpoint: string;
  source: string;
  split: string;
}

/**
 * `refine`: `run`'s texts solved from N(0,1), from the constant mean-e start and from `enc`'s
 * e_hat, all with the encoder's m fixed and `solver`'s other settings.
 */
export async function refineWithEncoder(
  lm: CausalLM,
  enc: LoadedEncoder,
  run: RunTexts,
  solver: SolverConfig & { seed: number },
  opts: EncoderRefineOptions = {},
): Promise<EncoderRefineSummary> {
  const { batchSize, ...refine } = opts;
  const perText = await eHatByText(enc, run.texts, batchSize);
  const starts: RefineStart[] = [
    { name: 'N(0,1)', init: { kind: 'normal' } },
    { name: 'mean e (constant)', init: { kind: 'vector', e: constantStart(enc), source: `${enc.dir} (mean of the training e)` } },
    { name: 'encoder e_hat', init: { kind: 'perText', e: perText, source: enc.dir } },
  ];
  const mSource = `${enc.dir}/m.safetensors`;
  const options = solverOptionsOf(solver, { kind: 'normal' }, { kind: 'fixed', vector: enc.m, source: mSource });
  const { report } = await refineStarts(lm, run.texts, enc.m, options, starts, { ...refine, mSource });
  return { checkpoint: enc.dir, source: run.source, split: run.split, ...report };
}

/** One start's numbers before the ratios (which need the other starts). */
export type StartStats = Omit<RefineStartReport, 'median_ratio_vs_first' | 'mean_ratio_vs_first' | 'median_ratio_vs_second' | 'mean_ratio_vs_second'>;

/** Solved count, steps (unsolved texts at `maxSteps`) and wall time of one start. */
export function startStats(name: string, results: readonly SolveResult[], maxSteps: number, wallSeconds: number): StartStats {
  const steps = summarize(results.map((r) => (r.solved ? r.steps : maxSteps)));
  const solved = results.filter((r) => r.solved).length;
  return {
    start: name,
    texts: results.length,
    solved,
    solved_rate: results.length ? solved / results.length : 0,
    median_steps: steps.median ?? 0,
    mean_steps: steps.mean ?? 0,
    wall_seconds: wallSeconds,
  };
}

/** Every start's steps relative to the first start's and to the second's (null without a second). */
export function withRatios(stats: readonly StartStats[]): RefineStartReport[] {
  const [first, second] = stats;
  return stats.map((s) => ({
    ...s,
    median_ratio_vs_first: ratio(s.median_steps, first.median_steps),
    mean_ratio_vs_first: ratio(s.mean_steps, first.mean_steps),
    median_ratio_vs_second: second ? ratio(s.median_steps, second.median_steps) : null,
    mean_ratio_vs_second: second ? ratio(s.mean_steps, second.mean_steps) : null,
  }));
}

function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : null;
}

/** The report as aligned text, one line per start. */
export function renderRefineReport(report: RefineReport): string {
  const names = report.starts.map((s) => s.start);
  const x = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
  const rows = report.starts.map((s) => [
    s.start,
    `${s.solved}/${s.texts}`,
    s.median_steps.toFixed(1),
    s.mean_steps.toFixed(1),
    `${x(s.median_ratio_vs_first)} / ${x(s.mean_ratio_vs_first)}`,
    `${x(s.median_ratio_vs_second)} / ${x(s.mean_ratio_vs_second)}`,
    s.wall_seconds.toFixed(1),
  ]);
  const header = ['start', 'solved', 'median steps', 'mean steps', `vs ${names[0] ?? 'first'} (median / mean)`, `vs ${names[1] ?? 'second'} (median / mean)`, 'wall s'];
  return [
    `  N=${report.N}, ${report.texts} texts, budget ${report.max_steps} steps (an unsolved text counts as the budget)${report.interrupted ? '; interrupted' : ''}`,
    ...formatTable([header, ...rows], [false, true, true, true, true, true, true]),
  ].join('\n');
}
