/**
 * Nearest reference window by same-position tokens: the `nn-tokens` baseline's lookup, and the
 * retrieval step of the `retrieve-edit` encoder. An inverted index (position, token) -> rows, so a
 * query only touches the rows that share a token with it.
 */
import { argmaxFirst } from './tfidf.js';

export class TokenIndex {
  /** Rows of the reference. */
  readonly size: number;
  /** Positions compared: min(reference N, query N). */
  readonly length: number;
  private readonly postings = new Map<number, number[]>();

  /**
   * @param ids reference windows [rows * N] int32
   * @param N tokens per reference window
   * @param queryN tokens per query window (only the first min(N, queryN) positions are compared)
   */
  constructor(ids: Int32Array, readonly N: number, queryN: number = N) {
    this.size = ids.length / N;
    this.length = Math.min(N, queryN);
    for (let r = 0; r < this.size; r++) {
      for (let p = 0; p < this.length; p++) {
        const k = this.key(p, ids[r * N + p]);
        const list = this.postings.get(k);
        if (list) list.push(r);
        else this.postings.set(k, [r]);
      }
    }
  }

  /**
   * For each query window [q * queryN], the reference row with the most positions i where
   * query[i] equals reference[i]; ties go to the lowest row. `exclude[i]` (>= 0) is a row query i
   * may not match: a training window must not retrieve itself.
   */
  nearest(queries: Int32Array, queryN: number, exclude?: Int32Array): { rows: Int32Array; matches: Int32Array } {
    const q = queries.length / queryN;
    const rows = new Int32Array(q);
    const best = new Int32Array(q);
    const counts = new Int32Array(this.size);
    for (let i = 0; i < q; i++) {
      counts.fill(0);
      for (let p = 0; p < this.length; p++) {
        const list = this.postings.get(this.key(p, queries[i * queryN + p]));
        if (list) for (const r of list) counts[r]++;
      }
      // -1 ranks below every real count (0..N), so an excluded row is never chosen while another exists.
      if (exclude && exclude[i] >= 0) counts[exclude[i]] = -1;
      rows[i] = argmaxFirst(counts);
      best[i] = Math.max(0, counts[rows[i]]);
    }
    return { rows, matches: best };
  }

  private key(pos: number, token: number): number {
    return token * this.length + pos;
  }
}
