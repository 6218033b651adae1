/** Capacity: the paper's table (capacity and H_LM per source and m) and capacity against H_LM per text. */
import { type CapacityTextRow, capacityTable } from '../../../datasets/capacity.js';
import { scatterChart } from '../charts.js';
import { htmlTable, meanStd, para } from '../html.js';
import { inputsOf } from '../types.js';
import type { Section } from './section.js';

export const capacitySection: Section = {
  id: 'capacity',
  title: 'Capacity',
  howTo: 'prototoken capacity --texts FILE --out DIR (then pass DIR, or the --json output saved to a file)',
  async render(inputs, ctx) {
    const texts: CapacityTextRow[] = [];
    const seen = new Set<string>();
    let repeated = 0;
    const all = [...inputsOf(inputs, 'dataset').flatMap((i) => i.capacity ?? []), ...inputsOf(inputs, 'capacity-summary').flatMap((i) => i.capacity)];
    for (const t of all) {
      // The --json summary and the datasets of one run describe the same texts: count each once.
      const key = JSON.stringify([t.source, t.m, t.id]);
      if (seen.has(key)) repeated++;
      else texts.push(t);
      seen.add(key);
    }
    if (texts.length === 0) return null;
    const table = htmlTable(
      ['source', 'm', 'texts', 'capacity (tokens), mean ± std', 'max', 'H_LM at capacity (nats), mean ± std'],
      capacityTable(texts).map((r) => [r.source, r.m, r.texts, meanStd({ mean: r.capacity_mean, std: r.capacity_std }, 1), r.capacity_max, meanStd({ mean: r.h_lm_mean, std: r.h_lm_std }, 1)]),
    );
    const rows = texts.map((t) => ({ id: t.id, run: `${t.source}, m ${t.m}`, capacity: t.capacity, h_lm: t.h_lm_nats }));
    const chart = await ctx.chart(
      scatterChart(rows, {
        x: { field: 'h_lm', title: 'H_LM of the text at its capacity (nats)' },
        y: { field: 'capacity', title: 'capacity (tokens)' },
        series: { field: 'run', title: 'source, m' },
        tooltip: [{ field: 'id', title: 'text' }, { field: 'capacity', title: 'capacity' }, { field: 'h_lm', title: 'H_LM (nats)' }],
      }),
      'Capacity of each text against the LM cross-entropy of the text at that length.',
    );
    const note = repeated ? para(`${repeated} texts were given by more than one input and are counted once.`, 'muted') : '';
    return para('Per text, the longest length on the grid solved at the threshold accuracy (0 when even the first failed).') + table + chart + note;
  },
};
