/**
 * The solver's settings as they appear in configs/ presets, config files and flags: one strict
 * schema shared by `solve`, `capacity` and `fit-m`, turned into SolverOptions here.
 */
import { z } from 'zod';
import { ARRANGEMENTS } from './arrangements.js';
import type { LrSchedule } from './types.js';

export const solverSchema = z.object({
  arrangement: z.enum(ARRANGEMENTS).default('e-m'),
  /** AdamW as in the paper. */
  lr: z.number().positive().default(0.01),
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.9),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0.01),
  /** normal (paper) | scaled (N(0,1) x initScale) | embed-std (N(0,1) x the embedding table's std) | a file. */
  init: z.string().min(1).default('normal'),
  initScale: z.number().positive().default(1),
  schedule: z.enum(['constant', 'cosine', 'warmup-cosine']).default('constant'),
  warmupSteps: z.number().int().min(1).default(50),
  minLrFactor: z.number().min(0).max(1).default(0.1),
  maxSteps: z.number().int().min(1).default(5000),
  stopAccuracy: z.number().gt(0).max(1).default(1),
  patience: z.number().int().min(0).default(0),
  restarts: z.number().int().min(1).default(1),
  batch: z.number().int().min(1).default(32),
});

export type SolverConfig = z.infer<typeof solverSchema>;

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
