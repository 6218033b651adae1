/**
 * Does a good guess of e make the solver faster? The same texts are solved once per named start
 * (N(0,1), the constant mean e, the encoder's per-text e_hat, ...) with one fixed m and the same
 * solver recipe; each start is reported by solved rate, steps and wall time, relative to the
 * first two starts.
 */
import type { CausalLM } from '../lm/types.js';
import { type SolverConfig, solverOptionsOf, solverSchema } from '../solver/config.js';
import type { InitSpec } from '../solver/init.js';
import { solveTexts } from '../solver/solve.js';
import type { SolveTaskInput, SolveTaskOutput } from '../solver/solve_task.js';
import type { ModelThreads } from '../lm/threads.js';
import { splitShares } from './grad_pool.js';
import type { SolveResult, SolverOptions, SolveTarget } from '../solver/types.js';
import { summarize } from '../util/stats.js';
import { PrototokenError } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import { z } from 'zod';
import { type RunTexts, eByText, encoderRunSchema, flatIds } from './inputs.js';
import { applyCheckpointGate } from './encode.js';
import type { LoadedEncoder } from './load.js';
import { bestOfStarts, constantStart, encoderCandidates } from './starts.js';
import { loadInitSpec } from '../solver/init.js';
import { eByTextId } from '../datasets/solve_records.js';

/** A named starting point for every text. */
export interface RefineStart {
  name: string;
  init: InitSpec;
  /** Seconds spent making the start (e.g. the LM passes that chose it), counted in its times: wall and CPU. Default 0. */
  setup?: { wall: number; cpu: number };
}

export interface RefineOptions {
  /** Names the fixed m in solver errors. Default 'fixed m'. */
  mSource?: string;
  /** Called when a start has finished (e.g. to print progress); its ratios cover the starts run so far. Default none. */
  onStartDone?: (start: RefineStartReport) => void;
  /** Checked before every solver step; true stops the run (the report says interrupted). Default never. */
  shouldStop?: () => boolean;
  /** Threads to solve on, each a contiguous share of the texts. Default: this thread. */
  threads?: ModelThreads | null;
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
  /** Solving time plus the time to make the start. */
  wall_seconds: number;
  /** This process's CPU time for the same (user + system), which a busy machine does not inflate. */
  cpu_seconds: number;
  /** Texts solved per CPU-minute. */
  solved_per_cpu_minute: number;
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
    const t0 = performance.now();
    const c0 = process.cpuUsage(); // process-wide, so worker threads count too
    const options: SolverOptions = { ...solver, m: { kind: 'fixed', vector: m, source: opts.mSource ?? 'fixed m' }, init: start.init };
    const { out, run } = opts.threads ? await solveOnThreads(opts.threads, targets, options, opts.shouldStop) : await solveHere(lm, targets, options, opts.shouldStop);
    if (run.interrupted) {
      interrupted = true;
      break;
    }
    const cpu = process.cpuUsage(c0);
    stats.push(startStats(start.name, out, solver.maxSteps, {
      wall: (performance.now() - t0) / 1000 + (start.setup?.wall ?? 0),
      cpu: (cpu.user + cpu.system) / 1e6 + (start.setup?.cpu ?? 0),
    }));
    results.push(out);
    opts.onStartDone?.(withRatios(stats)[stats.length - 1]);
  }
  return {
    report: { N: targets[0].ids.length, texts: targets.length, max_steps: solver.maxSteps, interrupted, starts: withRatios(stats) },
    results,
  };
}

/**
 * The starts `refine` can compare: `normal` N(0,1); `init` the solver config's own --init (e.g. the
 * fast preset's scaled start); `mean` the constant mean e; `e_hat` the encoder's; `nearest` the
 * nearest solved training window's e; `gated` the checkpoint's one-pass output through its retrieval
 * gate (gate.ts: nearest or e_hat by the tokens alone); `best` the best of e_hat, nearest and mean by
 * one LM pass each (what `solve --init encoder:` uses; its passes count in its wall time).
 */
