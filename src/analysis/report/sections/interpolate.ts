/**
 * Interpolation between two solutions of one text: accuracy along the straight line, the trained
 * Bezier curve and the two-bend fallback; with several runs (polished and unpolished endpoints),
 * their mean curves side by side first.
 */
import { basename } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { type ChartRow, type FacetOptions, lineChart } from '../charts.js';
import { fixed, htmlTable, meanStd, para } from '../html.js';
import type { InterpolatePair, InterpolateResult, PathKind } from '../../results.js';
import { inputsOf } from '../types.js';
import { type Section, type SectionContext, perInput } from './section.js';

const PATH_TITLE: Record<PathKind, string> = { line: 'line', bezier: 'Bezier', cubic: 'two-bend' };

/** Each path's values at every tau of a pair (the cubic one only where it was trained). */
function pathsOf(p: InterpolatePair): [PathKind, number[]][] {
  return [['line', p.lineAccuracy], ['bezier', p.bezierAccuracy], ...(p.cubicAccuracy ? [['cubic', p.cubicAccuracy] as [PathKind, number[]]] : [])];
}

/** Accuracy against tau, one line per path, one panel per value of `facet`. */
function accuracyPanels(rows: readonly ChartRow[], y: string, facet: FacetOptions, width: number, height: number): TopLevelSpec {
  return lineChart(rows, {
    x: { field: 'tau', title: 'tau' },
    y: { field: 'accuracy', title: y, domain: [0, 1] },
    series: { field: 'path', title: 'path' },
    facet,
    points: false,
    width,
    height,
  });
}

/** What a run's endpoints were: polished or not, with their median margin, when the result says. */
export function endpointsLabel(r: InterpolateResult): string {
  const name = basename(r.dataset);
  const steps = r.summary.endpointPolishSteps?.median;
  const margin = r.summary.endpointMargin?.median;
  if (steps === undefined || steps === null) return name;
  return `${name}: ${steps > 0 ? 'polished' : 'unpolished'}${margin === undefined || margin === null ? '' : `, margin ${margin.toFixed(2)}`}`;
}

/**
 * Mean accuracy over every pair at each tau, one panel per run (two per row, in the order given:
 * unpolished then polished endpoints side by side): the line, the Bezier curve, and the fallback's
 * result (the two-bend curve where it was trained, else the Bezier curve), so every series covers
 * every pair.
 */
async function sideBySide(results: readonly InterpolateResult[], ctx: SectionContext): Promise<string> {
  const rows: ChartRow[] = [];
  for (const r of results) {
    const run = endpointsLabel(r);
    const series: [string, number[][]][] = [
      ['line', r.pairs.map((p) => p.lineAccuracy)],
      ['Bezier', r.pairs.map((p) => p.bezierAccuracy)],
      ...(r.pairs.some((p) => p.cubicAccuracy) ? [['Bezier, two-bend where it dips', r.pairs.map((p) => p.cubicAccuracy ?? p.bezierAccuracy)] as [string, number[][]]] : []),
    ];
    for (const [path, curves] of series) {
      r.taus.forEach((tau, k) => rows.push({ run, path, tau, accuracy: curves.reduce((s, c) => s + c[k], 0) / Math.max(1, curves.length) }));
    }
  }
  const table = htmlTable(
    ['run', 'm', 'pairs', 'endpoint margin', 'line connected', 'Bezier connected', 'two-bend connected', 'any path', 'Bezier min acc', 'same / other-text distance'],
    results.map((r) => {
      const s = r.summary;
      return [
        endpointsLabel(r), r.perTextM === undefined ? 'n/a' : r.perTextM ? 'per text' : 'fixed', s.pairs, s.endpointMargin ? meanStd(s.endpointMargin) : 'n/a', `${s.lineConnected} / ${s.pairs}`, `${s.bezierConnected} / ${s.pairs}`,
        s.cubicPairs === undefined ? 'n/a' : `${s.cubicConnected ?? 0} / ${s.cubicPairs}`, s.connected === undefined ? 'n/a' : `${s.connected} / ${s.pairs}`,
        meanStd(s.bezierMinAccuracy), r.localized?.ratio == null ? 'n/a' : fixed(r.localized.ratio),
      ];
    }),
    { caption: 'Runs compared (connected: accuracy 1.0 at every tau; two-bend: pairs it was trained for)' },
  );
  const chart = await ctx.chart(
    accuracyPanels(rows, 'mean token accuracy', { field: 'run', title: 'endpoints', columns: 2 }, 320, 170),
    'Mean token accuracy over all pairs along each path, one panel per run, in the order given (unpolished and polished endpoints side by side).',
  );
  return table + chart;
}

