/**
 * The evaluation table: several methods' e vectors for the same texts, each judged by one pass
 * of the frozen LM (token accuracy, exact match, first error), overall and by text length.
 */
import type { CausalLM } from '../lm/types.js';
import { formatTable } from '../util/table.js';
import { type OnePassOptions, onePass } from './onepass.js';
import type { OnePassRow } from './types.js';
import type { LadderSummary } from './ladder.js';
import type { HeadToHead } from './head_to_head.js';

/** One method's one-pass rows, one per text, in text order. */
export interface MethodRows {
  name: string;
  rows: readonly OnePassRow[];
}

/** Aggregates over a set of texts. */
export interface EvalStats {
  texts: number;
  /** Mean over texts of each text's token accuracy. */
  token_accuracy: number;
  /** Fraction of texts emitted exactly. */
  exact_match: number;
  /** Mean index of the first wrong output (N for an exact text). */
  mean_first_error: number;
}

export interface MethodEval extends EvalStats {
  method: string;
  /** The same aggregates per text length N (keys are N as strings, ascending). */
  by_n: Record<string, EvalStats>;
}

/** Also the JSON shape of `prototoken eval --json`. */
export interface EvalTable {
  methods: MethodEval[];
}

/** The evaluation on the texts that copy no training window, and with --ladder their ladder. */
export type UnseenWindows = EvalTable & { texts: number; ladder?: LadderSummary };

/** The whole `prototoken eval --json` object: the table plus what it was measured on. */
export interface EvalSummary extends EvalTable {
  checkpoint: string;
  /** The texts file or dataset the texts came from. */
  source: string;
  split: string;
  N: number;
  texts: number;
  too_short: number;
  /** Texts identical to a training window of the checkpoint's reference set (null: no reference of length N). */
  exact_copies_of_training_windows: number | null;
  /**
   * The table again on the texts that copy no training window: held-out text that retrieval cannot
   * look up verbatim (a copy is reproduced exactly by the nearest neighbour's e). Present when some
   * texts are copies and some are not.
   */
  unseen_windows?: UnseenWindows;
  encoder_texts_per_sec: number;
  /** Methods left out, and why. */
  notes: string[];
  /** The encoder (first method) against each other method, text by text (absent in files from before it). */
  head_to_head?: HeadToHead[];
  /** With --ladder: accuracy after k refinement steps from each method's e. */
  ladder?: LadderSummary;
}

/** Aggregate every method's rows. All methods must cover the same texts (same count, same N in order). */
export function evalTable(methods: readonly MethodRows[]): EvalTable {
  const first = methods[0]?.rows ?? [];
  for (const m of methods) {
    if (m.rows.length !== first.length || m.rows.some((r, i) => r.N !== first[i].N)) {
      throw new Error(`evalTable: method "${m.name}" does not cover the same texts as "${methods[0].name}"`);
    }
  }
  return {
    methods: methods.map((m) => {
      const lengths = [...new Set(m.rows.map((r) => r.N))].sort((a, b) => a - b);
      const by_n: Record<string, EvalStats> = {};
      for (const N of lengths) by_n[String(N)] = evalStats(m.rows.filter((r) => r.N === N));
      return { method: m.name, ...evalStats(m.rows), by_n };
    }),
  };
}

/** Aggregates of one set of rows (zeros when there are none). */
export function evalStats(rows: readonly OnePassRow[]): EvalStats {
  const n = rows.length;
  const mean = (f: (r: OnePassRow) => number): number => (n === 0 ? 0 : rows.reduce((s, r) => s + f(r), 0) / n);
  return {
    texts: n,
    token_accuracy: mean((r) => r.accuracy),
    exact_match: mean((r) => (r.exact ? 1 : 0)),
    mean_first_error: mean((r) => r.firstError),
  };
}

/**
 * The table as aligned text: one line per method; when the texts have several lengths, a second
 * block with one line per (method, N).
 */
export function renderEvalTable(table: EvalTable): string {
  const header = ['method', 'texts', 'token acc', 'exact', 'first error'];
  const right = [false, true, true, true, true];
  const cells = (s: EvalStats): string[] => [String(s.texts), s.token_accuracy.toFixed(4), s.exact_match.toFixed(4), s.mean_first_error.toFixed(2)];
  const lines = formatTable([header, ...table.methods.map((m) => [m.method, ...cells(m)])], right);
  const lengths = new Set(table.methods.flatMap((m) => Object.keys(m.by_n)));
  if (lengths.size > 1) {
    const byN = table.methods.flatMap((m) => Object.entries(m.by_n).map(([N, s]) => [m.method, N, ...cells(s)]));
    lines.push('', '  by length:', ...formatTable([['method', 'N', ...header.slice(1)], ...byN], [false, true, ...right.slice(1)]));
  }
  return lines.join('\n');
}

/** A method to evaluate: e_hat [texts * d], row i for text i. */
export interface MethodVectors {
  name: string;
  eHat: Float32Array;
}

export type EvaluateOptions = OnePassOptions;

/**
 * One pass of every method over the texts (which may have different lengths: they are grouped by
 * N, one onePass call per (method, N), and the rows are put back in text order).
 */
export async function evaluateMethods(
  lm: CausalLM,
  m: Float32Array,
  texts: readonly { ids: Int32Array }[],
  methods: readonly MethodVectors[],
  opts: EvaluateOptions = {},
): Promise<{ table: EvalTable; rows: MethodRows[] }> {
  const d = lm.config.hiddenSize;
  const groups = new Map<number, number[]>();
  texts.forEach((t, i) => {
    const g = groups.get(t.ids.length);
    if (g) g.push(i);
    else groups.set(t.ids.length, [i]);
  });
  const rows: MethodRows[] = [];
  for (const method of methods) {
    if (method.eHat.length !== texts.length * d) {
      throw new Error(`evaluateMethods: method "${method.name}" has ${method.eHat.length} values for ${texts.length} texts of d=${d}`);
    }
    const out = new Array<OnePassRow>(texts.length);
    for (const [N, members] of groups) {
      const e = new Float32Array(members.length * d);
      const targets = new Int32Array(members.length * N);
      members.forEach((t, j) => {
        e.set(method.eHat.subarray(t * d, (t + 1) * d), j * d);
        targets.set(texts[t].ids, j * N);
      });
      const got = await onePass(lm, e, m, targets, N, opts);
      members.forEach((t, j) => (out[t] = got[j]));
    }
    rows.push({ name: method.name, rows: out });
  }
  return { table: evalTable(rows), rows };
}
