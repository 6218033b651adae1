/**
 * The accuracy-per-LM-pass ladder: how good a way of starting e is once the solver may spend a few
 * LM passes on it. From each text's start, k refinement steps through the frozen LM (one forward
 * and backward each, with one fixed m), and after each pass the text keeps the best e it has seen
 * (most tokens right, then lowest loss), so a pass never loses a reconstruction the start already had.
 *
 * Reported per start: token accuracy and exact match after k steps for every requested k (k = 0 is
 * the plain one-pass evaluation), and the LM passes each text needed to be reproduced exactly:
 * reaching 100% at step k costs k + 1 forward passes (k of them with a backward).
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type AdamWOptions, PAPER_ADAMW, adamState, adamwUpdate, gatherRows, keepRows, type AdamState } from '../solver/adamw.js';
import { layoutFor } from '../solver/arrangements.js';
import { lossAndGrads } from '../solver/step.js';
import { medianOfSorted } from '../util/stats.js';
import { formatTable } from '../util/table.js';

/**
 * How e moves between passes.
 * - `normalized`: e <- e - size * g / rms(g), per text (one step size, no state): the step length is
 *   the same whatever the loss scale, which suits starts that are already close.
 * - `adamw`: the paper's optimiser (AdamW lr 0.01, betas 0.9/0.9), per text.
 */
export type RefineRule = { kind: 'normalized'; size: number } | { kind: 'adamw'; adamw: AdamWOptions };

/** The paper's rule, and the default: the product's solver recipe, so a ladder rung is what `solve` would reach. */
export const PAPER_REFINE_RULE: RefineRule = { kind: 'adamw', adamw: PAPER_ADAMW };
export const DEFAULT_REFINE_RULE: RefineRule = PAPER_REFINE_RULE;

/** The normalised rule's step size, tuned on validation windows of the shipped N = 8 encoder (docs/encoder.md, "The ladder"). */
export const NORMALIZED_STEP = 0.1;

/** A rule's name as printed beside the ladder. */
export function describeRule(rule: RefineRule): string {
  return rule.kind === 'normalized'
    ? `normalised step: e <- e - ${rule.size} * g / rms(g) per text`
    : `AdamW lr ${rule.adamw.lr}, betas ${rule.adamw.beta1}/${rule.adamw.beta2}, wd ${rule.adamw.weightDecay} per text`;
}

export interface LadderOptions {
  /** The k at which to report, ascending, starting at 0 (e.g. 0,1,2,4,8,16,32); the largest is the budget. */
  steps: readonly number[];
  /** How e moves. Default DEFAULT_REFINE_RULE. */
  rule?: RefineRule;
  /** Texts refined together. Default 128. */
  batchSize?: number;
}

/** One start's accuracy after k steps. */
export interface LadderRung {
  k: number;
  /** Forward passes spent: k + 1. */
  passes: number;
  token_accuracy: number;
  exact_match: number;
}

/** One start's ladder. */
export interface LadderResult {
  rungs: LadderRung[];
  /** Forward passes each text needed to be reproduced exactly (null: not within the budget), in text order. */
  passes_to_solve: (number | null)[];
  /** Over the texts solved within the budget; null when none was. */
  median_passes: number | null;
  p90_passes: number | null;
  /** Fraction of texts reproduced within the budget. */
  solved_within_budget: number;
}

/** Per text, before aggregation: best hits at each reported k, and the passes to reproduce it. */
export interface LadderTexts {
  steps: number[];
  /** [rung][text]: tokens right by the best e seen up to that k. */
  bestHits: Float64Array[];
  /** Forward passes each text needed (null: not within the budget). */
  passes: (number | null)[];
}

/**
 * Refine `eStart` ([n * d], host) for texts `targets` ([n * N] int32) with fixed `m` [d], text by
 * text (`refinementLadder` aggregates; texts may be split among threads and joined with
 * `joinLadders`). Downloads one [R] hits sum and one [R] loss per pass.
 */
