/**
 * The encoder's e_hat next to the solver's optimised e for the same texts: how close the vectors
 * are (cosine, L2) and how each one does in one pass. Closeness in e-space is only a proxy;
 * the accuracy columns say whether it matters.
 */
import type { CausalLM } from '../lm/types.js';
import { PrototokenError } from '../util/errors.js';
import { summarize } from '../util/stats.js';
import { formatTable } from '../util/table.js';
import { encodeAll } from './encode.js';
import { type EvaluateOptions, evaluateMethods } from './eval_table.js';
import { type RunTexts, flatE, flatIds } from './inputs.js';
import type { LoadedEncoder } from './load.js';

/** One text. */
export interface CompareRow {
  id: string;
  N: number;
  /** cos(e_hat, e); 0 when either vector is all zeros. */
  cosine: number;
  /** ||e_hat - e||_2. */
  l2: number;
  accuracy_hat: number;
  accuracy_opt: number;
  exact_hat: boolean;
  exact_opt: boolean;
}

/** Mean, median and population std over texts. */
export interface Spread {
  mean: number;
  median: number;
  std: number;
}

/** Also the JSON shape of `prototoken compare --json`. */
export interface Comparison {
  texts: number;
  summary: {
    cosine: Spread;
    l2: Spread;
    accuracy_hat: Spread;
    accuracy_opt: Spread;
    /** Fractions of texts emitted exactly. */
    exact_hat: number;
    exact_opt: number;
  };
  rows: CompareRow[];
}

export type CompareOptions = EvaluateOptions;

/** Cosine and L2 distance between row i of `a` and row i of `b` (both [n * d]), in float64. */
export function vectorDistances(a: Float32Array, b: Float32Array, d: number): { cosine: Float64Array; l2: Float64Array } {
  const n = a.length / d;
  if (a.length !== b.length || !Number.isInteger(n)) throw new Error(`vectorDistances: ${a.length} and ${b.length} values do not pair up in rows of d=${d}`);
  const cosine = new Float64Array(n);
  const l2 = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    let diff = 0;
    for (let j = r * d; j < (r + 1) * d; j++) {
      ab += a[j] * b[j];
      aa += a[j] * a[j];
      bb += b[j] * b[j];
      diff += (a[j] - b[j]) ** 2;
    }
    cosine[r] = aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    l2[r] = Math.sqrt(diff);
  }
  return { cosine, l2 };
}

/** Compare e_hat with the optimised e (both [texts * d], row i for text i) on the given texts. */
export async function compareToOptimized(
  lm: CausalLM,
  m: Float32Array,
  texts: readonly { id: string; ids: Int32Array }[],
  eHat: Float32Array,
  eOpt: Float32Array,
  opts: CompareOptions = {},
): Promise<Comparison> {
  const { cosine, l2 } = vectorDistances(eHat, eOpt, lm.config.hiddenSize);
  const { rows } = await evaluateMethods(lm, m, texts, [{ name: 'e_hat', eHat }, { name: 'e_opt', eHat: eOpt }], opts);
  const [hat, opt] = rows.map((r) => r.rows);
  return comparison(
    texts.map((t, i) => ({
      id: t.id,
      N: t.ids.length,
      cosine: cosine[i],
      l2: l2[i],
      accuracy_hat: hat[i].accuracy,
      accuracy_opt: opt[i].accuracy,
      exact_hat: hat[i].exact,
      exact_opt: opt[i].exact,
    })),
  );
}

/** `prototoken compare --json`: the comparison and what it was made on. */
export interface CompareSummary extends Comparison {
  checkpoint: string;
  dataset: string;
  split: string;
  N: number;
}

/** Texts without optimised e cannot be compared: said before anything loads (by the CLI) and again here. */
export function checkCompareInputs(dataset: string | null): void {
  if (!dataset) throw new PrototokenError('compare needs optimized e', { fix: 'pass --dataset DIR (a solution dataset solved with the checkpoint\'s m)' });
}

/** `enc`'s e_hat against the solved e of `run`'s rows that have one (a dataset solved with the checkpoint's m). */
export async function compareEncoder(lm: CausalLM, enc: LoadedEncoder, run: RunTexts, opts: CompareOptions = {}): Promise<CompareSummary> {
  checkCompareInputs(run.from === 'dataset' ? run.source : null);
  if (!run.eMatchesM) {
    throw new PrototokenError('the dataset was solved with another m than the encoder was trained with, so its e are not comparable', {
      file: run.source,
      fix: 'solve the texts with the checkpoint\'s m: `prototoken solve --m CHECKPOINT/best/m.safetensors ...`',
    });
  }
  const texts = run.texts.filter((t) => t.e !== null);
  if (texts.length === 0) throw new PrototokenError(`no solved rows of N=${run.N}`, { file: run.source, fix: 'check --split and --length' });
  const eOpt = flatE(texts, enc.meta.dModel);
  // The network's e_hat, never a retrieval gate's output: the rows compared are often reference
  // windows themselves, which retrieval would return as their own solutions (cosine 1 by lookup).
  const eHat = await encodeAll(enc.encoder, flatIds(texts, run.N), run.N, opts.batchSize);
  const c = await compareToOptimized(lm, enc.m, texts, eHat, eOpt, opts);
  return { checkpoint: enc.dir, dataset: run.source, split: run.split, N: run.N, ...c };
}

/** Summary statistics of per-text rows (zeros when there are none). */
export function comparison(rows: CompareRow[]): Comparison {
  const spread = (f: (r: CompareRow) => number): Spread => {
    const s = summarize(rows.map(f));
    return { mean: s.mean ?? 0, median: s.median ?? 0, std: s.std ?? 0 };
  };
  const rate = (f: (r: CompareRow) => boolean): number => (rows.length ? rows.filter(f).length / rows.length : 0);
  return {
    texts: rows.length,
    summary: {
      cosine: spread((r) => r.cosine),
      l2: spread((r) => r.l2),
      accuracy_hat: spread((r) => r.accuracy_hat),
      accuracy_opt: spread((r) => r.accuracy_opt),
      exact_hat: rate((r) => r.exact_hat),
      exact_opt: rate((r) => r.exact_opt),
    },
    rows,
  };
}

export interface RenderComparisonOptions {
  /** After the summary, one line per text. Default false. */
  perText?: boolean;
}

/** The summary as aligned text (one line per statistic). */
export function renderComparison(c: Comparison, opts: RenderComparisonOptions = {}): string {
  const s = c.summary;
  const line = (name: string, v: Spread, digits: number): string[] => [name, v.mean.toFixed(digits), v.median.toFixed(digits), v.std.toFixed(digits)];
  const lines = [
    `  ${c.texts} texts; exact match: e_hat ${s.exact_hat.toFixed(4)}, optimised e ${s.exact_opt.toFixed(4)}`,
    ...formatTable(
      [
        ['', 'mean', 'median', 'std'],
        line('cosine', s.cosine, 4),
        line('L2', s.l2, 3),
        line('accuracy e_hat', s.accuracy_hat, 4),
        line('accuracy e', s.accuracy_opt, 4),
      ],
      [false, true, true, true],
    ),
  ];
  if (opts.perText) {
    const rows = c.rows.map((r) => [r.id, String(r.N), r.cosine.toFixed(4), r.l2.toFixed(3), r.accuracy_hat.toFixed(4), r.accuracy_opt.toFixed(4)]);
    lines.push('', ...formatTable([['text', 'N', 'cosine', 'L2', 'acc e_hat', 'acc e'], ...rows], [false, true, true, true, true, true]));
  }
  return lines.join('\n');
}
