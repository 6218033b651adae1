/**
 * `inspect --radius`: how far inside its solution set each e of a dataset sits, measured on a
 * seeded sample of its solved rows (solver/radius.ts: the largest perturbation radius at which
 * every one of K random directions still reproduces the text). The sample size and the number of
 * directions are the caller's (flags), and the summary says both: with few directions the radius
 * is an upper estimate, with few rows the spread is rough.
 */
import type { LoadedModel } from '../lm/load.js';
import { parseArrangement } from '../solver/arrangements.js';
import { type RadiusOptions, type RadiusRow, perturbationRadii } from '../solver/radius.js';
import { Prng } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';
import { summarize, type Summary } from '../util/stats.js';
import { formatTable } from '../util/table.js';
import { readSharedM } from './folder.js';
import { scanDataset } from './scan.js';

/** What is measured. */
export interface RadiusSampleOptions extends Pick<RadiusOptions, 'directions' | 'seed'> {
  /** Solved rows drawn (uniformly, seeded; all when fewer). Default 8. */
  rows: number;
  /** Check checksums while reading. Default true. */
  verify: boolean;
}

export const RADIUS_SAMPLE_DEFAULTS: RadiusSampleOptions = { rows: 8, directions: 16, seed: 0, verify: true };

/** One sampled row. */
export interface RadiusSampleRow {
  textId: string;
  restart: number;
  radius: number;
  relative: number;
  /** Every direction was still inside at the largest radius tried: `radius` is a lower bound. */
  capped: boolean;
  /** The row's recorded smallest logit margin; null when the dataset has none. */
  margin: number | null;
}

/** The sample's summary. */
export interface RadiusSample {
  /** Rows measured, of `solvedRows` solved rows in the dataset. */
  rows: number;
  solvedRows: number;
  directions: number;
  radius: Summary;
  /** radius / |e|. */
  relative: Summary;
  perRow: RadiusSampleRow[];
}

/** Draw the sample from `dir` and measure it with `model` (the dataset's model). */
export async function sampleRadius(dir: string, model: LoadedModel, options: Partial<RadiusSampleOptions> = {}): Promise<RadiusSample> {
  // A flag not typed arrives as undefined: it must not hide the default.
  const o = Object.fromEntries(Object.entries(RADIUS_SAMPLE_DEFAULTS).map(([k, v]) => [k, options[k as keyof RadiusSampleOptions] ?? v])) as unknown as RadiusSampleOptions;
  if (!Number.isInteger(o.rows) || o.rows < 1) throw new PrototokenError(`the radius sample needs at least one row, got ${o.rows}`, { fix: 'use --radius-rows 1 or more (8 is the default)' });
  const scan = await scanDataset(dir, { verify: o.verify });
  const info = scan.settings;
  if (info.model.fingerprint !== (await model.fingerprint())) {
    throw new PrototokenError(`the dataset was solved with other model weights than ${model.dir}`, { file: dir, fix: `pass --model ${info.model.id}` });
  }
  // Reservoir sampling (Algorithm R): one pass, the sample is uniform over solved rows.
  const rng = new Prng(o.seed);
  const picked: (RadiusRow & { textId: string; restart: number; margin: number | null })[] = [];
  let solved = 0;
  try {
    for await (const { columns: c } of scan.batches()) {
      for (let i = 0; i < c.rows; i++) {
        if (!c.solved[i]) continue;
        const slot = solved < o.rows ? solved : Math.floor(rng.uniform() * (solved + 1));
        solved++;
        if (slot >= o.rows) continue;
        const margin = c.margin ? c.margin[i] : NaN;
        picked[slot] = {
          textId: c.textId[i], restart: c.restart[i], margin: Number.isNaN(margin) ? null : margin,
          e: c.e.slice(i * c.d, (i + 1) * c.d), m: c.m ? c.m.slice(i * c.d, (i + 1) * c.d) : null, ids: c.tokenIds.slice(c.tokenOffsets[i], c.tokenOffsets[i + 1]),
        };
      }
    }
  } finally {
    await scan.close();
  }
  const fixedM = scan.perTextM ? null : await readSharedM(dir);
  if (!scan.perTextM && !fixedM) throw new PrototokenError('the dataset records a shared m but has no m.safetensors', { file: dir, fix: 'restore m.safetensors from the run that wrote the dataset' });
  // Rows of one N share forwards (a capacity dataset has several).
  const byN = new Map<number, number[]>();
  picked.forEach((r, i) => byN.set(r.ids.length, [...(byN.get(r.ids.length) ?? []), i]));
  const perRow = new Array<RadiusSampleRow>(picked.length);
  for (const idx of byN.values()) {
    const found = await perturbationRadii(model.lm, parseArrangement(info.arrangement), fixedM, idx.map((i) => picked[i]), { directions: o.directions, seed: o.seed });
    idx.forEach((i, k) => {
      const r = picked[i];
      perRow[i] = { textId: r.textId, restart: r.restart, margin: r.margin, ...found[k] };
    });
  }
  return {
    rows: perRow.length,
    solvedRows: solved,
    directions: o.directions,
    radius: summarize(perRow.map((r) => r.radius)),
    relative: summarize(perRow.map((r) => r.relative)),
    perRow,
  };
}

/** A terminal rendering of a sample. */
export function renderRadius(s: RadiusSample): string {
  const num = (x: number | null, digits = 3): string => (x === null ? 'n/a' : x.toFixed(digits));
  const lines = [
    `radius inside the solution set  (${s.rows} of ${s.solvedRows} solved rows sampled, ${s.directions} random directions each; more directions can only shrink it)`,
    `  |delta e| keeping 100%: mean ${num(s.radius.mean)}, median ${num(s.radius.median)}, min ${num(s.radius.min)}, max ${num(s.radius.max)}` +
      ` | relative to |e|: mean ${num(s.relative.mean)}, median ${num(s.relative.median)}`,
  ];
  if (s.rows < 8 || s.directions < 8) lines.push(`  ! a small sample (${s.rows} rows, ${s.directions} directions): read these as rough (--radius-rows, --radius-directions)`);
  lines.push(...formatTable([
    ['text_id', 'restart', 'margin', 'radius', 'radius / |e|'],
    ...s.perRow.map((r) => [r.textId, String(r.restart), r.margin === null ? '-' : r.margin.toFixed(2), `${r.capped ? '>= ' : ''}${r.radius.toFixed(3)}`, r.relative.toFixed(3)]),
  ], [false, true, true, true, true]).map((l) => `  ${l}`));
  return lines.join('\n');
}
