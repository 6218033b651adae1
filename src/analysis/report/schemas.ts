/**
 * Runtime checks of the JSON inputs against their TypeScript contracts. Each schema is declared as
 * `z.ZodType<Contract>`, so a field added to results.ts, EvalSummary or CapacitySummary without a
 * matching check here fails to compile instead of reaching a chart as `undefined`.
 */
import { z } from 'zod';
import type { CapacitySummary } from '../capacity.js';
import type { Summary } from '../../util/stats.js';
import type { Localization } from '../localized.js';
import type { EvalStats, EvalSummary, MethodEval } from '../../encoder/eval_table.js';
import {
  DISTANCE_PAIR_TYPES, type ArrangementsResult, type DistanceGroup, type DistancesResult, type InterpolatePair, type InterpolateResult, type SharingResult,
} from '../results.js';

const summary: z.ZodType<Summary> = z.object({
  mean: z.number().nullable(),
  std: z.number().nullable(),
  min: z.number().nullable(),
  median: z.number().nullable(),
  max: z.number().nullable(),
});

const base = { version: z.number().int(), model: z.string(), created: z.string() };
const numbers = z.array(z.number());

const interpolatePair: z.ZodType<InterpolatePair> = z.object({
  textId: z.string(),
  restartA: z.number(),
  restartB: z.number(),
  N: z.number().int(),
  lineAccuracy: numbers,
  bezierAccuracy: numbers,
  lineMinAccuracy: z.number(),
  bezierMinAccuracy: z.number(),
  lengthRatio: z.number(),
  bezierLossBefore: z.number(),
  bezierLossAfter: z.number(),
  endpointDistance: z.number(),
  datasetA: z.number().int().optional(),
  datasetB: z.number().int().optional(),
  lineLoss: numbers.optional(),
  bezierLoss: numbers.optional(),
  cubicAccuracy: numbers.nullable().optional(),
  cubicLoss: numbers.nullable().optional(),
  cubicMinAccuracy: z.number().nullable().optional(),
  cubicLengthRatio: z.number().nullable().optional(),
  connectedBy: z.enum(['line', 'bezier', 'cubic']).nullable().optional(),
  marginA: z.number().nullable().optional(),
  marginB: z.number().nullable().optional(),
  polishStepsA: z.number().nullable().optional(),
  polishStepsB: z.number().nullable().optional(),
});

const localized: z.ZodType<Localization> = z.object({
  solutions: z.number().int(),
  texts: z.number().int(),
  sameText: summary,
  otherText: summary,
  sameTextCosine: summary,
  otherTextCosine: summary,
  ratio: z.number().nullable(),
  nearestSameText: z.number().nullable(),
  nearestSameTextByChance: z.number().nullable(),
});

const interpolate: z.ZodType<InterpolateResult> = z.object({
  ...base,
  kind: z.literal('interpolate'),
  dataset: z.string(),
  datasets: z.array(z.string()).optional(),
  taus: numbers,
  pairs: z.array(interpolatePair),
  summary: z.object({
    pairs: z.number().int(),
    lineMinAccuracy: summary,
    bezierMinAccuracy: summary,
    lineConnected: z.number().int(),
    bezierConnected: z.number().int(),
    lengthRatio: summary,
    cubicPairs: z.number().int().optional(),
    cubicConnected: z.number().int().optional(),
    cubicMinAccuracy: summary.optional(),
    connected: z.number().int().optional(),
    lineMaxLoss: summary.optional(),
    bezierMaxLoss: summary.optional(),
    endpointMargin: summary.optional(),
    endpointPolishSteps: summary.optional(),
  }),
  perTextM: z.boolean().optional(),
  localized: localized.optional(),
  curvesFile: z.string(),
}).superRefine((r, ctx) => {
  // The charts pair each accuracy with its tau; a length mismatch would silently misplot.
  r.pairs.forEach((p, i) => {
    for (const key of ['lineAccuracy', 'bezierAccuracy', 'lineLoss', 'bezierLoss', 'cubicAccuracy', 'cubicLoss'] as const) {
      const values = p[key];
      if (values && values.length !== r.taus.length) ctx.addIssue({ code: 'custom', path: ['pairs', i, key], message: `${values.length} values for ${r.taus.length} taus` });
    }
  });
});

