/** Learning curves of encoder runs (TensorBoard scalars) and where each checkpoint run stands. */
import { lineChart, spansDecades } from '../charts.js';
import { fixed, htmlTable, para } from '../html.js';
import { inputsOf } from '../types.js';
import type { Section } from './section.js';

export const trainingSection: Section = {
  id: 'training',
  title: 'Encoder training: learning curves',
  howTo: 'prototoken train --name RUN --window N … (then pass runs/RUN and/or checkpoints/RUN)',
  async render(inputs, ctx) {
    const runs = inputsOf(inputs, 'events');
    const checkpoints = inputsOf(inputs, 'checkpoint');
    if (runs.length === 0 && checkpoints.length === 0) return null;
    const parts: string[] = [];
    const rows = runs.flatMap((r) => r.scalars.map((s) => ({ run: r.run, tag: s.tag, step: s.step, value: s.value })));
    if (rows.length > 0) {
      // A scalar spanning decades (a gradient norm from 1e12 down to 1) is flat on a linear axis:
      // those get their own panels on a log axis (one spec has one scale type).
      const tags = [...new Set(rows.map((r) => r.tag))];
      const logTags = new Set(tags.filter((t) => spansDecades(rows.filter((r) => r.tag === t).map((r) => r.value))));
      const names = runs.map((r) => r.run).join(', ');
      for (const log of [false, true]) {
        const some = rows.filter((r) => logTags.has(r.tag) === log);
        if (some.length === 0) continue;
        parts.push(await ctx.chart(
          lineChart(some, {
            x: { field: 'step', title: 'step', integer: true },
            y: { field: 'value', title: log ? 'value (log scale)' : 'value', log },
            series: { field: 'run', title: 'run' },
            facet: { field: 'tag', title: 'scalar', columns: 3, independentY: true },
            points: false,
            width: 240,
            height: 140,
          }),
          log
            ? `Scalars that span decades, on a log scale, against the training step (${names}).`
            : `Every logged scalar${logTags.size > 0 ? ' but those below' : ''} against the training step (${names}).`,
        ));
      }
    } else {
      parts.push(para(runs.length ? 'The event files hold no scalars yet.' : noCurves(checkpoints.map((c) => c.logdir)), 'muted'));
    }
    if (checkpoints.length > 0) {
      parts.push(htmlTable(
        ['run', 'snapshot', 'encoder', 'N', 'step', 'metric at this step', 'best so far (step)', 'training time'],
        checkpoints.flatMap((c) => c.snapshots.map((s) => [
          c.run, s.snapshot, s.encoder, s.trainN, s.step, `${s.metric.name} ${fixed(s.metric.value, 4)}`,
          s.best ? `${fixed(s.best.value, 4)} (${s.best.step})` : '', s.seconds === null ? '' : `${fixed(s.seconds / 60, 1)} min`,
        ])),
        { caption: 'Checkpoints' },
      ));
    }
    return parts.join('');
  },
};

/** Where the curves would come from: the folders the checkpoints were trained into (runs/ stays on the machine that trained). */
function noCurves(logdirs: readonly (string | null)[]): string {
  const named = [...new Set(logdirs.filter((d): d is string => d !== null))];
  if (named.length === 0) return 'No TensorBoard folder given: pass runs/RUN for the curves.';
  return `No TensorBoard folder read: these checkpoints were trained into ${named.join(', ')}; pass it where it exists (training writes it) for the curves.`;
}
