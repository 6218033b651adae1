/**
 * `prototoken inspect`: a JSON-able summary of a dataset and its rendering for a terminal.
 * Works on merged (data.arrow) and unmerged (stream parts, possibly with torn tails) folders;
 * `readFrom` and `warnings` say which and what was ignored.
 */
import { formatTable } from '../util/table.js';
import { scanDataset } from './scan.js';
import { StatAccumulator, type StatColumns } from './dataset_stats.js';
import { summarize, type Summary } from '../util/stats.js';
import { completenessOfScan, type Completeness } from './completeness.js';

/** What to include. */
export interface InspectOptions {
  /** Number of leading rows to list. Default 0. */
  head?: number;
  /** Bars in the steps histogram (at most). Default 10. */
  bins?: number;
  /** Check checksums while reading. Default true. */
  verify?: boolean;
}

/** One histogram bar: values in [lo, hi) (`hi` inclusive for the last bar). */
export interface HistogramBin {
  label: string;
  lo: number;
  hi: number;
  count: number;
}

/** Capacity of the texts of one source: per text, the longest solved prefix (max c_tokens). */
export interface CapacityRow {
  source: string;
  texts: number;
  capacity: Summary;
  /** H_LM (nats) of each text's row at its capacity. */
  hLmNats: Summary;
}

/** A row listed by `head`. */
export interface HeadRow {
  textId: string;
  /** 0 unless the dataset keeps every restart. */
  restart: number;
  nTokens: number;
  solved: boolean;
  accuracy: number;
  steps: number;
  cTokens: number;
  split: string;
  text: string;
}

/** Everything `inspect` reports. */
export interface InspectSummary {
  dir: string;
  readFrom: 'data.arrow' | 'parts';
  files: string[];
  warnings: string[];
  kind: string;
  model: { id: string; fingerprint: string; dModel: number };
  arrangement: string;
  length: number | null;
  /** K when every one of K restarts per text is its own row; null when one row per text (the best). */
  restartsKept: number | null;
  m: { mode: 'per-text' | 'shared'; fingerprint: string | null };
  source: { name: string; license: string };
  /** Whether every text its runs planned is there (the counts of texts done, in progress, not started). */
  completeness: Completeness;
  rows: number;
  texts: number;
  solvedRows: number;
  solvedTexts: number;
  solvedRate: number | null;
  splits: { train: number; val: number; test: number };
  nTokens: Summary;
  steps: Summary & { histogram: HistogramBin[] };
  accuracy: Summary & { histogram: HistogramBin[] };
  /** Solved rows' smallest logit margins (how far inside the solution set, in logits); null when the dataset does not record them. */
  margin: Summary | null;
  /** Steps after the first solved pass (polishing); null when the dataset does not record them. */
  polishSteps: Summary | null;
  /** Only for capacity datasets. */
  capacity: CapacityRow[] | null;
  head: HeadRow[];
}

/**
 * Summarize the dataset in `dir`, streaming it batch by batch: memory is one batch plus the
 * per-row statistics (a few numbers and the text id per row), never the vectors.
 */
