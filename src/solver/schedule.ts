/**
 * Learning-rate schedules. Rows take different numbers of steps, but one update serves the whole
 * pool, so the pool uses the rate of its median row (rows join in waves; the median keeps a
 * late-joining minority from dragging the majority's rate back up).
 */
import type { LrSchedule, SolverOptions } from './types.js';

/** The rate at (1-based) step `t` of a budget of `total` steps. */
export function rateAt(schedule: LrSchedule, base: number, t: number, total: number): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'cosine': {
      const p = Math.min(1, (t - 1) / Math.max(1, total - 1));
      return base * (schedule.minFactor + (1 - schedule.minFactor) * 0.5 * (1 + Math.cos(Math.PI * p)));
    }
    case 'warmup-cosine': {
      if (t <= schedule.warmup) return (base * t) / schedule.warmup;
      const p = Math.min(1, (t - schedule.warmup) / Math.max(1, total - schedule.warmup));
      return base * (schedule.minFactor + (1 - schedule.minFactor) * 0.5 * (1 + Math.cos(Math.PI * p)));
    }
  }
}

export function learningRate(opts: Pick<SolverOptions, 'schedule' | 'adamw' | 'maxSteps'>, rows: readonly { steps: number }[]): number {
  if (opts.schedule.kind === 'constant' || rows.length === 0) return opts.adamw.lr;
  const sorted = rows.map((r) => r.steps + 1).sort((a, b) => a - b);
  return rateAt(opts.schedule, opts.adamw.lr, sorted[sorted.length >> 1], opts.maxSteps);
}
