/** Options and results of the solvers. */
import type { AdamWOptions } from './adamw.js';
import type { Arrangement } from './arrangements.js';
import type { InitSpec } from './init.js';

/** What m is: learned per text, or a fixed vector (never changed). Trainable shared m (or e): see shared_m.ts. */
export type MSpec = { kind: 'per-text' } | { kind: 'fixed'; vector: Float32Array; source: string };

/**
 * Solutions with a margin: what a row does after its first pass at the stop accuracy. Without
 * polishing it leaves at that pass, so its e sits on the edge of the text's solution set. With it,
 * the row stays in the pool and keeps descending the same loss until every target given is met at
 * a pass that is still at the stop accuracy: `steps` more updates, a summed loss at or below
 * `stopLoss`, a smallest logit margin at or above `minMargin`. The step budget and patience end a
 * polishing row like any other; it then reports its last pass, or, if that pass has lost the text
 * again, its last solved one.
 */
export interface PolishOptions {
  /** Updates after the first solved pass (at least this many when a target is given too). Default 0. */
  steps: number;
  /** Summed cross-entropy (nats) to reach; null: none. */
  stopLoss: number | null;
  /** Smallest logit margin (correct token's logit minus the best other) to reach; null: none. */
  minMargin: number | null;
}

/** No polishing: a row leaves at its first solved pass (the paper's rule). */
export const NO_POLISH: PolishOptions = { steps: 0, stopLoss: null, minMargin: null };

/** Whether `p` asks for anything beyond the first solved pass. */
export function polishes(p: PolishOptions | undefined): boolean {
  return p !== undefined && (p.steps > 0 || p.stopLoss !== null || p.minMargin !== null);
}

/** Learning-rate schedule over a row's own steps. */
export type LrSchedule = { kind: 'constant' } | { kind: 'cosine'; minFactor: number } | { kind: 'warmup-cosine'; warmup: number; minFactor: number };

export interface SolverOptions {
  arrangement: Arrangement;
  m: MSpec;
  init: InitSpec;
  adamw: AdamWOptions;
  schedule: LrSchedule;
  /** Updates allowed per row. Paper: 5000. */
  maxSteps: number;
  /** Rows (text x restart) optimised together. */
  batchSize: number;
  /** Seeds tried per text; the best (accuracy, then loss) is kept. */
  restarts: number;
  /**
   * Report every restart on its own (each runs to its own end) instead of the best one per text,
   * whose first solved restart cancels the others. Default false.
   */
  keepAllRestarts?: boolean;
  /** Run seed; each (text, restart) derives its own stream from it. */
  seed: number;
  /** A row stops when its token accuracy reaches this. Paper: 1.0. */
  stopAccuracy: number;
  /** Stop a row after this many steps without a loss improvement; 0 = never. */
  patience: number;
  /** What a solved row does next (see PolishOptions). Default NO_POLISH. */
  polish?: PolishOptions;
  /** Where an interrupted run stopped: its rows continue from there instead of from their start. Default none. */
  resumeFrom?: SolverCheckpoint;
}

/** The optimisation state of one (text, restart) row: enough to continue it exactly where it stopped. */
export interface RowState {
  id: string;
  restart: number;
  seed: number;
  /** Updates applied so far (AdamW's bias correction and the schedule go on from here). */
  steps: number;
  bestLoss: number;
  sinceBest: number;
  /** Updates applied when the row first reached the stop accuracy (it is polishing since); null: not yet. */
  solvedAt?: number | null;
  /** Wall-clock seconds spent on the row so far. */
  seconds: number;
  /** e and its AdamW moments, [d] each. */
  e: Float32Array;
  eM1: Float32Array;
  eM2: Float32Array;
  /** Per-text m and its moments, or null when m is not learned per text. */
  m: { param: Float32Array; m1: Float32Array; m2: Float32Array } | null;
}

/** A text whose best restart is kept and some restarts finished: the best so far and which ones finished. */
export interface PartialText {
  id: string;
  finished: number[];
  best: SolveResult;
}

/**
 * What an interrupted `solveTexts` leaves: the rows that were in the pool, and (best restart
 * kept) the texts with finished restarts not settled yet. Queued rows had not started: nothing.
 */
export interface SolverCheckpoint {
  rows: RowState[];
  partial: PartialText[];
}

export interface SolveTarget {
  id: string;
  /** The N target token ids t_1..t_N. */
  ids: ArrayLike<number>;
  /** Only these restarts (a resumed run that already has the others); default 0..restarts-1. */
  restarts?: readonly number[];
}

export interface SolveResult {
  id: string;
  targetIndex: number;
  restart: number;
  seed: number;
  e: Float32Array;
  /** Per-text m, or null when m is fixed/shared/unused. */
  m: Float32Array | null;
  /** Optimiser updates applied before the reported forward pass. */
  steps: number;
  accuracy: number;
  cTokens: number;
  prefixLen: number;
  /** Summed cross-entropy (nats) of the reported forward pass. */
  loss: number;
  /**
   * Smallest logit margin over the N positions of the reported pass (the correct token's logit
   * minus the best other; > 0 everywhere iff the text is reproduced). NaN when not measured.
   */
  margin?: number;
  /** Updates taken after the first solved pass (polishing); 0 without. */
  polishSteps?: number;
  seconds: number;
  solved: boolean;
}

export interface SolveHooks {
  /** Texts settled in one step (best restart each; every finished restart with keepAllRestarts); awaited before the next step. */
  onResults?: (results: SolveResult[]) => Promise<void> | void;
  /** Called after every step. */
  onStep?: (state: { active: number; queued: number }) => void;
  /** Checked before every step; true ends the run after the current step (resumable). */
  shouldStop?: () => boolean;
}
