/**
 * The capacity summary of `prototoken capacity` (its `--json` object), and how it is computed from
 * a capacity dataset's rows, shared by the command and by `prototoken report`.
 */
import { summarize } from '../util/stats.js';

/** One text of `prototoken capacity --json` (`texts`): its capacity in one (source, m mode) run. */
export interface CapacityTextRow {
  source: string;
  /** 'per-text' or 'shared'. */
  m: string;
  id: string;
  capacity: number;
  h_lm_nats: number;
  /**
   * It passed the longest length it could try (the grid's top, the model's positions or its own
   * length), so its true capacity may be higher. Absent where it is not known (a report of a
   * capacity dataset, which records no text lengths beyond the solved one).
   */
  at_grid_top?: boolean;
}

/** One line of the summary table (`table` of `prototoken capacity --json`). */
export interface CapacityTableRow {
  source: string;
  m: string;
  texts: number;
  capacity_mean: number;
  capacity_std: number;
  capacity_max: number;
  h_lm_mean: number;
  h_lm_std: number;
  /** How many of the texts are `at_grid_top` (their capacity is a lower bound), when known for all. */
  capacity_at_grid_top?: number;
}

/** The whole `prototoken capacity --json` object. */
export interface CapacitySummary {
  out: string;
  table: CapacityTableRow[];
  texts: CapacityTextRow[];
  interrupted: boolean;
}

/**
 * A text's capacity from its stored row: the row is the solve at the capacity length (or at the
 * first length tried, when none passed), so it counts only if it reached the threshold.
 */
export function capacityOfRow(row: { accuracy: number; nTokens: number }, threshold: number): number {
  return row.accuracy >= threshold ? row.nTokens : 0;
}

/**
 * The paper's summary table: one line per (source, m), in order of first appearance, with the
 * same population statistics as `inspect` and dataset_info.json.
 */
export function capacityTable(texts: readonly CapacityTextRow[]): CapacityTableRow[] {
  const groups = new Map<string, CapacityTextRow[]>();
  for (const t of texts) {
    const key = JSON.stringify([t.source, t.m]);
    const g = groups.get(key);
    if (g) g.push(t);
    else groups.set(key, [t]);
  }
  return [...groups.values()].map((g) => {
    const caps = summarize(g.map((t) => t.capacity));
    const h = summarize(g.map((t) => t.h_lm_nats));
    const known = g.every((t) => t.at_grid_top !== undefined);
    return {
      source: g[0].source, m: g[0].m, texts: g.length,
      capacity_mean: caps.mean ?? 0, capacity_std: caps.std ?? 0, capacity_max: caps.max ?? 0, h_lm_mean: h.mean ?? 0, h_lm_std: h.std ?? 0,
      ...(known ? { capacity_at_grid_top: g.filter((t) => t.at_grid_top).length } : {}),
    };
  });
}

/**
 * What a capacity run appends to the dataset's `init`, the one place the m mode is recorded (the
 * rows always carry m as a column, so `m.mode` cannot tell a shared m from per-text ones).
 */
export const CAPACITY_M_NOTE = { shared: '; m shared by the texts at each length', 'per-text': '; m per text' } as const;

/** The m mode of a capacity dataset, from its recorded `init`. */
export function capacityMMode(init: string): 'shared' | 'per-text' {
  return init.endsWith(CAPACITY_M_NOTE.shared) ? 'shared' : 'per-text';
}