export async function ladderTexts(
  lm: CausalLM,
  m: Float32Array,
  targets: Int32Array,
  N: number,
  eStart: Float32Array,
  opts: LadderOptions,
): Promise<LadderTexts> {
  const d = lm.config.hiddenSize;
  const n = targets.length / N;
  if (!Number.isInteger(n) || eStart.length !== n * d) throw new Error(`refinementLadder: ${eStart.length} e values and ${targets.length} targets do not fit d=${d}, N=${N}`);
  const steps = ladderSteps(opts.steps);
  const budget = steps[steps.length - 1];
  const rule = opts.rule ?? DEFAULT_REFINE_RULE;
  const B = opts.batchSize ?? 128;
  const bestHits = steps.map(() => new Float64Array(n));
  const passes: (number | null)[] = new Array<number | null>(n).fill(null);
  const layout = layoutFor('e-m', N);
  const mT = tf.tensor2d(m, [1, d]);
  try {
    for (let s = 0; s < n; s += B) {
      const b = Math.min(B, n - s);
      await refineBatch(lm, layout, mT, targets.subarray(s * N, (s + b) * N), eStart.subarray(s * d, (s + b) * d), b, N, d, steps, budget, rule, (ki, row, hits) => {
        bestHits[ki][s + row] = hits;
      }, (row, p) => {
        passes[s + row] = p;
      });
    }
  } finally {
    mT.dispose();
  }
  return { steps, bestHits, passes };
}

/** The ladder's k, checked, without repeats, ascending. */
export function ladderSteps(given: readonly number[]): number[] {
  const steps = [...new Set(given)].sort((a, b) => a - b);
  if (steps.length === 0 || steps[0] < 0 || steps.some((k) => !Number.isInteger(k))) throw new Error(`refinementLadder: steps must be whole numbers >= 0, got ${given.join(',')}`);
  return steps;
}

/** Parts of one ladder over consecutive texts, joined in order. */
export function joinLadders(parts: readonly LadderTexts[]): LadderTexts {
  const steps = parts[0].steps;
  return {
    steps,
    bestHits: steps.map((_, ki) => {
      const out = new Float64Array(parts.reduce((n, p) => n + p.passes.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p.bestHits[ki], at);
        at += p.passes.length;
      }
      return out;
    }),
    passes: parts.flatMap((p) => p.passes),
  };
}

/** The texts of `t` whose flag in `keep` is 1, in order (e.g. the windows that copy no training window). */
export function selectLadderTexts(t: LadderTexts, keep: ArrayLike<number>): LadderTexts {
  if (keep.length !== t.passes.length) throw new Error(`selectLadderTexts: ${keep.length} flags for ${t.passes.length} texts`);
  const rows = t.passes.map((_, i) => i).filter((i) => keep[i] === 1);
  return { steps: t.steps, bestHits: t.bestHits.map((h) => Float64Array.from(rows, (i) => h[i])), passes: rows.map((i) => t.passes[i]) };
}

/** The aggregates of per-text ladders of texts of N tokens. */
export function summarizeLadder(t: LadderTexts, N: number): LadderResult {
  const n = t.passes.length;
  const rungs = t.steps.map((k, ki) => {
    let acc = 0;
    let exact = 0;
    for (let i = 0; i < n; i++) {
      acc += t.bestHits[ki][i] / N;
      if (t.bestHits[ki][i] === N) exact++;
    }
    return { k, passes: k + 1, token_accuracy: n ? acc / n : 0, exact_match: n ? exact / n : 0 };
  });
  const solved = t.passes.filter((p): p is number => p !== null).sort((a, b) => a - b);
  return {
    rungs,
    passes_to_solve: t.passes,
    median_passes: solved.length ? medianOfSorted(solved) : null,
    p90_passes: solved.length ? solved[Math.min(solved.length - 1, Math.ceil(0.9 * solved.length) - 1)] : null,
    solved_within_budget: n ? solved.length / n : 0,
  };
}

/** Refine and aggregate in one thread (see ladderTexts). */
export async function refinementLadder(
  lm: CausalLM,
  m: Float32Array,
  targets: Int32Array,
  N: number,
  eStart: Float32Array,
  opts: LadderOptions,
): Promise<LadderResult> {
  return summarizeLadder(await ladderTexts(lm, m, targets, N, eStart, opts), N);
}

