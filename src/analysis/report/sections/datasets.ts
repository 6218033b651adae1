/** Solution datasets: what each one is, and its accuracy and steps histograms (the bins `inspect` prints). */
import type { HistogramBin, InspectSummary } from '../../../datasets/inspect.js';
import { barChart } from '../charts.js';
import { fixed, htmlTable, num, para } from '../html.js';
import { type Section, perInput, shownPath } from './section.js';

export const datasetsSection: Section = {
  id: 'datasets',
  title: 'Solution datasets: accuracy and steps',
  howTo: 'prototoken solve --texts FILE --length N --out DATASET (then pass DATASET)',
  render: (inputs, ctx) =>
    perInput(inputs, 'dataset', (i) => `${i.summary.kind} dataset`, async ({ summary: s }) => {
      const histogram = async (bins: readonly HistogramBin[], what: string): Promise<string> =>
        ctx.chart(
          barChart(bins.map((b) => ({ bin: b.label, rows: b.count })), { category: { field: 'bin', title: what }, value: { field: 'rows', title: 'rows', integer: true }, width: 320, height: 180 }),
          `${what} of the ${s.rows} rows`,
        );
      if (s.rows === 0) return facts(s) + para('No rows yet: nothing to draw.', 'muted');
      return facts(s) + (await histogram(s.accuracy.histogram, 'token accuracy')) + (await histogram(s.steps.histogram, 'solver steps'));
    }),
};

function facts(s: InspectSummary): string {
  const pct = s.solvedRate === null ? 'n/a' : `${(100 * s.solvedRate).toFixed(1)}%`;
  return htmlTable(['property', 'value'], [
    ['model', `${shownPath(s.model.id)} (d_model ${s.model.dModel})`],
    ['N', s.length === null ? 'varies per row' : String(s.length)],
    ['arrangement', s.arrangement],
    ['m', s.m.mode === 'shared' ? 'shared (m.safetensors)' : 'per text'],
    ['source', `${s.source.name} (license ${s.source.license})`],
    ['rows', `${s.rows} for ${s.texts} texts (read from ${s.readFrom})`],
    ['solved', `${s.solvedTexts} texts (${pct}), ${s.solvedRows} rows`],
    ['splits', `train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test}`],
    ['steps', `mean ${num(s.steps.mean, 1)}, median ${num(s.steps.median, 1)}, max ${num(s.steps.max)}`],
    ['accuracy', `mean ${fixed(s.accuracy.mean)}, min ${fixed(s.accuracy.min)}`],
  ]);
}