export const REFINE_STARTS = ['normal', 'init', 'mean', 'e_hat', 'nearest', 'gated', 'best'] as const;
export type RefineStartKind = (typeof REFINE_STARTS)[number];

/** `prototoken refine`'s config keys: the checkpoint and texts, the solver recipe, and the starts. */
export const refineSchema = encoderRunSchema.merge(solverSchema).extend({
  starts: z.array(z.enum(REFINE_STARTS)).min(1).default(['normal', 'mean', 'e_hat']),
  /** Threads that solve shares of the texts; null = one per core. */
  workers: z.number().int().min(1).nullable().default(null),
});

async function solveHere(lm: CausalLM, targets: readonly SolveTarget[], options: SolverOptions, shouldStop?: () => boolean): Promise<{ out: SolveResult[]; run: { interrupted: boolean } }> {
  const out = new Array<SolveResult>(targets.length);
  const run = await solveTexts(lm, targets, options, { onResults: (rs) => rs.forEach((r) => (out[r.targetIndex] = r)), shouldStop });
  return { out, run };
}

/** The same solve, one contiguous share of the texts per thread (each text's start and seed are its own, so the results are those of one thread). */
async function solveOnThreads(threads: ModelThreads, targets: readonly SolveTarget[], options: SolverOptions, shouldStop?: () => boolean): Promise<{ out: SolveResult[]; run: { interrupted: boolean } }> {
  const shares = splitShares(targets.map((t, i) => ({ t, i })), threads.threads).filter((s) => s.length > 0);
  const init = options.init;
  const inputs: SolveTaskInput[] = shares.map((share) => ({
    targets: share.map(({ t }) => ({ id: t.id, ids: Int32Array.from(t.ids) })),
    // Only this share's per-text starts cross to its thread.
    options: { ...options, init: init.kind === 'perText' ? { ...init, e: new Map(share.map(({ t }) => [t.id, init.e.get(t.id) as Float32Array])) } : init },
  }));
  const watch = setInterval(() => {
    if (shouldStop?.()) threads.requestStop();
  }, 100);
  try {
    const parts = await threads.map<SolveTaskInput, SolveTaskOutput>(new URL('../solver/solve_task.js', import.meta.url), inputs);
    const out = new Array<SolveResult>(targets.length);
    parts.forEach((p, k) => p.results.forEach((r, j) => {
      if (r) out[shares[k][j].i] = { ...r, targetIndex: shares[k][j].i };
    }));
    return { out, run: { interrupted: parts.some((p) => p.interrupted) } };
  } finally {
    clearInterval(watch);
  }
}

