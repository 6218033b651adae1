/**
 * Are the solutions of a text "localized" (the paper's word)? Among several solutions of several
 * texts (same model, N, arrangement and m setting), compare the distances between two solutions
 * of one text with the distances from a solution to other texts' solutions, and count how often a
 * solution's nearest neighbour solves its own text. Localized would mean: same-text distances
 * clearly below other-text ones, and nearest neighbours of the same text; when each solution mostly
 * keeps its random start, both kinds of distance are alike and nearest neighbours are chance.
 *
 * Every pair is measured (O(n^2 w)), so callers bound n (`interpolate` passes the solutions of the
 * texts it pairs).
 */
import { summarize, type Summary } from '../util/stats.js';
import { vectorDistances } from '../encoder/compare.js';

/** One solution as one vector (e, or e then m when m is per text; see solutions.ts `pointOf`). */
export interface LocalizedPoint {
  textId: string;
  x: Float32Array;
}

/** What `localization` measures. */
export interface Localization {
  solutions: number;
  texts: number;
  /** Euclidean distance between two solutions of one text, over every such pair. */
  sameText: Summary;
  /** Euclidean distance between solutions of two different texts, over every such pair. */
  otherText: Summary;
  /** 1 - cos between two solutions of one text / of different texts. */
  sameTextCosine: Summary;
  otherTextCosine: Summary;
  /** Mean same-text distance / mean other-text distance (Euclidean): well below 1 when localized. */
  ratio: number | null;
  /** Of the solutions whose text has another, the share whose nearest other solution (Euclidean) solves the same text. */
  nearestSameText: number | null;
  /** That share if neighbours were drawn at random: mean over those solutions of (own text's others) / (all others). */
  nearestSameTextByChance: number | null;
}

/** Measure `points` (see the module comment). */
export function localization(points: readonly LocalizedPoint[]): Localization {
  const n = points.length;
  const w = n > 0 ? points[0].x.length : 0;
  const same: number[] = [];
  const other: number[] = [];
  const sameCos: number[] = [];
  const otherCos: number[] = [];
  const nearest = new Array<{ dist: number; same: boolean }>(n).fill({ dist: Infinity, same: false });
  for (let i = 0; i < n; i++) {
    // Row i against every later row in one call: rows of a and b pair up.
    const later = n - i - 1;
    if (later === 0) break;
    const a = new Float32Array(later * w);
    const b = new Float32Array(later * w);
    for (let j = i + 1; j < n; j++) {
      a.set(points[i].x, (j - i - 1) * w);
      b.set(points[j].x, (j - i - 1) * w);
    }
    const { cosine, l2 } = vectorDistances(a, b, w);
    for (let j = i + 1; j < n; j++) {
      const k = j - i - 1;
      const isSame = points[i].textId === points[j].textId;
      (isSame ? same : other).push(l2[k]);
      (isSame ? sameCos : otherCos).push(1 - cosine[k]);
      if (l2[k] < nearest[i].dist) nearest[i] = { dist: l2[k], same: isSame };
      if (l2[k] < nearest[j].dist) nearest[j] = { dist: l2[k], same: isSame };
    }
  }
  const count = new Map<string, number>();
  for (const p of points) count.set(p.textId, (count.get(p.textId) ?? 0) + 1);
  const eligible = points.map((_, i) => i).filter((i) => (count.get(points[i].textId) ?? 0) > 1);
  const mean = (v: number[]): number | null => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : null);
  const sameMean = mean(same);
  const otherMean = mean(other);
  return {
    solutions: n,
    texts: count.size,
    sameText: summarize(same),
    otherText: summarize(other),
    sameTextCosine: summarize(sameCos),
    otherTextCosine: summarize(otherCos),
    ratio: sameMean !== null && otherMean !== null && otherMean > 0 ? sameMean / otherMean : null,
    nearestSameText: mean(eligible.map((i) => (nearest[i].same ? 1 : 0))),
    nearestSameTextByChance: mean(eligible.map((i) => ((count.get(points[i].textId) as number) - 1) / (n - 1))),
  };
}
