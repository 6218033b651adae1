/** Capacity: the paper's table (capacity and H_LM per source and m) and capacity against H_LM per text. */
import * as path from 'node:path';
import { type CapacityTextRow, capacityTable } from '../../capacity.js';
import { scatterChart } from '../charts.js';
import { htmlTable, meanStd, para } from '../html.js';
import { inputsOf } from '../types.js';
import { type Section, shownPath } from './section.js';

export const capacitySection: Section = {
  id: 'capacity',
  title: 'Capacity',
  howTo: 'prototoken capacity --texts FILE --out DIR (then pass DIR, or the --json output saved to a file)',
  async render(inputs, ctx) {
    // A capacity --out folder holds one dataset per (source, m); its --json summary names the folder.
    const given = [
      ...inputsOf(inputs, 'dataset').flatMap((i) => (i.capacity ?? []).map((t) => ({ run: path.resolve(path.dirname(i.path)), t }))),
      ...inputsOf(inputs, 'capacity-summary').flatMap((i) => i.capacity.map((t) => ({ run: path.resolve(i.run), t }))),
    ];
    const texts: { run: string; t: CapacityTextRow }[] = [];
    const seen = new Set<string>();
    let repeated = 0;
    for (const g of given) {
      // The --json summary and the datasets of one run describe the same texts: count each once.
      const key = JSON.stringify([g.run, g.t.source, g.t.m, g.t.id]);
      if (seen.has(key)) repeated++;
      else texts.push(g);
      seen.add(key);
    }
    if (texts.length === 0) return null;
    const runs = [...new Set(texts.map((x) => x.run))];
    // Several capacity runs (say openings and windows) are kept apart: their texts differ in kind.
    const label = (run: string): string => (runs.length > 1 ? `${path.basename(run)}: ` : '');
    const tableRows = runs.flatMap((run) => capacityTable(texts.filter((x) => x.run === run).map((x) => x.t)).map((r) => [
      ...(runs.length > 1 ? [shownPath(run)] : []),
      r.source, r.m, r.texts, meanStd({ mean: r.capacity_mean, std: r.capacity_std }, 1), r.capacity_max, meanStd({ mean: r.h_lm_mean, std: r.h_lm_std }, 1),
    ]));
    const table = htmlTable(
      [...(runs.length > 1 ? ['run'] : []), 'source', 'm', 'texts', 'capacity (tokens), mean ± std', 'max', 'H_LM at capacity (nats), mean ± std'],
      tableRows,
    );
    const rows = texts.map(({ run, t }) => ({ id: t.id, run: `${label(run)}${t.source}, m ${t.m}`, capacity: t.capacity, h_lm: t.h_lm_nats }));
    const chart = await ctx.chart(
      scatterChart(rows, {
        x: { field: 'h_lm', title: 'H_LM of the text at its capacity (nats)' },
        y: { field: 'capacity', title: 'capacity (tokens)', integer: true },
        series: { field: 'run', title: runs.length > 1 ? 'run folder: source, m' : 'source, m' },
        tooltip: [{ field: 'id', title: 'text' }, { field: 'capacity', title: 'capacity' }, { field: 'h_lm', title: 'H_LM (nats)' }],
      }),
      'Capacity of each text against the LM cross-entropy of the text at that length.',
    );
    const note = repeated ? para(`${repeated} texts were given by more than one input and are counted once.`, 'muted') : '';
    return para('Per text, the longest length on the grid solved at the threshold accuracy (0 when even the first failed).') + table + chart + note;
  },
};
