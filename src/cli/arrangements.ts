/** `prototoken arrangements`: the paper's arrangement ablation (accuracy after solving, per arrangement and N). */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, showDefaults } from './common.js';
import { openModel } from '../lm/open_model.js';
import { presetsOf } from './solve.js';
import { loadInitSpec } from '../solver/init.js';
import { eByTextId } from '../datasets/solve_records.js';
import { solverOptionsOf } from '../solver/config.js';
import { windowOptionsOf } from '../texts/window_config.js';
import { runAnalysis, toIntList, toList, withSolvingAnalysisOptions } from './analysis_support.js';
import { baseRecipe, loadRunTexts, targetsAt } from '../analysis/solving_run.js';
import { ARRANGEMENTS, parseArrangement } from '../solver/arrangements.js';
import type { SolveTarget } from '../solver/types.js';
import { arrangementCells, arrangementRow, arrangementsResult, checkArrangementLengths, arrangementsSchema } from '../analysis/arrangements.js';
import { formatTable } from '../util/table.js';
import { PrototokenError } from '../util/errors.js';
import { checkOutputFolder } from '../util/output_paths.js';

export function arrangementsCommand(): Command {
  const cmd = withSolvingAnalysisOptions(new Command('arrangements'))
    .description("the paper's arrangement ablation: token accuracy after solving, per arrangement and length N (m per text)")
    .option('--lengths <list>', 'target lengths N, the first N tokens of each text (default 1,2,4,8,16,32)', toIntList)
    .option('--arrangements <list>', `arrangements compared (default ${ARRANGEMENTS.join(',')})`, toList);
  showDefaults(cmd, arrangementsSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, arrangementsSchema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    if (cmd.getOptionValueSource('arrangement') === 'cli') {
      throw new PrototokenError('--arrangement picks one arrangement, but this command compares several', { fix: 'pass them as --arrangements e-m,alt' });
    }
    const arrangements = [...new Set(config.arrangements.map(parseArrangement))];
    const lengths = [...new Set(config.lengths)];
    const windows = windowOptionsOf(config);
    const longest = Math.max(...lengths);
    if (windows && longest > windows.window) {
      throw new PrototokenError(`--lengths: N=${longest} is longer than the --window of ${windows.window} tokens it is cut from`, { fix: `use --window ${longest} or more, or shorter lengths` });
    }
    await checkOutputFolder(config.out);
    const quiet = cmd.opts<{ quiet?: boolean }>().quiet === true;
    const model = await openModel(config, quiet);
    const note = (line: string): void => {
      if (!quiet) process.stderr.write(line + '\n');
    };
    checkArrangementLengths(arrangements, lengths, model.lm.config.maxPositions);
    const texts = await loadRunTexts(config, model.tokenizer, note, model.lm.config.maxPositions);
    const targets = new Map<number, SolveTarget[]>(lengths.map((N) => [N, targetsAt(texts, model.tokenizer, N, config.texts, note)]));
    const solver = solverOptionsOf(config, await loadInitSpec(config.init, config.initScale, model.lm, eByTextId), { kind: 'per-text' });
    const recipe = await baseRecipe(config, model);
    await runAnalysis(cmd, config, model, (shouldStop) => arrangementCells(model.lm, (N) => targets.get(N) as SolveTarget[], { arrangements, lengths, solver, recipe, shouldStop }), {
      unit: 'texts',
      describe: (cell) => {
        const row = arrangementRow(cell);
        return `${row.solved}/${row.texts} solved, accuracy ${fmt(row.accuracy.mean)} ± ${fmt(row.accuracy.std)}, median ${row.steps.median ?? 0} steps`;
      },
      result: (cells) => arrangementsResult(config.model, cells),
      table: (result) =>
        formatTable([
          ['arrangement', 'N', 'texts', 'solved', 'accuracy (mean ± std)', 'steps (median)', 'steps (max)'],
          ...result.rows.map((r) => [r.arrangement, String(r.N), String(r.texts), String(r.solved), `${fmt(r.accuracy.mean)} ± ${fmt(r.accuracy.std)}`, String(r.steps.median ?? 0), String(r.steps.max ?? 0)]),
        ], [false, true, true, true, false, true, true]).join('\n'),
    });
  });
  return cmd;
}

function fmt(x: number | null): string {
  return (x ?? 0).toFixed(3);
}
