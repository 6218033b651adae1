/**
 * Which rows of a dataset's sources survive, shared by merge, the readers and the loader so they
 * all see the same rows. Sources are fed in order (parts in shard order, then data.arrow).
 *
 * One row per text (the best restart): a text id belongs to the first source that holds it; its
 * rows in later sources are duplicates. Restarts of one text live in one source, so they all
 * survive; an exact (text_id, seed) repeat inside a source is dropped.
 *
 * Every restart kept (`allRestarts`): a row is keyed by (text_id, restart). Restarts of one text
 * may sit in different parts (a run resumed with another shard count), so the first source that
 * holds a (text, restart) wins and no source owns a whole text.
 *
 * Memory: one map entry per text and one set entry per row key, never the rows themselves.
 */

/** The columns the rule needs. */
export interface KeyColumns {
  rows: number;
  textId: readonly string[];
  seed: ArrayLike<bigint>;
  restart: ArrayLike<number>;
}

/** Applies the rule batch by batch; feed sources in order. */
export class RowFilter {
  private readonly owner = new Map<string, number>();
  private readonly seen = new Set<string>();
  /** Rows dropped because an earlier source (or the same source, same key) already held them. */
  duplicatesDropped = 0;
  /** Rows kept from data.arrow (sources flagged `fromDataFile`): their parts are gone. */
  carriedOver = 0;

  /** `allRestarts`: the dataset keeps every restart as its own row (see the module comment). */
  constructor(private readonly allRestarts = false) {}

  /** Indices of the rows of `cols` (from source number `source`) to keep, in order. */
  keep(cols: KeyColumns, source: number, fromDataFile: boolean): number[] {
    const kept: number[] = [];
    for (let i = 0; i < cols.rows; i++) {
      const id = cols.textId[i];
      const key = this.allRestarts ? `${id}\u0000r${cols.restart[i]}` : `${id}\u0000${cols.seed[i]}`;
      const o = this.owner.get(id);
      if ((this.allRestarts || o === undefined || o === source) && !this.seen.has(key)) {
        if (o === undefined) this.owner.set(id, source);
        this.seen.add(key);
        kept.push(i);
      } else if (!fromDataFile) {
        this.duplicatesDropped++;
      }
    }
    if (fromDataFile) this.carriedOver += kept.length;
    return kept;
  }

  /** Distinct text ids seen so far. */
  get texts(): number {
    return this.owner.size;
  }
}
