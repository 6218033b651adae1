/**
 * Baseline e vectors for query texts, computed from the solved reference windows a checkpoint
 * carries: what an encoder must beat. Host-side typed-array loops (no tf), sized for 10k
 * references x 5k queries at N = 8..16 in seconds.
 */
import { Prng } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';
import type { ReferenceSet } from './types.js';
import { TfidfIndex } from './tfidf.js';
import { TokenIndex } from './token_index.js';

export const BASELINE_KINDS = ['mean-e', 'nn-tokens', 'nn-tfidf', 'random'] as const;
/**
 * mean-e: the mean reference e (the constant start). nn-tokens: the e of the reference window
 * with the most same-position tokens. nn-tfidf: the e of the reference window with the highest
 * TF-IDF cosine. random: N(0, 1) per coordinate.
 */
export type BaselineKind = (typeof BASELINE_KINDS)[number];

export interface BaselineOptions {
  /** Tokens per query window. Default: the reference's N. */
  queryN?: number;
  /** Seed of the `random` baseline's Prng. Default 0. */
  seed?: number;
}

/** e [q * d] of baseline `kind` for the `queries.length / queryN` query windows. */
export function baselineE(kind: BaselineKind, reference: ReferenceSet, queries: Int32Array, opts: BaselineOptions = {}): Float32Array {
  const queryN = opts.queryN ?? reference.N;
  const q = queryCount(queries, queryN);
  const { d } = reference;
  switch (kind) {
    case 'random':
      return new Prng(opts.seed ?? 0).normals(q * d);
    case 'mean-e': {
      const mean = meanE(reference);
      const out = new Float32Array(q * d);
      for (let i = 0; i < q; i++) out.set(mean, i * d);
      return out;
    }
    case 'nn-tokens':
      return gatherE(reference, nearestByTokens(reference, queries, queryN));
    case 'nn-tfidf':
      checkReference(reference);
      return gatherE(reference, new TfidfIndex(reference.ids, reference.N).nearest(queries, queryN));
  }
}

/** The mean of the reference e [d], accumulated in float64. */
export function meanE(reference: ReferenceSet): Float32Array {
  const n = checkReference(reference);
  const { d, e } = reference;
  const sum = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) sum[j] += e[r * d + j];
  return Float32Array.from(sum, (s) => s / n);
}

/**
 * For each query window, the reference row with the most positions i where query[i] equals
 * reference[i]; ties go to the lowest row. When the query's N differs from the reference's, only
 * the first min(N_query, N_ref) positions are compared.
 */
export function nearestByTokens(reference: ReferenceSet, queries: Int32Array, queryN: number = reference.N): Int32Array {
  return nearestWindows(reference, queries, queryN).rows;
}

/** One index per reference set and query length, built on first use (a reference set is never changed once made). */
const indexes = new WeakMap<ReferenceSet, Map<number, TokenIndex>>();

/**
 * `nearestByTokens` with the number of positions each query shares with its row (`matches`): a
 * solved row's e reproduces its own text, so matches / N is that e's one-pass accuracy on the query.
 */
export function nearestWindows(reference: ReferenceSet, queries: Int32Array, queryN: number = reference.N): { rows: Int32Array; matches: Int32Array } {
  checkReference(reference);
  queryCount(queries, queryN);
  let byN = indexes.get(reference);
  if (!byN) indexes.set(reference, (byN = new Map()));
  let index = byN.get(queryN);
  if (!index) byN.set(queryN, (index = new TokenIndex(reference.ids, reference.N, queryN)));
  return index.nearest(queries, queryN);
}

/**
 * How many query windows equal some reference window token for token: a measure of test texts
 * leaked into training. With different N, the first min(N_query, N_ref) tokens are compared
 * (a query that is a prefix of a training window is leaked too).
 */
export function exactCopies(reference: ReferenceSet, queries: Int32Array, queryN: number = reference.N): number {
  return copyFlags(reference, queries, queryN).reduce((sum, f) => sum + f, 0);
}

/** Per query window: 1 if it equals some reference window token for token (as `exactCopies`), else 0. */
export function copyFlags(reference: ReferenceSet, queries: Int32Array, queryN: number = reference.N): Uint8Array {
  const n = checkReference(reference);
  const q = queryCount(queries, queryN);
  const L = Math.min(reference.N, queryN);
  const seen = new Set<string>();
  for (let r = 0; r < n; r++) seen.add(reference.ids.subarray(r * reference.N, r * reference.N + L).join(','));
  const flags = new Uint8Array(q);
  for (let i = 0; i < q; i++) if (seen.has(queries.subarray(i * queryN, i * queryN + L).join(','))) flags[i] = 1;
  return flags;
}

/** The reference e of each chosen row: [rows.length * d]. */
export function gatherE(reference: ReferenceSet, rows: Int32Array): Float32Array {
  const { d, e } = reference;
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(e.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/** Row count of a consistent, non-empty reference set. */
function checkReference(reference: ReferenceSet): number {
  const { N, d, ids, e, textIds } = reference;
  const n = textIds.length;
  if (ids.length !== n * N || e.length !== n * d) {
    throw new Error(`ReferenceSet: ${n} text ids, ${ids.length} token ids and ${e.length} e values do not fit N=${N}, d=${d}`);
  }
  if (n === 0) {
    throw new PrototokenError('the reference set is empty, so there is no mean e or nearest neighbour', {
      fix: 'use a checkpoint trained with reference windows, or only the random baseline',
    });
  }
  return n;
}

function queryCount(queries: Int32Array, queryN: number): number {
  const q = queries.length / queryN;
  if (!(queryN > 0) || !Number.isInteger(q)) throw new Error(`baselines: ${queries.length} query ids do not split into windows of N=${queryN}`);
  return q;
}
