/**
 * TF-IDF nearest neighbours over bags of token ids, matching scikit-learn's TfidfVectorizer
 * defaults (raw counts, smooth idf = ln((1+n)/(1+df)) + 1, l2-normalised rows) fitted on the
 * reference windows. An inverted index (token -> reference rows) keeps a query's cost to the
 * postings of its own tokens, so 10k references x 5k queries take well under a second.
 */

/** A fitted index: the vocabulary and idf come from the reference windows only. */
export class TfidfIndex {
  /** Reference windows indexed. */
  readonly size: number;
  /** idf by token id (tokens never seen in the reference have none). */
  readonly idf: ReadonlyMap<number, number>;
  // Postings in CSR form: token k's rows are rows[start[k] .. start[k+1]), with their l2-normalised weights.
  private readonly slot: Map<number, number>;
  private readonly start: Int32Array;
  private readonly rows: Int32Array;
  private readonly weights: Float64Array;

  /** `ids` holds `ids.length / N` reference windows of N tokens each. */
  constructor(ids: Int32Array, N: number) {
    const n = ids.length / N;
    if (!Number.isInteger(n)) throw new Error(`TfidfIndex: ${ids.length} ids do not split into windows of N=${N}`);
    this.size = n;
    const bags = Array.from({ length: n }, (_, r) => bagOf(ids.subarray(r * N, (r + 1) * N)));
    const df = new Map<number, number>();
    for (const bag of bags) for (const t of bag.keys()) df.set(t, (df.get(t) ?? 0) + 1);
    const idf = new Map<number, number>();
    for (const [t, f] of df) idf.set(t, Math.log((1 + n) / (1 + f)) + 1);
    this.idf = idf;

    this.slot = new Map();
    const counts: number[] = [];
    for (const [t, f] of df) {
      this.slot.set(t, counts.length);
      counts.push(f);
    }
    this.start = new Int32Array(counts.length + 1);
    for (let k = 0; k < counts.length; k++) this.start[k + 1] = this.start[k] + counts[k];
    this.rows = new Int32Array(this.start[counts.length]);
    this.weights = new Float64Array(this.rows.length);
    const fill = this.start.slice(0, counts.length);
    bags.forEach((bag, r) => {
      const w = weigh(bag, idf);
      for (const [t, v] of w) {
        const k = this.slot.get(t) as number;
        this.rows[fill[k]] = r;
        this.weights[fill[k]] = v;
        fill[k]++;
      }
    });
  }

  /** Cosine similarity of one query window to every reference window: [size]. */
  similarities(query: ArrayLike<number>): Float64Array {
    const scores = new Float64Array(this.size);
    this.accumulate(query, scores);
    return scores;
  }

  /**
   * Index of the most similar reference window for each of the `queries.length / N` query windows.
   * Ties (including a query with no token the reference knows) go to the lowest index.
   */
  nearest(queries: Int32Array, N: number): Int32Array {
    const q = queries.length / N;
    if (!Number.isInteger(q)) throw new Error(`TfidfIndex.nearest: ${queries.length} ids do not split into windows of N=${N}`);
    const out = new Int32Array(q);
    const scores = new Float64Array(this.size);
    for (let i = 0; i < q; i++) {
      scores.fill(0);
      this.accumulate(queries.subarray(i * N, (i + 1) * N), scores);
      out[i] = argmaxFirst(scores);
    }
    return out;
  }

  /** Cosine similarity of two windows, each weighed with this index's idf as a query is. */
  similarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
    const wa = this.queryVector(a);
    let dot = 0;
    for (const [t, v] of this.queryVector(b)) dot += v * (wa.get(t) ?? 0);
    return dot;
  }

  private queryVector(query: ArrayLike<number>): Map<number, number> {
    // Tokens outside the reference vocabulary are dropped, as sklearn's transform does.
    const known = new Map<number, number>();
    for (const [t, c] of bagOf(query)) if (this.idf.has(t)) known.set(t, c);
    return weigh(known, this.idf);
  }

  private accumulate(query: ArrayLike<number>, scores: Float64Array): void {
    for (const [t, wq] of this.queryVector(query)) {
      const k = this.slot.get(t) as number;
      for (let p = this.start[k]; p < this.start[k + 1]; p++) scores[this.rows[p]] += wq * this.weights[p];
    }
  }
}

/** Token id -> count. */
function bagOf(ids: ArrayLike<number>): Map<number, number> {
  const bag = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) bag.set(ids[i], (bag.get(ids[i]) ?? 0) + 1);
  return bag;
}

/** count x idf, l2-normalised (an empty bag stays empty). Every token of `bag` must have an idf. */
function weigh(bag: ReadonlyMap<number, number>, idf: ReadonlyMap<number, number>): Map<number, number> {
  const w = new Map<number, number>();
  let norm = 0;
  for (const [t, c] of bag) {
    const v = c * (idf.get(t) as number);
    w.set(t, v);
    norm += v * v;
  }
  norm = Math.sqrt(norm);
  if (norm > 0) for (const [t, v] of w) w.set(t, v / norm);
  return w;
}

/** Index of the largest value; the first one on ties. */
export function argmaxFirst(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}