export interface EncoderRefineOptions extends Omit<RefineOptions, 'mSource'> {
  /** Texts per encoder forward pass. Default encodeAll's. */
  batchSize?: number;
  /** Which starts, in this order. Default normal, mean, e_hat. */
  starts?: readonly RefineStartKind[];
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
  const { batchSize, starts: kinds = ['normal', 'mean', 'e_hat'], ...refine } = opts;
  const candidates = await encoderCandidates(enc, run.texts, batchSize);
  const byName = (name: string): Map<string, Float32Array> => {
    const c = candidates.find((x) => x.name === name);
    if (!c) throw new PrototokenError(`the checkpoint offers no ${name} start (it carries no solved training windows)`, { file: enc.dir, fix: 'drop it from --starts' });
    return eByText(run.texts, c.e, enc.meta.dModel);
  };
  const starts: RefineStart[] = [];
  for (const kind of kinds) {
    if (kind === 'normal') starts.push({ name: 'N(0,1)', init: { kind: 'normal' } });
    if (kind === 'init') starts.push({ name: `--init ${solver.init}${solver.initScale !== 1 ? ` x ${solver.initScale}` : ''}`, init: await loadInitSpec(solver.init, solver.initScale, lm, eByTextId) });
    if (kind === 'mean') starts.push({ name: 'mean e (constant)', init: { kind: 'vector', e: constantStart(enc), source: `${enc.dir} (mean of the training e)` } });
    if (kind === 'e_hat') starts.push({ name: 'encoder e_hat', init: { kind: 'perText', e: byName('e_hat'), source: enc.dir } });
    if (kind === 'nearest') starts.push({ name: 'nearest solved window', init: { kind: 'perText', e: byName('nearest'), source: enc.dir } });
    // encoderCandidates always lists e_hat first.
    if (kind === 'gated') starts.push({ name: 'encoder one pass (retrieval gate)', init: { kind: 'perText', e: gatedStarts(enc, run, candidates[0].e), source: enc.dir } });
    if (kind === 'best') {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const best = await bestOfStarts(lm, enc.m, run.texts, candidates);
      const cpu = process.cpuUsage(c0);
      const chosen = Object.entries(best.chosen).map(([name, n]) => `${name} ${n}`).join(', ');
      starts.push({ name: `best of one pass (${chosen})`, init: { kind: 'perText', e: best.e, source: enc.dir }, setup: { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 } });
    }
  }
  const mSource = `${enc.dir}/m.safetensors`;
  const options = solverOptionsOf(solver, { kind: 'normal' }, { kind: 'fixed', vector: enc.m, source: mSource });
  const { report } = await refineStarts(lm, run.texts, enc.m, options, starts, { ...refine, mSource });
  return { checkpoint: enc.dir, source: run.source, split: run.split, ...report };
}

/**
 * The checkpoint's one-pass e of every text: its retrieval gate applied to the e_hat already
 * computed for the other starts (refused without a gate for this N).
 */
function gatedStarts(enc: LoadedEncoder, run: RunTexts, eHat: Float32Array): Map<string, Float32Array> {
  const gated = applyCheckpointGate(enc, flatIds(run.texts, run.N), run.N, eHat);
  if (!gated) {
    throw new PrototokenError(`the checkpoint has no retrieval gate for N=${run.N}`, { file: enc.dir, fix: 'choose one with prototoken gate, or drop gated from --starts' });
  }
  return eByText(run.texts, gated.e, enc.meta.dModel);
}

/** One start's numbers before the ratios (which need the other starts). */
export type StartStats = Omit<RefineStartReport, 'median_ratio_vs_first' | 'mean_ratio_vs_first' | 'median_ratio_vs_second' | 'mean_ratio_vs_second'>;

/** Solved count, steps (unsolved texts at `maxSteps`) and wall time of one start. */
export function startStats(name: string, results: readonly SolveResult[], maxSteps: number, seconds: number | { wall: number; cpu: number }): StartStats {
  const { wall, cpu } = typeof seconds === 'number' ? { wall: seconds, cpu: seconds } : seconds;
  const steps = summarize(results.map((r) => (r.solved ? r.steps : maxSteps)));
  const solved = results.filter((r) => r.solved).length;
  return {
    start: name,
    texts: results.length,
    solved,
    solved_rate: results.length ? solved / results.length : 0,
    median_steps: steps.median ?? 0,
    mean_steps: steps.mean ?? 0,
    wall_seconds: wall,
    cpu_seconds: cpu,
    solved_per_cpu_minute: cpu > 0 ? (60 * solved) / cpu : 0,
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
    s.cpu_seconds.toFixed(1),
    s.solved_per_cpu_minute.toFixed(1),
  ]);
  const header = ['start', 'solved', 'median steps', 'mean steps', `vs ${names[0] ?? 'first'} (median / mean)`, `vs ${names[1] ?? 'second'} (median / mean)`, 'wall s', 'CPU s', 'solved/CPU-min'];
  return [
    `  N=${report.N}, ${report.texts} texts, budget ${report.max_steps} steps (an unsolved text counts as the budget)${report.interrupted ? '; interrupted' : ''}`,
    ...formatTable([header, ...rows], [false, true, true, true, true, true, true, true, true]),
  ].join('\n');
}
