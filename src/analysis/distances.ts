/**
 * How proto-token e vectors relate (the paper's look at the e space): cosine distances between
 * two solutions of one text (different seeds), of two continuations of one context, and of texts
 * from different contexts; beside each pair, the TF-IDF cosine distance of the two texts, so that
 * closeness in e can be read against closeness in wording.
 *
 * Memory is O(solutions): pairs are never listed. Sorted by (context, text), the partners of a
 * solution under each pair type are one contiguous run of later solutions, so a pair type is a
 * "pair space" of prefix counts in which the k-th pair is found by binary search. Each type draws
 * its pairs uniformly without replacement (Floyd's algorithm) from its own seeded stream, at most
 * `maxPairs` of them, so a cap never favours the texts that happen to come first.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/fs_atomic.js';
import { DISTANCE_PAIR_TYPES, RESULT_VERSION, type DistanceGroup, type DistancePairType, type DistancesResult } from './results.js';
import { summarize, type Summary } from '../util/stats.js';
import { vectorDistances } from '../encoder/compare.js';
import { TfidfIndex } from '../encoder/tfidf.js';
import { Prng, deriveSeed } from '../util/prng.js';
import { formatTable } from '../util/table.js';

/** How pairs are drawn. */
export interface DistancesOptions {
  /** Most pairs measured per pair type, drawn uniformly without replacement (all when fewer exist). Default 2000. */
  maxPairs: number;
  /** Seed of the draws; pair type t draws from stream deriveSeed(seed, t). Default 0. */
  seed: number;
}

export const DISTANCES_DEFAULTS: Readonly<DistancesOptions> = { maxPairs: 2000, seed: 0 };

/** One solution: the e found for one text under one seed. */
export interface Solution {
  /** Solutions with one text id have the same `tokenIds` (the loader refuses anything else). */
  textId: string;
  /** What the text continues; two texts with one context make same-context pairs. */
  context: string;
  /** The N target tokens, the text's TF-IDF bag. */
  tokenIds: ArrayLike<number>;
  /** [d] */
  e: Float32Array;
}

/** Two solutions, by index into the solutions. */
export interface SolutionPair {
  a: number;
  b: number;
}

/** All pairs of one type, addressable without listing them. */
export interface PairSpace {
  /** How many pairs there are. */
  readonly total: number;
  /** Pair k, 0 <= k < total; k ascending walks the solutions in (context, text) order. */
  pair(k: number): SolutionPair;
}

/** The pair space of every pair type over `solutions` (only `textId` and `context` are read). */
export function pairSpaces(solutions: readonly Pick<Solution, 'textId' | 'context'>[]): Record<DistancePairType, PairSpace> {
  const n = solutions.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => {
    const a = solutions[x];
    const b = solutions[y];
    return compareStrings(a.context, b.context) || compareStrings(a.textId, b.textId) || x - y;
  });
  // Exclusive ends of each position's text run and context run (a text lies inside one context).
  const textEnd = new Int32Array(n);
  const contextEnd = new Int32Array(n);
  for (let p = n - 1; p >= 0; p--) {
    const here = solutions[order[p]];
    const next = p + 1 < n ? solutions[order[p + 1]] : null;
    const sameContext = next !== null && next.context === here.context;
    contextEnd[p] = sameContext ? contextEnd[p + 1] : p + 1;
    textEnd[p] = sameContext && next.textId === here.textId ? textEnd[p + 1] : p + 1;
  }
  const after = Int32Array.from({ length: n }, (_, p) => p + 1);
  return {
    'same-text': spaceOf(order, after, textEnd),
    'same-context': spaceOf(order, textEnd, contextEnd),
    'different-context': spaceOf(order, contextEnd, new Int32Array(n).fill(n)),
  };
}

