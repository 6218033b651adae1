/**
 * What the analysis commands that run the solver (`arrangements`, `sharing`) share: their flags
 * and config keys, the texts they solve, and the resumable run that ends in DIR/result.json.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { report, toInt, withCommonOptions } from './common.js';
import { baseSchema } from '../lm/open_model.js';
import { addSolverOptions } from './dataset_run.js';
import { installInterrupt } from './run_support.js';
import { addWindowOptions } from './window_options.js';
import { windowOptionsOf, windowSchema, WINDOW_RECIPE } from '../texts/window_config.js';
import { solverSchema, SOLVER_RECIPE } from '../solver/config.js';
import { type TextItem, prepareTargets } from '../texts/targets.js';
import type { SolveTarget } from '../solver/types.js';
import { readTexts } from '../texts/text_file.js';
import { windowTargets } from '../texts/windows.js';
import type { LoadedModel } from '../lm/load.js';
import type { TextTokenizer } from '../lm/tokenizer.js';
import { type Cell, runCells, writeResult } from '../analysis/cells.js';
import type { AnalysisResult } from '../analysis/results.js';
import { formatSeconds } from '../util/progress.js';

/** Config keys of every solving analysis command (each adds its own). */
export const solvingAnalysisSchema = baseSchema.merge(solverSchema).merge(windowSchema).extend({
  /** Corpus file: JSONL or plain text. */
  texts: z.string().min(1),
  /** The first K texts (each cut into windows with --window); null = all. */
  limit: z.number().int().min(1).nullable().default(32),
  /** Output folder: cells/ as they finish, then result.json and config.json. */
  out: z.string().min(1),
});

export type SolvingAnalysisConfig = z.infer<typeof solvingAnalysisSchema>;

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

/** The texts of a run, each with its token ids (tokenized once): the first --limit texts, or their windows. */
export async function loadRunTexts(config: SolvingAnalysisConfig, tokenizer: TextTokenizer, quiet: boolean): Promise<TextItem[]> {
  const all = await readTexts(config.texts);
  const texts = config.limit === null ? all : all.slice(0, config.limit);
  const windows = windowOptionsOf(config);
  if (!windows) return texts.map((t) => ({ id: t.id, text: t.text, ids: tokenizer.encode(t.text) }));
  const cut = windowTargets(texts, tokenizer, windows, config.texts);
  if (!quiet) for (const s of cut.tooShort) process.stderr.write(`skipped "${s.id}": ${s.tokens} tokens < --window ${windows.window}\n`);
  return cut.targets.map((t) => ({ id: t.id, text: t.text, ids: Array.from(t.ids) }));
}

/** The first N tokens of every text long enough (the others are reported and skipped). */
export function targetsAt(texts: readonly TextItem[], tokenizer: TextTokenizer, N: number, file: string, quiet: boolean): SolveTarget[] {
  const prepared = prepareTargets(texts, tokenizer, N, file);
  if (!quiet) for (const s of prepared.tooShort) process.stderr.write(`skipped "${s.id}" at N=${N}: ${s.tokens} tokens\n`);
  return prepared.targets;
}

/** What decides every cell of a run besides the cell's own settings: the solver recipe, the seed and the exact weights. */
export async function baseRecipe(config: SolvingAnalysisConfig, model: LoadedModel): Promise<Record<string, unknown>> {
  return { ...SOLVER_RECIPE.with(WINDOW_RECIPE).pick(config), model: await model.fingerprint() };
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
