/** The encoder against its baselines on the same texts (`prototoken eval --json`). */
import type { EvalStats } from '../../../encoder/eval_table.js';
import { barChart } from '../charts.js';
import { type Cell, escapeHtml, fixed, htmlTable, para } from '../html.js';
import { type Section, perInput } from './section.js';

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
      const notes = s.notes.length ? `<ul>${s.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
      const rows = s.methods.flatMap((m) => [
        { method: m.method, metric: 'token accuracy', value: m.token_accuracy },
        { method: m.method, metric: 'exact match', value: m.exact_match },
      ]);
      const chart = await ctx.chart(
        barChart(rows, { category: { field: 'method', title: 'method' }, value: { field: 'value', title: 'fraction', domain: [0, 1] }, group: { field: 'metric', title: 'metric' }, horizontal: true, height: 40 * s.methods.length }),
        'One-pass token accuracy and exact-match rate of each method on the same texts.',
      );
      return intro + table + byN + notes + chart;
    }),
};
