/** The arrangement ablation: one-pass accuracy after solving, per arrangement and N. */
import { lineChart } from '../charts.js';
import { fixed, htmlTable, meanStd, num, para } from '../html.js';
import { type Section, perInput, shownPath } from './section.js';

/** Grids spanning at least this ratio get a log-2 N axis (the paper's lengths double every two steps). */
const LOG_SPAN = 8;

export const arrangementsSection: Section = {
  id: 'arrangements',
  title: 'Arrangement ablation',
  howTo: 'prototoken arrangements --texts FILE --lengths 1,2,4,8 --out DIR (then pass DIR)',
  render: (inputs, ctx) =>
    perInput(inputs, 'arrangements', (i) => `arrangements, ${shownPath(i.result.model)}`, async ({ result }) => {
      if (result.rows.length === 0) return para('The result has no rows.', 'muted');
      const rows = result.rows.map((r) => ({ arrangement: r.arrangement, N: r.N, accuracy: r.accuracy.mean }));
      const ns = result.rows.map((r) => r.N);
      const chart = await ctx.chart(
        lineChart(rows, {
          x: { field: 'N', title: 'N (tokens)', integer: true, log: Math.max(...ns) / Math.max(1, Math.min(...ns)) >= LOG_SPAN },
          y: { field: 'accuracy', title: 'mean token accuracy', domain: [0, 1] },
          series: { field: 'arrangement', title: 'arrangement' },
        }),
        'Mean one-pass token accuracy after solving, against the text length N, one line per arrangement.',
      );
      const table = htmlTable(
        ['arrangement', 'N', 'texts', 'solved', 'accuracy mean ± std', 'accuracy min', 'steps median', 'steps mean'],
        result.rows.map((r) => [r.arrangement, r.N, r.texts, r.solved, meanStd(r.accuracy), fixed(r.accuracy.min), num(r.steps.median, 1), num(r.steps.mean, 1)]),
      );
      return chart + table;
    }),
};
