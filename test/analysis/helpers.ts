/** Small synthetic solution datasets with one fixed m, for the interpolation tests (no solving). */
import { openDatasetWriter, type DatasetWriterOptions, type SolutionRecord } from '../../src/datasets/index.js';
import { D, recordOf, testOptions } from '../datasets/helpers.js';

/** The fixed m of the synthetic datasets, [D]. */
export const M = Float32Array.from({ length: D }, (_, i) => Math.sin(i));
/** Tokens per text. */
export const N = 5;

/** Text i, restart r: N tokens, solved unless `unsolved`, no m of its own. */
export function row(i: number, r: number, unsolved = false): SolutionRecord {
  const rec = recordOf(i, false, r);
  return { ...rec, tokenIds: Int32Array.from({ length: N }, (_, j) => 10 * i + j), solved: !unsolved, accuracy: unsolved ? 0.6 : 1 };
}

/** Writer options keeping every one of `count` restarts. */
export function keepAll(count: number): Partial<DatasetWriterOptions> {
  return { restarts: { keep: 'all', count } };
}

/** Write `rows` as a dataset in `dir` solved with m = M (override any option); returns `dir`. */
export async function writeFixedM(dir: string, rows: SolutionRecord[], over: Partial<DatasetWriterOptions> = {}): Promise<string> {
  const w = await openDatasetWriter(dir, testOptions({ m: M, length: N, arrangement: 'e-m', ...over }));
  await w.append(rows);
  await w.close();
  return dir;
}