async function refineBatch(
  lm: CausalLM,
  layout: ReturnType<typeof layoutFor>,
  m: tf.Tensor2D,
  targetsHost: Int32Array,
  eHost: Float32Array,
  b: number,
  N: number,
  d: number,
  steps: readonly number[],
  budget: number,
  rule: RefineRule,
  record: (stepIndex: number, row: number, bestHits: number) => void,
  solvedAt: (row: number, passes: number) => void,
): Promise<void> {
  let targets = tf.tensor2d(targetsHost, [b, N], 'int32');
  let state: AdamState = adamState(tf.tensor2d(eHost, [b, d]));
  const bestHits = new Float64Array(b).fill(-1);
  const bestLoss = new Float64Array(b).fill(Infinity);
  // The batch rows still refined, by their row in the batch: a reproduced text leaves the batch,
  // so a deep ladder costs the passes its texts need, not the budget times the batch.
  let rows = Array.from({ length: b }, (_, i) => i);
  try {
    for (let k = 0; k <= budget && rows.length > 0; k++) {
      const r = lossAndGrads(lm, layout, targets, state.param, m, false);
      const rowHits = tf.sum(r.hits, 1); // [rows]
      const [hitRows, loss] = await Promise.all([rowHits.data(), r.rowLoss.data()]);
      tf.dispose([rowHits, r.hits, r.rowLoss]);
      const ki = steps.indexOf(k);
      const stay: number[] = [];
      rows.forEach((row, a) => {
        // The best e seen so far: more tokens right, or as many at a lower loss.
        if (hitRows[a] > bestHits[row] || (hitRows[a] === bestHits[row] && loss[a] < bestLoss[row])) {
          bestHits[row] = hitRows[a];
          bestLoss[row] = loss[a];
        }
        if (ki >= 0) record(ki, row, bestHits[row]);
        if (bestHits[row] === N || k === budget) {
          if (bestHits[row] === N) solvedAt(row, k + 1);
          // Every later rung sees the same best e.
          for (let kj = 0; kj < steps.length; kj++) if (steps[kj] > k) record(kj, row, bestHits[row]);
        } else {
          stay.push(a);
        }
      });
      let g = r.gradE;
      if (stay.length < rows.length) {
        if (stay.length > 0) {
          const keep = tf.tensor1d(stay, 'int32');
          state = keepRows(state, keep);
          targets = gatherRows(targets, keep);
          g = gatherRows(g, keep);
          keep.dispose();
        }
        rows = stay.map((a) => rows[a]);
      }
      if (rows.length === 0) {
        g.dispose();
        break;
      }
      if (rule.kind === 'normalized') {
        const next = tf.tidy(() => {
          const rms = tf.sqrt(tf.add(tf.mean(tf.square(g), 1, true), 1e-12)); // [rows, 1]
          return tf.sub(state.param, tf.mul(rule.size, tf.div(g, rms))) as tf.Tensor2D;
        });
        state.param.dispose();
        state = { ...state, param: next };
      } else {
        const next = adamwUpdate(state, g, new Float32Array(rows.length).fill(k + 1), rule.adamw);
        tf.dispose([state.param, state.m1, state.m2]);
        state = next;
      }
      g.dispose();
    }
  } finally {
    tf.dispose([targets, state.param, state.m1, state.m2]);
  }
}

/** The ladder of every evaluated start, as `prototoken eval --ladder --json` reports it. */
export interface LadderSummary {
  /** The refinement rule, in words. */
  rule: string;
  /** The k reported. */
  steps: number[];
  methods: ({ method: string } & Omit<LadderResult, 'passes_to_solve'>)[];
}

/** The ladder summary of every start's per-text ladder, over the texts flagged 1 in `keep` (default all). */
export function ladderSummary(rule: RefineRule, starts: readonly { method: string; texts: LadderTexts }[], N: number, keep?: ArrayLike<number>): LadderSummary {
  const methods = starts.map(({ method, texts }) => {
    const r = summarizeLadder(keep ? selectLadderTexts(texts, keep) : texts, N);
    return { method, rungs: r.rungs, median_passes: r.median_passes, p90_passes: r.p90_passes, solved_within_budget: r.solved_within_budget };
  });
  return { rule: describeRule(rule), steps: [...(starts[0]?.texts.steps ?? [])], methods };
}

/** Token accuracy / exact match per k, then the passes to reproduce each text, one line per start. */
export function renderLadder(l: LadderSummary): string {
  const pct = (x: number): string => (100 * x).toFixed(1);
  const budget = l.steps[l.steps.length - 1];
  const header = ['start', ...l.steps.map((k) => `k=${k}`), 'median passes', 'p90', `exact within ${budget + 1}`];
  const rows = l.methods.map((m) => [
    m.method,
    ...m.rungs.map((r) => `${pct(r.token_accuracy)} / ${pct(r.exact_match)}`),
    m.median_passes === null ? '-' : String(m.median_passes),
    m.p90_passes === null ? '-' : String(m.p90_passes),
    `${pct(m.solved_within_budget)}%`,
  ]);
  return [
    `accuracy per LM pass: token accuracy / exact match (%) after k refinement steps (k + 1 forward passes), each text keeping its best e`,
    `rule: ${l.rule}`,
    ...formatTable([header, ...rows], header.map((_, i) => i > 0)),
  ].join('\n');
}
