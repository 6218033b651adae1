/**
 * The solver's settings as they appear in configs/ presets, config files and flags: one strict
 * schema shared by `solve`, `capacity`, `fit-m`, `refine` and the analysis commands, and
 * `solverOptionsOf`, which turns a resolved config into the solver's SolverOptions.
 */
import { z } from 'zod';
import { PAPER_ADAMW } from './adamw.js';
import { ARRANGEMENTS } from './arrangements.js';
import { Recipe } from '../util/recipe.js';
import type { InitSpec } from './init.js';
import type { LrSchedule, MSpec, PolishOptions, SolverOptions } from './types.js';

/**
 * The paper's recipe (Mezentsev & Oseledets, EMNLP 2025): AdamW lr 0.01, betas 0.9/0.9, weight
 * decay 0.01, N(0,1) init, up to 5000 steps, stop at 100% token accuracy. It is the schema's
 * defaults, so `--preset paper` (configs/solver-paper.yaml) adds nothing to them.
 */
export const PAPER_SOLVER = { arrangement: 'e-m', ...PAPER_ADAMW, init: 'normal', schedule: 'constant', maxSteps: 5000, stopAccuracy: 1, restarts: 1 } as const;

export const solverSchema = z.object({
  arrangement: z.enum(ARRANGEMENTS).default(PAPER_SOLVER.arrangement),
  lr: z.number().positive().default(PAPER_SOLVER.lr),
  beta1: z.number().min(0).max(1).default(PAPER_SOLVER.beta1),
  beta2: z.number().min(0).max(1).default(PAPER_SOLVER.beta2),
  eps: z.number().positive().default(PAPER_SOLVER.eps),
  weightDecay: z.number().min(0).default(PAPER_SOLVER.weightDecay),
  /** normal (paper) | scaled (N(0,1) x initScale) | embed-std (N(0,1) x the embedding table's std) | a file. */
  init: z.string().min(1).default(PAPER_SOLVER.init),
  initScale: z.number().positive().default(1),
  schedule: z.enum(['constant', 'cosine', 'warmup-cosine']).default(PAPER_SOLVER.schedule),
  warmupSteps: z.number().int().min(1).default(50),
  minLrFactor: z.number().min(0).max(1).default(0.1),
  maxSteps: z.number().int().min(1).default(PAPER_SOLVER.maxSteps),
  stopAccuracy: z.number().gt(0).max(1).default(PAPER_SOLVER.stopAccuracy),
  patience: z.number().int().min(0).default(0),
  restarts: z.number().int().min(1).default(PAPER_SOLVER.restarts),
  batch: z.number().int().min(1).default(32),
  /** Solutions with a margin (PolishOptions): updates after a row's first solved pass. 0: leave at once (the paper). */
  polishSteps: z.number().int().min(0).default(0),
  /** Keep a solved row going until its summed cross-entropy (nats) is at most this. */
  stopLoss: z.number().positive().nullable().default(null),
  /** Keep a solved row going until its smallest logit margin (correct token's logit minus the best other) is at least this. */
  minMargin: z.number().positive().nullable().default(null),
});

export type SolverConfig = z.infer<typeof solverSchema>;

/** The polishing keys, added after datasets existed: a recipe without them was made without polishing. */
export const POLISH_ADDED_LATER = { polishSteps: 0, stopLoss: null, minMargin: null } as const;

/**
 * What decides a solved row: every solver setting but the batch size (each row draws from its own
 * seeded stream, whatever batch it is in) and the run seed.
 */
export const SOLVER_RECIPE = new Recipe([...Object.keys(solverSchema.shape).filter((k) => k !== 'batch'), 'seed'], POLISH_ADDED_LATER);

export function scheduleOf(c: SolverConfig): LrSchedule {
  switch (c.schedule) {
    case 'constant':
      return { kind: 'constant' };
    case 'cosine':
      return { kind: 'cosine', minFactor: c.minLrFactor };
    case 'warmup-cosine':
      return { kind: 'warmup-cosine', warmup: c.warmupSteps, minFactor: c.minLrFactor };
  }
}

/** A resolved config -> the solver's options, with the start and the m decided by the caller. */
export function solverOptionsOf(config: SolverConfig & { seed: number }, init: InitSpec, m: MSpec): SolverOptions {
  return {
    arrangement: config.arrangement,
    m,
    init,
    adamw: { lr: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay },
    schedule: scheduleOf(config),
    maxSteps: config.maxSteps,
    batchSize: config.batch,
    restarts: config.restarts,
    seed: config.seed,
    stopAccuracy: config.stopAccuracy,
    patience: config.patience,
    polish: polishOf(config),
  };
}

/** The polishing settings of a resolved config. */
export function polishOf(config: Pick<SolverConfig, 'polishSteps' | 'stopLoss' | 'minMargin'>): PolishOptions {
  return { steps: config.polishSteps, stopLoss: config.stopLoss, minMargin: config.minMargin };
}
