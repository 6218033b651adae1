/**
 * Hand-made solution datasets for the distances tests, written by the real dataset writer. The
 * e vectors are chosen so that every distance is known in closed form (see `handMadeRows`).
 */
import { join } from 'node:path';
import { after, before } from 'node:test';
import { openDatasetWriter, type DatasetWriterOptions, type SolutionRecord } from '../../src/datasets/index.js';
import { D, tempDir, testOptions } from '../datasets/helpers.js';

export { D } from '../datasets/helpers.js';

/** Tokens per text. */
export const N = 4;

/** The fixed m every hand-made dataset is solved with. */
export const FIXED_M = Float32Array.from({ length: D }, (_, j) => (j % 2 ? 0.5 : -0.5));

/** One row as a test writes it. */
export interface HandRow {
  id: string;
  tokens: number[];
  e: number[];
  seed: number;
  /** Default true. */
  solved?: boolean;
}

/** Write `rows` as a dataset in `dir` (fixed m, N tokens per text unless `over` says otherwise). */
export async function writeSolutions(dir: string, rows: readonly HandRow[], over: Partial<DatasetWriterOptions> = {}): Promise<void> {
  const options = testOptions({ length: N, m: FIXED_M, ...over });
  const w = await openDatasetWriter(dir, options);
  // The writer wants all rows of one text (its restarts) in one append.
  const byText = new Map<string, SolutionRecord[]>();
  for (const r of rows) {
    const record = recordOf(r);
    if (options.m === 'per-text') record.m = FIXED_M;
    byText.set(r.id, [...(byText.get(r.id) ?? []), record]);
  }
  for (const records of byText.values()) await w.append(records);
  await w.close();
}

function recordOf(r: HandRow): SolutionRecord {
  const solved = r.solved ?? true;
  return {
    textId: r.id,
    text: r.tokens.join(' '),
    tokenIds: Int32Array.from(r.tokens),
    e: Float32Array.from(r.e),
    seed: r.seed,
    steps: 10,
    accuracy: solved ? 1 : 0.5,
    cTokens: solved ? r.tokens.length : 1,
    prefixLen: solved ? r.tokens.length : 1,
    loss: 0.1,
    hLmNats: 3,
    solved,
    seconds: 0.5,
  };
}

/** The unit vector along axis `i` of R^D, times `scale`. */
function unit(i: number, scale: number): number[] {
  return Array.from({ length: D }, (_, j) => (j === i ? scale : 0));
}

function add(...vs: number[][]): number[] {
  return vs[0].map((_, j) => vs.reduce((s, v) => s + v[j], 0));
}

/**
 * Three contexts `ctx<c>` of three continuations `ctx<c>#<k>` each, as solved under one seed:
 * e = 4 u_c + 2 u_(3+k) + shift * 0.3 u_7. So (exactly, in float64):
 * - same text, shift 0 vs 1: 1 - sqrt(20 / 20.09) ~ 0.0022
 * - same context: 1 - 16/20 = 0.2 (shift 0), 1 - 16.09/20.09 ~ 0.199 (shift 1), ~ 0.2011 (one of each)
 * - different contexts: about 0.8 (same k) or about 1 (other k)
 * Texts of one context share two of their four tokens; texts of different contexts share none.
 */
export function handMadeRows(shift: 0 | 1): HandRow[] {
  const rows: HandRow[] = [];
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 3; k++) {
      rows.push({
        id: `ctx${c}#${k}`,
        tokens: [10 * c, 10 * c + 1, 50 + 3 * c + k, 70 + 3 * c + k],
        e: add(unit(c, 4), unit(3 + k, 2), unit(7, 0.3 * shift)),
        seed: 1000 * shift + 10 * c + k,
      });
    }
  }
  return rows;
}

/**
 * Inside a describe block: a temporary folder, made before its tests and removed after them, that
 * holds the hand-made datasets `seed0` (shift 0) and `seed1` (shift 1). Returns name -> path in it.
 */
export function handMadeFolder(): (name: string) => string {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeSolutions(join(dir, 'seed0'), handMadeRows(0));
    await writeSolutions(join(dir, 'seed1'), handMadeRows(1));
  });
  after(() => cleanup());
  return (name) => join(dir, name);
}
