/** Sharing e (with per-text m) or m (with per-text e) within groups of S_g texts. */
import { barChart } from '../charts.js';
import { fixed, htmlTable, meanStd, para } from '../html.js';
import { type Section, perInput, shownPath } from './section.js';

export const sharingSection: Section = {
  id: 'sharing',
  title: 'Sharing e or m within groups',
  howTo: 'prototoken sharing --texts FILE --length 8 --group-sizes 1,4,16 --out DIR (then pass DIR)',
  render: (inputs, ctx) =>
    perInput(inputs, 'sharing', (i) => `sharing at N=${i.result.N}, ${shownPath(i.result.model)}`, async ({ result }) => {
      if (result.rows.length === 0) return para('The result has no rows.', 'muted');
      const label = (shared: 'e' | 'm'): string => (shared === 'e' ? 'e shared, m per text' : 'm shared, e per text');
      const chart = await ctx.chart(
        barChart(result.rows.map((r) => ({ group: String(r.groupSize), shared: label(r.shared), mean: r.mean })), {
          category: { field: 'group', title: 'group size S_g' },
          value: { field: 'mean', title: 'mean token accuracy (over seeds)', domain: [0, 1] },
          group: { field: 'shared', title: 'what is shared' },
        }),
        'Mean over seeds of the mean token accuracy, per group size and shared vector.',
      );
      const table = htmlTable(
        ['shared', 'S_g', 'groups', 'seeds', 'accuracy per seed', 'best', 'mean ± std'],
        result.rows.map((r) => [label(r.shared), r.groupSize, r.groups, r.seeds.length, r.accuracyBySeed.map((a) => fixed(a)).join(', '), fixed(r.best), meanStd(r)]),
      );
      return chart + table;
    }),
};
