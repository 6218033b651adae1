/** Interpolation between two solutions of one text: accuracy along the straight line and the trained Bezier curve. */
import { lineChart } from '../charts.js';
import { fixed, htmlTable, meanStd, para } from '../html.js';
import { type Section, perInput } from './section.js';

export const interpolateSection: Section = {
  id: 'interpolation',
  title: 'Interpolation between solutions',
  howTo: 'prototoken interpolate DATASET --out DIR, DATASET from solve --m M --restarts 4 --keep-all-restarts (then pass DIR)',
  render: (inputs, ctx) =>
    perInput(inputs, 'interpolate', (i) => `interpolation, dataset ${i.result.dataset}`, async ({ result }) => {
      const s = result.summary;
      const summary = htmlTable(
        ['pairs', 'line: min accuracy', 'Bezier: min accuracy', 'line connected', 'Bezier connected', 'Bezier / line length'],
        [[s.pairs, meanStd(s.lineMinAccuracy), meanStd(s.bezierMinAccuracy), `${s.lineConnected} / ${s.pairs}`, `${s.bezierConnected} / ${s.pairs}`, meanStd(s.lengthRatio)]],
        { caption: 'Summary (mean ± std over pairs; connected: accuracy 1.0 at every tau)' },
      );
      const drawn = result.pairs.slice(0, ctx.maxPairs);
      const label = (p: (typeof drawn)[number]): string => `${p.textId} (restarts ${p.restartA}, ${p.restartB})`;
      const rows = drawn.flatMap((p) => result.taus.flatMap((tau, k) => [
        { pair: label(p), path: 'line', tau, accuracy: p.lineAccuracy[k] },
        { pair: label(p), path: 'Bezier', tau, accuracy: p.bezierAccuracy[k] },
      ]));
      const chart = drawn.length === 0 ? '' : await ctx.chart(
        lineChart(rows, {
          x: { field: 'tau', title: 'tau' },
          y: { field: 'accuracy', title: 'token accuracy', domain: [0, 1] },
          series: { field: 'path', title: 'path' },
          facet: { field: 'pair', title: 'text (restarts)', columns: 3 },
          points: false,
          width: 240,
          height: 150,
        }),
        `Token accuracy along each path between the two solutions of a text${drawn.length < result.pairs.length ? ` (the first ${drawn.length} of ${result.pairs.length} pairs)` : ''}.`,
      );
      const pairs = htmlTable(
        ['text', 'restarts', 'N', 'line min acc', 'Bezier min acc', 'length ratio', 'Bezier loss before → after', 'endpoint distance'],
        result.pairs.map((p) => [p.textId, `${p.restartA}, ${p.restartB}`, p.N, fixed(p.lineMinAccuracy), fixed(p.bezierMinAccuracy), fixed(p.lengthRatio), `${fixed(p.bezierLossBefore)} → ${fixed(p.bezierLossAfter)}`, fixed(p.endpointDistance)]),
        { caption: 'Every pair' },
      );
      return summary + chart + pairs + para(`Curves per tau: ${result.curvesFile} (beside the result).`, 'muted');
    }),
};
