/** Distances between solutions by pair type: e cosine distance next to the TF-IDF distance of the texts. */
import type { DistanceGroup } from '../../results.js';
import { histogramChart } from '../charts.js';
import { fixed, htmlTable, meanStd } from '../html.js';
import { type Section, perInput, shownPath } from './section.js';

/** The two measures, each drawn as one histogram per pair type. */
const MEASURES = [
  { values: 'cosineValues', title: 'e cosine distance (1 − cos)', caption: 'Cosine distance between the two e of each pair, per pair type.' },
  { values: 'tfidfValues', title: 'TF-IDF cosine distance of the texts', caption: 'TF-IDF cosine distance between the two texts of each pair, per pair type.' },
] as const satisfies readonly { values: keyof DistanceGroup; title: string; caption: string }[];

export const distancesSection: Section = {
  id: 'distances',
  title: 'Distances between solutions',
  howTo: 'prototoken distances DATASET_SEED1 DATASET_SEED2 --out DIR, from solve --kind generated --continuations K --text-seed 0 under two --seed (then pass DIR)',
  render: (inputs, ctx) =>
    perInput(inputs, 'distances', (i) => `distances, ${shownPath(i.result.model)}`, async ({ result }) => {
      const table = htmlTable(
        ['pair type', 'pairs', 'e cosine distance mean ± std', 'median', 'TF-IDF distance mean ± std', 'median'],
        result.groups.map((g) => [g.type, g.pairs, meanStd(g.cosine), fixed(g.cosine.median), meanStd(g.tfidf), fixed(g.tfidf.median)]),
      );
      const charts: string[] = [];
      for (const m of MEASURES) {
        const rows = result.groups.flatMap((g) => g[m.values].map((value) => ({ type: g.type, value })));
        if (rows.length === 0) continue;
        charts.push(await ctx.chart(
          histogramChart(rows, { value: { field: 'value', title: m.title }, countTitle: 'pairs', facet: { field: 'type', title: 'pair type', columns: 3 }, width: 220, height: 150 }),
          m.caption,
        ));
      }
      return table + charts.join('');
    }),
};
