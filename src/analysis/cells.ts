/**
 * Resumable analysis runs. An experiment is a list of cells (one arrangement at one N, one
 * sharing setting at one seed, ...); each finished cell is written at once, atomically, to
 * `DIR/cells/<key>.json` together with the recipe it was computed under, so a run stopped by
 * Ctrl-C (or killed) and started again with the same settings skips the cells it finished. A cell
 * file whose recipe differs from the current one is an error: reusing it would mix two
 * experiments in one table.
 *
 * The final `DIR/config.json` and `DIR/result.json` are written (atomically) only when every
 * cell is done, so a result.json always describes a complete run.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { SolveResult, SolveTarget } from '../solver/types.js';
import type { AnalysisResult } from './results.js';
import { exists, removeStaleTemps, writeFileAtomic } from '../util/fs_atomic.js';
import { PrototokenError } from '../util/errors.js';
import { compareRecorded } from '../util/recipe.js';
import { Progress, formatSeconds } from '../util/progress.js';

/** One cell of an experiment. */
export interface Cell<T> {
  /** Unique within the experiment; the file name (`cells/<key>.json`). */
  key: string;
  /** Everything that decides the cell's value (solver settings, model, targets). */
  recipe: Record<string, unknown>;
  /** Units of work (e.g. texts) for the progress line. */
  work: number;
  /** Compute the value; `tick(n)` reports n units done. Resolves null when interrupted. */
  run: (tick: (n: number) => void) => Promise<T | null>;
}

/** How a list of cells is run. */
export interface CellRunOptions<T> {
  /** The output folder; cells go to `dir/cells/`. */
  dir: string;
  /** What `work` counts, e.g. "texts". Default "units". */
  unit?: string;
  /** No progress lines. Default false. */
  quiet?: boolean;
  /** Checked before each cell; true stops the run (resumable). Default: never. */
  shouldStop?: () => boolean;
  /** A one-line summary of a finished cell for the log. Default: none. */
  describe?: (value: T) => string;
}

/** The solver outcome of one text, as cells store it. */
export interface TextOutcome {
  id: string;
  accuracy: number;
  solved: boolean;
  steps: number;
  /** Summed cross-entropy (nats) of the reported pass. */
  loss: number;
}

export function textOutcome(r: SolveResult): TextOutcome {
  return { id: r.id, accuracy: r.accuracy, solved: r.solved, steps: r.steps, loss: r.loss };
}

/** What a cell file holds. */
interface CellFile<T> {
  recipe: Record<string, unknown>;
  created: string;
  seconds: number;
  value: T;
}

/**
 * Run every cell not already in `dir/cells/`; returns all values by key (reused and new), how many
 * were reused, and whether the run was interrupted (then some values are missing).
 */
export async function runCells<T>(cells: readonly Cell<T>[], opts: CellRunOptions<T>): Promise<{ values: Map<string, T>; reused: number; interrupted: boolean }> {
  const dir = join(opts.dir, 'cells');
  const values = new Map<string, T>();
  // Read every finished cell first, so a recipe mismatch stops the run before any work.
  for (const cell of cells) {
    const found = await readCell<T>(dir, cell);
    if (found !== null) values.set(cell.key, found);
  }
  const pending = cells.filter((c) => !values.has(c.key));
  const reused = cells.length - pending.length;
  const log = (line: string): void => {
    if (!opts.quiet) process.stderr.write(line + '\n');
  };
  if (reused > 0) log(`resuming: ${reused} of ${cells.length} cells already in ${dir}`);
  if (pending.length > 0) {
    await fsp.mkdir(dir, { recursive: true });
    await removeStaleTemps(dir, pending.map((c) => `${c.key}.json`));
  }
  const progress = new Progress(pending.reduce((n, c) => n + c.work, 0), { unit: opts.unit ?? 'units', quiet: opts.quiet });
  for (const [i, cell] of pending.entries()) {
    if (opts.shouldStop?.()) return { values, reused, interrupted: true };
    const started = Date.now();
    const value = await cell.run((n) => progress.tick(n, `cell ${i + 1}/${pending.length}: ${cell.key}`));
    if (value === null) return { values, reused, interrupted: true };
    const seconds = (Date.now() - started) / 1000;
    const file: CellFile<T> = { recipe: cell.recipe, created: new Date().toISOString(), seconds, value };
    await writeFileAtomic(join(dir, `${cell.key}.json`), JSON.stringify(file, null, 1) + '\n');
    values.set(cell.key, value);
    log(`[${cell.key}] ${opts.describe ? opts.describe(value) + ' ' : ''}(${formatSeconds(seconds)})`);
  }
  return { values, reused, interrupted: false };
}

async function readCell<T>(dir: string, cell: Cell<T>): Promise<T | null> {
  const path = join(dir, `${cell.key}.json`);
  if (!(await exists(path))) return null;
  let file: CellFile<T>;
  try {
    file = JSON.parse(await fsp.readFile(path, 'utf8')) as CellFile<T>;
  } catch (err) {
    throw new PrototokenError(`not a readable cell file (${(err as Error).message})`, { file: path, fix: 'delete it; the rerun computes that cell again' });
  }
  const differ = compareRecorded(file.recipe ?? {}, cell.recipe).map((line) => line.slice(0, line.indexOf(':')));
  if (differ.length > 0) {
    throw new PrototokenError(`this cell was computed with other settings (${differ.join(', ')} differ)`, {
      file: path,
      fix: 'rerun with the settings of that run, or write to another --out (or delete its cells/ folder)',
    });
  }
  return file.value;
}

/** A short hash of the exact targets (ids and tokens): a cell's texts are part of its recipe, whatever file or flags produced them. */
export function targetsHash(targets: readonly SolveTarget[]): string {
  const h = createHash('sha256');
  for (const t of targets) h.update(`${t.id}\u0000${Array.from(t.ids).join(',')}\n`);
  return h.digest('hex').slice(0, 16);
}

/** Write `config.json`, then `result.json`, each atomically, into `dir`. */
export async function writeResult(dir: string, result: AnalysisResult, config: object): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  await writeFileAtomic(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
}
