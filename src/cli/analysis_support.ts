/**
 * What the analysis commands that run the solver (`arrangements`, `sharing`) share: their flags
 * and config keys, the texts they solve, and the resumable run that ends in DIR/result.json.
 */
import type { Command } from 'commander';
import { report, toInt, withCommonOptions } from './common.js';
import { addSolverOptions } from './dataset_run.js';
import { installInterrupt } from './run_support.js';
import { addWindowOptions } from './window_options.js';
import type { LoadedModel } from '../lm/load.js';
import { type Cell, runCells, writeResult } from '../analysis/cells.js';
import type { AnalysisResult } from '../analysis/results.js';
import { formatSeconds } from '../util/progress.js';
import { type SolvingAnalysisConfig } from '../analysis/solving_run.js';

/** The common, solver and window flags, and --texts, --limit, --out. */
export function withSolvingAnalysisOptions(cmd: Command): Command {
  return addWindowOptions(addSolverOptions(withCommonOptions(cmd)))
    .option('--texts <file>', 'texts: JSONL ({"id","text"} per line) or plain text')
    .option('--limit <k>', 'the first K texts (default 32; with --window, each is cut into windows)', toInt)
    .option('--out <dir>', 'output folder: cells/ as they finish (a rerun skips them), then result.json and config.json');
}

/** `a,b,c` -> ['a', 'b', 'c']. */
export function toList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `1,2,4` -> [1, 2, 4] (a non-integer is a flag error). */
export function toIntList(value: string): number[] {
  return toList(value).map(toInt);
}

/** How a command turns its finished cells into output. */
export interface AnalysisRunOptions<T, R extends AnalysisResult> {
  /** What a cell's work counts, for the progress line. */
  unit: string;
  /** One line about a finished cell. */
  describe: (value: T) => string;
  /** The result of all cells, in cell order. */
  result: (values: T[]) => R;
  /** The human summary of the result. */
  table: (result: R) => string;
}

/**
 * Run the cells (skipping finished ones), then write config.json and result.json and print the
 * summary; on Ctrl-C, stop after the current solver step with the finished cells kept, exit 130.
 * The cells are built by `makeCells`, which receives the interrupt check for the solver.
 */
export async function runAnalysis<T, R extends AnalysisResult>(
  cmd: Command,
  config: SolvingAnalysisConfig,
  model: LoadedModel,
  makeCells: (shouldStop: () => boolean) => Cell<T>[],
  opts: AnalysisRunOptions<T, R>,
): Promise<void> {
  const quiet = cmd.opts<{ quiet?: boolean }>().quiet === true;
  const started = Date.now();
  const interrupt = installInterrupt(quiet);
  const cells = makeCells(interrupt.stopped);
  let run: Awaited<ReturnType<typeof runCells<T>>>;
  try {
    run = await runCells(cells, { dir: config.out, unit: opts.unit, quiet, shouldStop: interrupt.stopped, describe: opts.describe });
  } finally {
    interrupt.dispose();
    model.lm.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  const counts = { out: config.out, cells: cells.length, done: run.values.size, reused: run.reused, seconds };
  if (run.interrupted) {
    report(cmd, { ...counts, interrupted: true }, `interrupted (rerun the same command to resume): ${run.values.size}/${cells.length} cells done in ${config.out}/cells`);
    process.exitCode = 130;
    return;
  }
  const result = opts.result(cells.map((c) => run.values.get(c.key) as T));
  await writeResult(config.out, result, config);
  report(
    cmd,
    { ...counts, interrupted: false, result },
    `${opts.table(result)}\n${cells.length} cells (${run.reused} from an earlier run) in ${formatSeconds(seconds)} -> ${config.out}/result.json`,
  );
}
