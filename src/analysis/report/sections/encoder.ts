/** The encoder against its baselines on the same texts (`prototoken eval --json`). */
import type { EvalStats } from '../../../encoder/eval_table.js';
import type { LadderSummary } from '../../../encoder/ladder.js';
import { barChart, lineChart } from '../charts.js';
import { type Cell, escapeHtml, fixed, htmlTable, para } from '../html.js';
import { type Section, perInput } from './section.js';

/** The accuracy-per-LM-pass ladder (`eval --ladder`): a table and token accuracy / exact match against passes. */
async function ladderPart(l: LadderSummary, ctx: Parameters<Section['render']>[1], scope = ''): Promise<string> {
  const budget = l.steps[l.steps.length - 1];
  const table = htmlTable(
    ['start', ...l.steps.map((k) => `k=${k}`), 'median passes', 'p90 passes', `exact within ${budget + 1}`],
    l.methods.map((m) => [m.method, ...m.rungs.map((r) => `${fixed(r.token_accuracy, 3)} / ${fixed(r.exact_match, 3)}`), m.median_passes ?? '-', m.p90_passes ?? '-', fixed(m.solved_within_budget, 3)]),
    { caption: `Accuracy per LM pass${scope}: token accuracy / exact match after k refinement steps (k + 1 forward passes; each text keeps its best e). Rule: ${l.rule}` },
  );
  const rows = l.methods.flatMap((m) => m.rungs.flatMap((r) => [
    { method: m.method, metric: 'token accuracy', passes: r.passes, value: r.token_accuracy },
    { method: m.method, metric: 'exact match', passes: r.passes, value: r.exact_match },
  ]));
  const chart = await ctx.chart(
    lineChart(rows, { x: { field: 'passes', title: 'LM forward passes (k + 1)', log: true }, y: { field: 'value', title: 'fraction', domain: [0, 1] }, series: { field: 'method', title: 'start' }, facet: { field: 'metric', title: 'metric', columns: 2 } }),
    `How many LM passes each way of starting e needs for a given accuracy${scope}.`,
  );
  return table + chart;
}

export const encoderEvalSection: Section = {
  id: 'encoder-eval',
  title: 'Encoder against baselines',
  howTo: 'prototoken eval --checkpoint C --texts FILE --window N --json > eval.json (then pass eval.json)',
  render: (inputs, ctx) =>
    perInput(inputs, 'eval', (i) => `eval of ${i.summary.checkpoint}`, async ({ summary: s }) => {
      const cells = (x: EvalStats): Cell[] => [x.texts, fixed(x.token_accuracy, 4), fixed(x.exact_match, 4), fixed(x.mean_first_error, 2)];
      const header = ['texts', 'token accuracy', 'exact match', 'mean first error'];
      const intro = para(
        `${s.texts} texts of N=${s.N} from ${s.source} (split ${s.split}); ${s.exact_copies_of_training_windows ?? 'unknown how many'} are exact copies of training windows; ` +
          `${s.too_short} too short; encoder ${fixed(s.encoder_texts_per_sec, 1)} texts/s.`,
      );
      const table = htmlTable(['method', ...header], s.methods.map((m) => [m.method, ...cells(m)]));
      const lengths = new Set(s.methods.flatMap((m) => Object.keys(m.by_n)));
      const byN = lengths.size > 1
        ? htmlTable(['method', 'N', ...header], s.methods.flatMap((m) => Object.entries(m.by_n).map(([N, x]) => [m.method, Number(N), ...cells(x)])), { caption: 'By text length' })
        : '';
      const unseen = s.unseen_windows
        ? htmlTable(['method', ...header], s.unseen_windows.methods.map((m) => [m.method, ...cells(m)]), { caption: `On the ${s.unseen_windows.texts} texts that copy no training window (retrieval reproduces the copies exactly)` })
        : '';
      const notes = s.notes.length ? `<ul>${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
      const rows = s.methods.flatMap((m) => [
        { method: m.method, metric: 'token accuracy', value: m.token_accuracy },
        { method: m.method, metric: 'exact match', value: m.exact_match },
      ]);
      const chart = await ctx.chart(
        barChart(rows, { category: { field: 'method', title: 'method' }, value: { field: 'value', title: 'fraction', domain: [0, 1] }, group: { field: 'metric', title: 'metric' }, horizontal: true, height: 40 * s.methods.length }),
        'One-pass token accuracy and exact-match rate of each method on the same texts.',
      );
      const unseenLadder = s.unseen_windows?.ladder ? await ladderPart(s.unseen_windows.ladder, ctx, `, on the ${s.unseen_windows.texts} texts that copy no training window`) : '';
      return intro + table + byN + unseen + notes + chart + (s.ladder ? await ladderPart(s.ladder, ctx) : '') + unseenLadder;
    }),
};