export async function inspectDataset(dir: string, options: InspectOptions = {}): Promise<InspectSummary> {
  const scan = await scanDataset(dir, { verify: options.verify ?? true });
  const acc = new StatAccumulator();
  const head: HeadRow[] = [];
  const want = options.head ?? 0;
  const margins: number[] = [];
  const polish: number[] = [];
  try {
    for await (const { columns: b } of scan.batches()) {
      acc.add(b);
      for (let i = 0; i < b.rows; i++) {
        if (b.margin && b.solved[i] && !Number.isNaN(b.margin[i])) margins.push(b.margin[i]);
        if (b.polishSteps) polish.push(b.polishSteps[i]);
      }
      for (let i = 0; i < b.rows && head.length < want; i++) {
        head.push({
          textId: b.textId[i], restart: b.restart[i], nTokens: b.tokenOffsets[i + 1] - b.tokenOffsets[i], solved: b.solved[i] === 1, accuracy: b.accuracy[i],
          steps: b.steps[i], cTokens: b.cTokens[i], split: b.split[i], text: b.text[i],
        });
      }
    }
  } finally {
    await scan.close();
  }
  const c = acc.columns();
  const completeness = await completenessOfScan(scan, c.textId);
  const info = scan.settings;
  const texts = new Set(c.textId);
  const solvedTexts = new Set(c.textId.filter((_, i) => c.solved[i]));
  const splitOfText = new Map(c.textId.map((id, i) => [id, c.split[i]]));
  const splits = { train: 0, val: 0, test: 0 };
  for (const s of splitOfText.values()) if (s === 'train' || s === 'val' || s === 'test') splits[s]++;
  return {
    dir,
    readFrom: scan.readFrom,
    files: scan.files,
    warnings: scan.warnings,
    kind: info.kind,
    model: { id: info.model.id, fingerprint: info.model.fingerprint, dModel: info.model.d_model },
    arrangement: info.arrangement,
    length: info.length,
    restartsKept: info.restarts?.count ?? null,
    m: info.m.mode === 'shared' ? { mode: 'shared', fingerprint: info.m.fingerprint } : { mode: 'per-text', fingerprint: null },
    source: { name: info.source.name, license: info.source.license },
    completeness,
    rows: c.textId.length,
    texts: texts.size,
    solvedRows: c.solved.filter(Boolean).length,
    solvedTexts: solvedTexts.size,
    solvedRate: texts.size ? solvedTexts.size / texts.size : null,
    splits,
    nTokens: summarize(c.nTokens),
    steps: { ...summarize(c.steps), histogram: integerHistogram(c.steps, options.bins ?? 10) },
    accuracy: { ...summarize(c.accuracy), histogram: accuracyHistogram(c.accuracy) },
    margin: scan.margins ? summarize(margins) : null,
    polishSteps: scan.margins ? summarize(polish) : null,
    capacity: info.kind === 'capacity' ? [capacityRow(info.source.name, c)] : null,
    head,
  };
}

/** Per text, the row with the most correct tokens; then mean ± std over texts. */
function capacityRow(source: string, c: StatColumns): CapacityRow {
  const best = new Map<string, number>();
  c.textId.forEach((id, i) => {
    const b = best.get(id);
    if (b === undefined || c.cTokens[i] > c.cTokens[b]) best.set(id, i);
  });
  const rows = [...best.values()];
  return {
    source,
    texts: rows.length,
    capacity: summarize(rows.map((i) => c.cTokens[i])),
    hLmNats: summarize(rows.map((i) => c.hLmNats[i])),
  };
}

/** Equal-width integer bins over [min, max], at most `maxBins`. */
function integerHistogram(values: ArrayLike<number>, maxBins: number): HistogramBin[] {
  if (values.length === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const width = Math.max(1, Math.ceil((hi - lo + 1) / Math.max(1, maxBins)));
  const n = Math.ceil((hi - lo + 1) / width);
  const bins: HistogramBin[] = Array.from({ length: n }, (_, b) => {
    const from = lo + b * width;
    const to = Math.min(hi, from + width - 1);
    return { label: from === to ? `${from}` : `${from}-${to}`, lo: from, hi: to + 1, count: 0 };
  });
  for (let i = 0; i < values.length; i++) bins[Math.floor((values[i] - lo) / width)].count++;
  return bins;
}

/** Ten bins of width 0.1 below 1, and exactly 1 (solved) on its own. */
function accuracyHistogram(values: ArrayLike<number>): HistogramBin[] {
  const bins: HistogramBin[] = Array.from({ length: 10 }, (_, b) => ({
    label: `${(b / 10).toFixed(1)}-${((b + 1) / 10).toFixed(1)}`, lo: b / 10, hi: (b + 1) / 10, count: 0,
  }));
  bins.push({ label: '1.0', lo: 1, hi: 1, count: 0 });
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    bins[v >= 1 ? 10 : Math.max(0, Math.min(9, Math.floor(v * 10)))].count++;
  }
  return bins;
}

const BAR_WIDTH = 40;