const distanceGroup: z.ZodType<DistanceGroup> = z.object({
  type: z.enum(DISTANCE_PAIR_TYPES),
  pairs: z.number().int(),
  cosine: summary,
  tfidf: summary,
  cosineValues: numbers,
  tfidfValues: numbers,
});

const distances: z.ZodType<DistancesResult> = z.object({ ...base, kind: z.literal('distances'), groups: z.array(distanceGroup) });

const arrangements: z.ZodType<ArrangementsResult> = z.object({
  ...base,
  kind: z.literal('arrangements'),
  rows: z.array(z.object({ arrangement: z.string(), N: z.number().int(), texts: z.number().int(), solved: z.number().int(), accuracy: summary, steps: summary })),
});

const sharing: z.ZodType<SharingResult> = z.object({
  ...base,
  kind: z.literal('sharing'),
  N: z.number().int(),
  rows: z.array(z.object({
    shared: z.enum(['e', 'm']),
    groupSize: z.number().int(),
    seeds: numbers,
    groups: z.number().int(),
    accuracyBySeed: numbers,
    best: z.number(),
    mean: z.number(),
    std: z.number(),
  })),
});

/** The schema of each result kind, by `kind`. */
export const RESULT_SCHEMAS = { interpolate, distances, arrangements, sharing } as const;

export type ResultKind = keyof typeof RESULT_SCHEMAS;

export function isResultKind(kind: unknown): kind is ResultKind {
  return typeof kind === 'string' && Object.hasOwn(RESULT_SCHEMAS, kind);
}

const evalStats: z.ZodType<EvalStats> = z.object({ texts: z.number().int(), token_accuracy: z.number(), exact_match: z.number(), mean_first_error: z.number() });
const methodEval: z.ZodType<MethodEval> = z.intersection(z.object({ method: z.string(), by_n: z.record(z.string(), evalStats) }), evalStats);

const ladderSummary = z.object({
  rule: z.string(),
  steps: z.array(z.number().int()),
  methods: z.array(z.object({
    method: z.string(),
    rungs: z.array(z.object({ k: z.number().int(), passes: z.number().int(), token_accuracy: z.number(), exact_match: z.number() })),
    median_passes: z.number().nullable(),
    p90_passes: z.number().nullable(),
    solved_within_budget: z.number(),
  })),
});

/** `prototoken eval --json`. */
export const evalSummarySchema: z.ZodType<EvalSummary> = z.object({
  checkpoint: z.string(),
  source: z.string(),
  split: z.string(),
  N: z.number().int(),
  texts: z.number().int(),
  too_short: z.number().int(),
  exact_copies_of_training_windows: z.number().int().nullable(),
  encoder_texts_per_sec: z.number(),
  notes: z.array(z.string()),
  methods: z.array(methodEval).min(1),
  unseen_windows: z.object({ texts: z.number().int(), methods: z.array(methodEval).min(1), ladder: ladderSummary.optional() }).optional(),
  head_to_head: z.array(z.object({
    method: z.string(),
    encoder_better: z.number().int(),
    ties: z.number().int(),
    encoder_worse: z.number().int(),
    better_of_two_token_accuracy: z.number(),
    better_of_two_exact_match: z.number(),
  })).optional(),
  ladder: ladderSummary.optional(),
});

/** `prototoken capacity --json`. */
export const capacitySummarySchema: z.ZodType<CapacitySummary> = z.object({
  out: z.string(),
  interrupted: z.boolean(),
  table: z.array(z.object({
    source: z.string(), m: z.string(), texts: z.number().int(),
    capacity_mean: z.number(), capacity_std: z.number(), capacity_max: z.number(), h_lm_mean: z.number(), h_lm_std: z.number(),
    capacity_at_grid_top: z.number().int().optional(),
  })),
  texts: z.array(z.object({ source: z.string(), m: z.string(), id: z.string(), capacity: z.number(), h_lm_nats: z.number(), at_grid_top: z.boolean().optional() })),
});
