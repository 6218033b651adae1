/**
 * The encoder against each other method, text by text: on how many texts each wins, and what the
 * better of the two per text would give. The mean accuracy alone hides whether an encoder that
 * loses on average still wins on some texts (then choosing per text pays, as `solve --init
 * encoder:` does with one judging pass per start) or loses nearly everywhere (then no choice of
 * start lifts it, and only a better encoder will).
 */
import { formatTable } from '../util/table.js';
import type { MethodRows } from './eval_table.js';

/** The first method (the encoder) against one other, over the same texts. */
export interface HeadToHead {
  /** The other method. */
  method: string;
  /** Texts where the encoder's token accuracy is higher / equal / lower. */
  encoder_better: number;
  ties: number;
  encoder_worse: number;
  /** Mean over texts of the higher of the two token accuracies. */
  better_of_two_token_accuracy: number;
  /** Fraction of texts that at least one of the two emits exactly. */
  better_of_two_exact_match: number;
}

/** `methods[0]` against each later method; every method's rows cover the same texts in order. */
export function headToHead(methods: readonly MethodRows[]): HeadToHead[] {
  const [first, ...others] = methods;
  if (!first) return [];
  const n = first.rows.length;
  return others.map((other) => {
    if (other.rows.length !== n) throw new Error(`headToHead: "${other.name}" has ${other.rows.length} texts, "${first.name}" ${n}`);
    let better = 0;
    let worse = 0;
    let acc = 0;
    let exact = 0;
    first.rows.forEach((a, i) => {
      const b = other.rows[i];
      if (a.accuracy > b.accuracy) better++;
      else if (a.accuracy < b.accuracy) worse++;
      acc += Math.max(a.accuracy, b.accuracy);
      if (a.exact || b.exact) exact++;
    });
    return {
      method: other.name,
      encoder_better: better,
      ties: n - better - worse,
      encoder_worse: worse,
      better_of_two_token_accuracy: n === 0 ? 0 : acc / n,
      better_of_two_exact_match: n === 0 ? 0 : exact / n,
    };
  });
}

/** As aligned text under a one-line title naming the encoder. */
export function renderHeadToHead(encoder: string, rows: readonly HeadToHead[]): string {
  const header = ['against', 'encoder better', 'ties', 'worse', 'better of two: token acc', 'exact'];
  const body = rows.map((r) => [r.method, String(r.encoder_better), String(r.ties), String(r.encoder_worse), r.better_of_two_token_accuracy.toFixed(4), r.better_of_two_exact_match.toFixed(4)]);
  return [`${encoder}, text by text:`, ...formatTable([header, ...body], [false, true, true, true, true, true])].join('\n');
}
