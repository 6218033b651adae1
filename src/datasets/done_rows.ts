/**
 * What a dataset already holds, for resume: which texts are complete (skip them) and, when every
 * restart is kept, which (text, restart) rows are stored (solve only the missing restarts).
 */
import type { RestartsInfo } from './info.js';

export class DoneRows {
  /** Texts that need nothing more: present at all (best restart kept), or with all K restarts stored. */
  readonly doneIds = new Set<string>();
  private readonly stored = new Map<string, Set<number>>();

  /** `restarts`: the dataset's RestartsInfo, undefined when it keeps one row per text. */
  constructor(private readonly restarts: RestartsInfo | undefined) {}

  /** Record a stored row. */
  add(textId: string, restart: number): void {
    let set = this.stored.get(textId);
    if (!set) this.stored.set(textId, (set = new Set()));
    set.add(this.restarts ? restart : 0);
    if (!this.restarts || set.size >= this.restarts.count) this.doneIds.add(textId);
  }

  /** Whether the row is stored: the text at all (best kept), or this very restart (all kept). */
  has(textId: string, restart: number): boolean {
    const set = this.stored.get(textId);
    return set !== undefined && (!this.restarts || set.has(restart));
  }

  /**
   * Restarts of the text not stored yet, ascending (all of 0..K-1 for a new text, [] when done);
   * null when the dataset keeps one row per text, whose restarts are solved together or not at all.
   */
  missing(textId: string): number[] | null {
    if (!this.restarts) return null;
    const set = this.stored.get(textId);
    return [...Array(this.restarts.count).keys()].filter((r) => !set?.has(r));
  }

  /** A copy (the rows present at some moment). */
  snapshot(): DoneRows {
    const copy = new DoneRows(this.restarts);
    for (const [id, set] of this.stored) for (const r of set) copy.add(id, r);
    return copy;
  }
}