/** A terminal rendering of `s`: key facts, ASCII histograms, the capacity table, head rows, warnings. */
export function renderInspect(s: InspectSummary): string {
  const out: string[] = [];
  const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const num = (x: number | null, digits = 1): string => (x === null ? 'n/a' : Number.isInteger(x) ? String(x) : x.toFixed(digits));
  const short = (h: string): string => (h.length > 12 ? `${h.slice(0, 12)}…` : h);
  out.push(...formatTable([
    ['dataset', `${s.dir}  (read from ${s.readFrom === 'data.arrow' ? 'data.arrow' : `${s.files.length} stream part(s), not merged`})`],
    ['kind', s.kind],
    ['model', `${s.model.id}  (weights sha256 ${short(s.model.fingerprint)}, d_model ${s.model.dModel})`],
    ['N', s.length === null ? 'varies per row' : String(s.length)],
    ['arrangement', s.arrangement],
    ['m', s.m.mode === 'shared' ? `shared (m.safetensors, sha256 ${short(s.m.fingerprint ?? '')})` : 'per text (column m)'],
    ['source', `${s.source.name}  (license ${s.source.license})`],
    ['complete', completenessCell(s.completeness)],
    ['rows', `${s.rows} for ${s.texts} texts${s.restartsKept === null ? '' : ` (every one of ${s.restartsKept} restarts per text kept)`}`],
    ['solved', `${s.solvedTexts} texts (${pct(s.solvedRate)} of the ${s.texts} stored${partOfPlan(s.completeness, s.solvedTexts)}), ${s.solvedRows} rows`],
    ['splits', `train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test}`],
    ['n_tokens', `min ${num(s.nTokens.min)}, mean ${num(s.nTokens.mean)}, max ${num(s.nTokens.max)}`],
  ]));
  out.push('', `steps  (mean ${num(s.steps.mean)}, median ${num(s.steps.median)}, max ${num(s.steps.max)})`, ...bars(s.steps.histogram));
  out.push('', `accuracy  (mean ${num(s.accuracy.mean, 3)}, min ${num(s.accuracy.min, 3)})`, ...bars(s.accuracy.histogram));
  if (s.margin && s.polishSteps) {
    out.push('', `margin of solved rows  (correct token's logit minus the best other, smallest over positions): mean ${num(s.margin.mean, 3)}, median ${num(s.margin.median, 3)}, min ${num(s.margin.min, 3)}`);
    out.push(`polish steps  (after the first solved pass): mean ${num(s.polishSteps.mean)}, max ${num(s.polishSteps.max)}`);
  }
  if (s.capacity) {
    const pm = (x: Summary, digits: number): string => `${num(x.mean, digits)} ± ${num(x.std, digits)}`;
    out.push('', 'capacity  (per text: the most tokens decoded correctly, max c_tokens)');
    out.push(...formatTable([
      ['source', 'texts', 'capacity mean ± std', 'max', 'H_LM nats mean ± std'],
      ...s.capacity.map((r) => [r.source, String(r.texts), pm(r.capacity, 1), num(r.capacity.max), pm(r.hLmNats, 1)]),
    ], [false, true, true, true, true]));
  }
  if (s.head.length) {
    const preview = (t: string): string => JSON.stringify(t.length > 60 ? `${t.slice(0, 60)}…` : t);
    out.push('', 'first rows');
    // The restart column only where there is one, so best-per-text listings keep their layout.
    const r0 = s.restartsKept === null ? 0 : 1;
    const rows = [
      ['text_id', 'restart', 'n', 'solved', 'acc', 'steps', 'split', 'text'],
      ...s.head.map((r) => [r.textId, String(r.restart), String(r.nTokens), r.solved ? 'yes' : 'no', r.accuracy.toFixed(3), String(r.steps), r.split, preview(r.text)]),
    ].map((cells) => [cells[0], ...cells.slice(2 - r0)]);
    out.push(...formatTable(rows, [false, ...(r0 ? [true] : []), true, false, true, true, false, false]));
  }
  if (s.warnings.length) out.push('', 'notes', ...s.warnings.map((w) => `  ! ${w}`));
  return `${out.join('\n')}\n`;
}

/** The completeness row: yes, or what is missing. */
function completenessCell(c: Completeness): string {
  if (c.status === 'complete') return `yes (all ${c.texts_planned} planned texts)`;
  if (c.status === 'unknown') return `unknown (${c.summary.replace(/^completeness unknown: /, '')})`;
  return `NO — ${c.summary.replace(/^INCOMPLETE: /, '')}`;
}

/** `; 25.0% of the 12 planned` when some planned texts are missing. */
function partOfPlan(c: Completeness, solved: number): string {
  if (c.status !== 'incomplete' || !c.texts_planned) return '';
  return `; ${((100 * solved) / c.texts_planned).toFixed(1)}% of the ${c.texts_planned} planned`;
}

function bars(histogram: readonly HistogramBin[]): string[] {
  if (histogram.length === 0) return ['  (no rows)'];
  const max = Math.max(1, ...histogram.map((b) => b.count));
  const labelWidth = Math.max(...histogram.map((b) => b.label.length));
  return histogram.map((b) => {
    const len = Math.round((b.count / max) * BAR_WIDTH);
    return `  ${b.label.padStart(labelWidth)} |${'#'.repeat(len || (b.count > 0 ? 1 : 0)).padEnd(BAR_WIDTH)}| ${b.count}`;
  });
}
