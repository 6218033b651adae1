/**
 * Counts and summary statistics of a solution table, for dataset_info.json and `inspect`.
 * Rows are (text, restart) pairs, so text-level counts de-duplicate by text_id.
 */
import type { SolutionColumns } from './columns.js';
import { type Summary, summarize } from '../util/stats.js';

/** What dataset_info.json reports about the rows. */
export interface DatasetStats {
  counts: { rows: number; texts: number; solved_rows: number; solved_texts: number };
  /** solved_texts / texts (a text counts as solved when any of its restarts is); null when empty. */
  solved_rate: number | null;
  accuracy: Summary;
  steps: Summary;
  n_tokens: Summary;
  c_tokens: Summary;
  h_lm_nats: Summary;
  seconds: Summary & { total: number };
  /** Texts per split. */
  splits: { train: number; val: number; test: number };
}

/** The plain columns statistics are computed from (gathered by StatAccumulator). */
export interface StatColumns {
  textId: string[];
  split: string[];
  solved: boolean[];
  accuracy: Float32Array;
  steps: Int32Array;
  nTokens: Int32Array;
  cTokens: Int32Array;
  hLmNats: Float64Array;
  seconds: Float32Array;
}

/** Statistics of `c`. */
export function computeStats(c: StatColumns): DatasetStats {
  const texts = new Set(c.textId);
  const solvedTexts = new Set(c.textId.filter((_, i) => c.solved[i]));
  const splitOfText = new Map<string, string>();
  c.textId.forEach((id, i) => splitOfText.set(id, c.split[i]));
  const splits = { train: 0, val: 0, test: 0 };
  for (const s of splitOfText.values()) if (s === 'train' || s === 'val' || s === 'test') splits[s]++;
  let total = 0;
  for (const s of c.seconds) total += s;
  return {
    counts: { rows: c.textId.length, texts: texts.size, solved_rows: c.solved.filter(Boolean).length, solved_texts: solvedTexts.size },
    solved_rate: texts.size ? solvedTexts.size / texts.size : null,
    accuracy: summarize(c.accuracy),
    steps: summarize(c.steps),
    n_tokens: summarize(c.nTokens),
    c_tokens: summarize(c.cTokens),
    h_lm_nats: summarize(c.hLmNats),
    seconds: { ...summarize(c.seconds), total },
    splits,
  };
}

/** The per-row fields statistics need, gathered batch by batch (never e or m). */
export class StatAccumulator {
  private readonly textId: string[] = [];
  private readonly split: string[] = [];
  private readonly solved: boolean[] = [];
  private readonly nums = { accuracy: [] as number[], steps: [] as number[], nTokens: [] as number[], cTokens: [] as number[], hLmNats: [] as number[], seconds: [] as number[] };

  /** Add the rows of `c`. */
  add(c: SolutionColumns): void {
    for (let i = 0; i < c.rows; i++) {
      this.textId.push(c.textId[i]);
      this.split.push(c.split[i]);
      this.solved.push(c.solved[i] === 1);
      this.nums.accuracy.push(c.accuracy[i]);
      this.nums.steps.push(c.steps[i]);
      this.nums.nTokens.push(c.tokenOffsets[i + 1] - c.tokenOffsets[i]);
      this.nums.cTokens.push(c.cTokens[i]);
      this.nums.hLmNats.push(c.hLmNats[i]);
      this.nums.seconds.push(c.seconds[i]);
    }
  }

  get rows(): number {
    return this.textId.length;
  }

  /** Everything added so far, as StatColumns. */
  columns(): StatColumns {
    const n = this.nums;
    return {
      textId: this.textId,
      split: this.split,
      solved: this.solved,
      accuracy: Float32Array.from(n.accuracy),
      steps: Int32Array.from(n.steps),
      nTokens: Int32Array.from(n.nTokens),
      cTokens: Int32Array.from(n.cTokens),
      hLmNats: Float64Array.from(n.hLmNats),
      seconds: Float32Array.from(n.seconds),
    };
  }
}