export const interpolateSection: Section = {
  id: 'interpolation',
  title: 'Interpolation between solutions',
  howTo: 'prototoken interpolate DATASET --out DIR, DATASET from solve --m M --restarts 4 --keep-all-restarts (with and without --min-margin X; then pass each DIR)',
  render: async (inputs, ctx) => {
    const runs = inputsOf(inputs, 'interpolate').map((i) => i.result);
    const compared = runs.length > 1 ? await sideBySide(runs, ctx) : '';
    const each = await perInput(inputs, 'interpolate', (i) => `interpolation, dataset ${i.result.dataset}`, async ({ result }) => {
      const s = result.summary;
      const summary = htmlTable(
        ['pairs', 'line: min accuracy', 'Bezier: min accuracy', 'line connected', 'Bezier connected', 'two-bend connected', 'Bezier / line length'],
        [[s.pairs, meanStd(s.lineMinAccuracy), meanStd(s.bezierMinAccuracy), `${s.lineConnected} / ${s.pairs}`, `${s.bezierConnected} / ${s.pairs}`,
          s.cubicPairs === undefined ? 'n/a' : `${s.cubicConnected ?? 0} / ${s.cubicPairs}`, meanStd(s.lengthRatio)]],
        { caption: `Summary (mean ± std over pairs; connected: accuracy 1.0 at every tau). Endpoints: ${endpointsLabel(result)}` },
      );
      const drawn = result.pairs.slice(0, ctx.maxPairs);
      const label = (p: (typeof drawn)[number]): string => `${p.textId} (restarts ${p.restartA}, ${p.restartB})`;
      const rows = drawn.flatMap((p) => result.taus.flatMap((tau, k) => pathsOf(p).map(([path, acc]) => ({ pair: label(p), path: PATH_TITLE[path], tau, accuracy: acc[k] }))));
      const chart = drawn.length === 0 ? '' : await ctx.chart(
        accuracyPanels(rows, 'token accuracy', { field: 'pair', title: 'text (restarts)', columns: 3 }, 240, 150),
        `Token accuracy along each path between the two solutions of a text${drawn.length < result.pairs.length ? ` (the first ${drawn.length} of ${result.pairs.length} pairs)` : ''}.`,
      );
      const margins = (p: InterpolatePair): string => [p.marginA, p.marginB].map((x) => (x == null ? '–' : fixed(x))).join(', ');
      const pairs = htmlTable(
        ['text', 'restarts', 'N', 'endpoint margins', 'line min acc', 'Bezier min acc', 'two-bend min acc', 'length ratio', 'Bezier loss before → after', 'endpoint distance'],
        result.pairs.map((p) => [
          p.textId, `${p.restartA}, ${p.restartB}`, p.N, margins(p), fixed(p.lineMinAccuracy), fixed(p.bezierMinAccuracy), p.cubicMinAccuracy == null ? '–' : fixed(p.cubicMinAccuracy),
          fixed(p.lengthRatio), `${fixed(p.bezierLossBefore)} → ${fixed(p.bezierLossAfter)}`, fixed(p.endpointDistance),
        ]),
        { caption: 'Every pair' },
      );
      return summary + chart + pairs + para(`Curves per tau: ${result.curvesFile} (beside the result).`, 'muted');
    });
    return each === null ? null : compared + each;
  },
};