/** Position p's partners are positions [lo[p], hi[p]). */
function spaceOf(order: readonly number[], lo: Int32Array, hi: Int32Array): PairSpace {
  const n = order.length;
  // Float64: counts reach n^2 / 2, beyond int32 for n above ~65k.
  const start = new Float64Array(n + 1);
  for (let p = 0; p < n; p++) start[p + 1] = start[p] + Math.max(0, hi[p] - lo[p]);
  return {
    total: start[n],
    pair(k) {
      if (!(k >= 0 && k < start[n])) throw new RangeError(`PairSpace.pair: ${k} is outside [0, ${start[n]})`);
      // The last position whose pairs start at or before k; positions without partners are skipped by it.
      let l = 0;
      let h = n - 1;
      while (l < h) {
        const mid = (l + h + 1) >> 1;
        if (start[mid] <= k) l = mid;
        else h = mid - 1;
      }
      return { a: order[l], b: order[lo[l] + (k - start[l])] };
    },
  };
}

/**
 * `min(max, total)` distinct indices of [0, total), ascending: all of them when total <= max, else
 * a uniform draw without replacement (Floyd's algorithm: `max` steps whatever the total).
 */
export function drawIndices(total: number, max: number, rng: Prng): number[] {
  if (total <= max) return Array.from({ length: total }, (_, k) => k);
  const chosen = new Set<number>();
  for (let j = total - max; j < total; j++) {
    const t = below(rng, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((x, y) => x - y);
}

/** Uniform in [0, n); Prng.int stops at 2^32, beyond it 53 random bits leave a negligible bias. */
function below(rng: Prng, n: number): number {
  return n <= 2 ** 32 ? rng.int(0, n) : Math.floor(rng.uniform() * n);
}

/** Draw each pair type's pairs and measure them: one group per type, in DISTANCE_PAIR_TYPES order. */
export function distanceGroups(solutions: readonly Solution[], options: Partial<DistancesOptions> = {}): DistanceGroup[] {
  const o = { ...DISTANCES_DEFAULTS, ...options };
  if (!Number.isInteger(o.maxPairs) || o.maxPairs < 1) throw new RangeError(`distanceGroups: maxPairs must be a whole number >= 1, got ${o.maxPairs}`);
  const spaces = pairSpaces(solutions);
  const tfidf = solutions.length > 0 ? fitTfidf(solutions) : null;
  return DISTANCE_PAIR_TYPES.map((type, t) => {
    const space = spaces[type];
    const pairs = drawIndices(space.total, o.maxPairs, new Prng(deriveSeed(o.seed, t))).map((k) => space.pair(k));
    // One text id is one text (Solution's contract), so its distance to itself is 0, not rounding noise.
    const tfidfValues = pairs.map(({ a, b }) => (type === 'same-text' || tfidf === null ? 0 : asDistance(tfidf.similarity(solutions[a].tokenIds, solutions[b].tokenIds))));
    return distanceGroup(type, eDistances(solutions, pairs), tfidfValues);
  });
}

/** A group from its pairs' values (`cosineValues[i]` and `tfidfValues[i]` belong to pair i). */
export function distanceGroup(type: DistancePairType, cosineValues: number[], tfidfValues: number[]): DistanceGroup {
  if (cosineValues.length !== tfidfValues.length) throw new Error(`distanceGroup: ${cosineValues.length} e distances but ${tfidfValues.length} TF-IDF distances`);
  return { type, pairs: cosineValues.length, cosine: summarize(cosineValues), tfidf: summarize(tfidfValues), cosineValues, tfidfValues };
}

/**
 * TF-IDF fitted on each distinct text once (a text solved under many seeds must not lower the idf
 * of its own tokens). All texts have N tokens, which the index needs.
 */
function fitTfidf(solutions: readonly Solution[]): TfidfIndex {
  const N = solutions[0].tokenIds.length;
  const texts = new Map<string, ArrayLike<number>>();
  for (const s of solutions) {
    if (s.tokenIds.length !== N) throw new Error(`distances: text '${s.textId}' has ${s.tokenIds.length} tokens, others ${N}`);
    if (!texts.has(s.textId)) texts.set(s.textId, s.tokenIds);
  }
  const ids = new Int32Array(texts.size * N);
  [...texts.values()].forEach((t, i) => ids.set(t, i * N));
  return new TfidfIndex(ids, N);
}

/** 1 - cos(e_a, e_b) per pair; an all-zero e counts as orthogonal (distance 1). */
function eDistances(solutions: readonly Solution[], pairs: readonly SolutionPair[]): number[] {
  if (pairs.length === 0) return [];
  const d = solutions[0].e.length;
  // Gathered a slice at a time, so memory stays at CHUNK rows whatever maxPairs is.
  const CHUNK = 256;
  const a = new Float32Array(CHUNK * d);
  const b = new Float32Array(CHUNK * d);
  const out: number[] = [];
  for (let s = 0; s < pairs.length; s += CHUNK) {
    const part = pairs.slice(s, s + CHUNK);
    part.forEach((p, r) => {
      a.set(solutions[p.a].e, r * d);
      b.set(solutions[p.b].e, r * d);
    });
    const { cosine } = vectorDistances(a.subarray(0, part.length * d), b.subarray(0, part.length * d), d);
    for (const c of cosine) out.push(asDistance(c));
  }
  return out;
}

/** 1 - similarity, kept in [0, 2] (rounding can put a text's similarity to itself a hair above 1). */
function asDistance(similarity: number): number {
  return Math.min(2, Math.max(0, 1 - similarity));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Why a pair type can have no pairs, and what gives it some. */
const EMPTY_HINTS: Readonly<Record<DistancePairType, string>> = {
  'same-text': 'no text has two solutions: pass a second dataset of the same texts solved with another --seed',
  'same-context': 'no context has two texts: solve model continuations with `solve --kind generated --continuations K`',
  'different-context': 'every solution is of one context',
};

/** The terminal table: pairs, mean ± std and median of both distances per pair type, then hints for empty types. */
export function renderDistances(groups: readonly DistanceGroup[]): string[] {
  const fmt = (x: number | null): string => (x === null ? '-' : x.toFixed(4));
  const spread = (s: Summary): string => (s.mean === null ? '-' : `${fmt(s.mean)} ± ${fmt(s.std)}`);
  const rows = groups.map((g) => [g.type, String(g.pairs), spread(g.cosine), fmt(g.cosine.median), spread(g.tfidf), fmt(g.tfidf.median)]);
  const header = ['pair type', 'pairs', 'e 1-cos mean ± std', 'median', 'TF-IDF 1-cos mean ± std', 'median'];
  const hints = groups.filter((g) => g.pairs === 0).map((g) => `  (${g.type}: ${EMPTY_HINTS[g.type]})`);
  return [...formatTable([header, ...rows], [false, true, true, true, true, true]), ...hints];
}

/** `prototoken distances`' config keys. */
export const distancesSchema = z.object({
  /** Solution dataset folders; the command's arguments replace these when given. */
  datasets: z.array(z.string().min(1)).default([]),
  /** Folder for result.json and config.json. */
  out: z.string().min(1),
  /** Seed of the pair draws. */
  seed: z.number().int().min(0).default(DISTANCES_DEFAULTS.seed),
  maxPairs: z.number().int().min(1).default(DISTANCES_DEFAULTS.maxPairs),
  includeUnsolved: z.boolean().default(false),
});

/** Draw the pairs, compute the distances, and write `config.out`/result.json and config.json. */
export async function writeDistances(config: z.infer<typeof distancesSchema>, inputs: { solutions: readonly Solution[]; model: string }): Promise<{ groups: DistanceGroup[]; resultFile: string }> {
  const groups = distanceGroups(inputs.solutions, { maxPairs: config.maxPairs, seed: config.seed });
  const result: DistancesResult = { kind: 'distances', version: RESULT_VERSION, model: inputs.model, created: new Date().toISOString(), groups };
  await fsp.mkdir(config.out, { recursive: true });
  const resultFile = join(config.out, 'result.json');
  await writeFileAtomic(resultFile, JSON.stringify(result) + '\n');
  await writeFileAtomic(join(config.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return { groups, resultFile };
}
