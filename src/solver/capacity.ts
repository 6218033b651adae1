/**
 * Capacity search: per text, the longest length on a grid whose best solve reaches the accuracy
 * threshold. Texts climb the grid together (one batched solve per length); a text leaves at its
 * first failure, or when it runs out of tokens or the model out of positions.
 */
import type { CausalLM } from '../lm/types.js';
import { layoutFor } from './arrangements.js';
import { solveTexts } from './solve.js';
import { solveShared } from './shared_m.js';
import type { SolveResult, SolverOptions } from './types.js';

/** The paper's grid (powers of sqrt 2, rounded). */
export const CAPACITY_GRID = [4, 5, 8, 11, 16, 22, 32, 45, 64, 90, 128, 181, 256, 362, 512, 724, 1024, 1448] as const;

export interface CapacityOptions {
  solver: SolverOptions;
  /** Best accuracy at a length must reach this to pass. Default 0.99. */
  threshold: number;
  grid: readonly number[];
  /** One trainable m per (length, group of texts) instead of m per text. */
  sharedM: boolean;
}

export interface CapacityText {
  id: string;
  /** All available target tokens (the text, cut to the longest grid length). */
  ids: readonly number[];
}

export interface CapacityOutcome {
  id: string;
  index: number;
  /** Longest passing length, 0 when even the first length failed. */
  capacity: number;
  /** The solve at `capacity` (or at the first length tried, when none passed). */
  result: SolveResult;
  /** The m used for `result` (per text, or the group's shared m). */
  m: Float32Array | null;
  /** Tokens of `result`'s target. */
  ids: number[];
}

export interface CapacityHooks {
  /** Texts whose capacity is final, after each grid length. */
  onFinal?: (done: CapacityOutcome[]) => Promise<void> | void;
  onLength?: (length: number, active: number) => void;
  shouldStop?: () => boolean;
}

export async function capacitySearch(lm: CausalLM, texts: readonly CapacityText[], opts: CapacityOptions, hooks: CapacityHooks = {}): Promise<{ interrupted: boolean }> {
  const offset = layoutFor(opts.solver.arrangement, 4).inputs - 4;
  const lengths = opts.grid.filter((L) => L + offset <= lm.config.maxPositions);
  const best = new Map<number, CapacityOutcome>();
  let alive = texts.map((_, i) => i);
  for (const L of lengths) {
    if (hooks.shouldStop?.()) return { interrupted: true };
    const running = alive.filter((i) => texts[i].ids.length >= L);
    const outOfTokens = alive.filter((i) => texts[i].ids.length < L);
    await finalize(outOfTokens);
    alive = running;
    if (running.length === 0) break;
    hooks.onLength?.(L, running.length);
    const targets = running.map((i) => ({ id: texts[i].id, ids: texts[i].ids.slice(0, L) }));
    const results = new Map<number, { r: SolveResult; m: Float32Array | null }>();
    let interrupted: boolean;
    if (opts.sharedM) {
      const run = await solveShared(lm, targets, opts.solver, { shouldStop: hooks.shouldStop });
      run.results.forEach((r, j) => results.set(running[j], { r, m: run.shared[0] }));
      interrupted = run.interrupted;
    } else {
      const out = await solveTexts(lm, targets, opts.solver, {
        onResults: (rs) => rs.forEach((r) => results.set(running[r.targetIndex], { r, m: r.m })),
        shouldStop: hooks.shouldStop,
      });
      interrupted = out.interrupted;
    }
    if (interrupted) return { interrupted: true };
    const failed: number[] = [];
    for (const i of running) {
      const got = results.get(i);
      if (!got) continue;
      const passed = got.r.accuracy >= opts.threshold;
      if (passed || !best.has(i)) best.set(i, { id: texts[i].id, index: i, capacity: passed ? L : 0, result: got.r, m: got.m, ids: texts[i].ids.slice(0, L) as number[] });
      if (!passed) failed.push(i);
    }
    await finalize(failed);
    alive = alive.filter((i) => !failed.includes(i));
  }
  await finalize(alive);
  return { interrupted: false };

  async function finalize(indices: number[]): Promise<void> {
    const done = indices.map((i) => best.get(i)).filter((x): x is CapacityOutcome => x !== undefined);
    if (done.length > 0) await hooks.onFinal?.(done);
  }
}
