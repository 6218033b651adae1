/** Resolved command config -> the solver's option object. */
import type { SolverConfig } from '../solver/config.js';
import { scheduleOf } from '../solver/config.js';
import type { InitSpec } from '../solver/init.js';
import type { MSpec, SolverOptions } from '../solver/types.js';

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
  };
}
