/** `prototoken sharing`: the paper's sharing experiment (one e or one m per group of S_g texts). */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, showDefaults, toInt } from './common.js';
import { openModel } from '../lm/open_model.js';
import { presetsOf } from './solve.js';
import { loadInitSpec } from '../solver/init.js';
import { eByTextId } from '../datasets/solve_records.js';
import { solverOptionsOf } from '../solver/config.js';
import { lengthOf, windowOptionsOf } from '../texts/window_config.js';
import { runAnalysis, toIntList, toList, withSolvingAnalysisOptions } from './analysis_support.js';
import { baseRecipe, loadRunTexts, targetsAt } from '../analysis/solving_run.js';
import { checkShareable } from '../solver/shared_m.js';
import { checkGroupSizes, sharingCells, sharingResult, sharingSchema } from '../analysis/sharing.js';
import { formatTable } from '../util/table.js';
import { PrototokenError } from '../util/errors.js';
import { checkOutputFolder } from '../util/output_paths.js';

export function sharingCommand(): Command {
  const cmd = withSolvingAnalysisOptions(new Command('sharing'))
    .description("the paper's sharing experiment: one trainable e (m per text) or m (e per text) per group of S_g texts")
    .option('--length <n>', 'N: target tokens per text, its first N (with --window, N is the window)', toInt)
    .option('--group-sizes <list>', 'texts per group S_g (default 1,4,16)', toIntList)
    .option('--share <list>', 'what a group shares: e, m or e,m (default e,m)', toList)
    .option('--seeds <k>', 'runs per (share, S_g), seeds --seed .. --seed+K-1 (default 3)', toInt);
  showDefaults(cmd, sharingSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, sharingSchema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    if (config.restarts !== 1) throw new PrototokenError('sharing runs each setting once per seed, so --restarts does not apply', { fix: 'drop --restarts; use --seeds K for K runs' });
    const N = lengthOf(config.length, windowOptionsOf(config));
    const share = [...new Set(config.share)];
    const groupSizes = [...new Set(config.groupSizes)];
    const seeds = Array.from({ length: config.seeds }, (_, i) => config.seed + i);
    await checkOutputFolder(config.out);
    const quiet = cmd.opts<{ quiet?: boolean }>().quiet === true;
    const model = await openModel(config, quiet);
    const note = (line: string): void => {
      if (!quiet) process.stderr.write(line + '\n');
    };
    checkShareable(config.arrangement, N, model.lm.config.maxPositions);
    const targets = targetsAt(await loadRunTexts(config, model.tokenizer, note, model.lm.config.maxPositions), model.tokenizer, N, config.texts, note);
    checkGroupSizes(groupSizes, targets.length);
    const solver = solverOptionsOf(config, await loadInitSpec(config.init, config.initScale, model.lm, eByTextId), { kind: 'per-text' });
    const recipe = await baseRecipe(config, model);
    await runAnalysis(cmd, config, model, (shouldStop) => sharingCells(model.lm, targets, { share, groupSizes, seeds, solver, recipe, shouldStop }), {
      unit: 'texts',
      describe: (cell) => `${cell.groups} groups, mean accuracy ${cell.accuracy.toFixed(3)}, ${cell.texts.filter((t) => t.solved).length}/${cell.texts.length} texts solved`,
      result: (cells) => sharingResult(config.model, N, cells),
      table: (result) =>
        formatTable([
          ['shared', 'S_g', 'groups', 'best', 'mean ± std', 'by seed'],
          ...result.rows.map((r) => [r.shared, String(r.groupSize), String(r.groups), r.best.toFixed(3), `${r.mean.toFixed(3)} ± ${r.std.toFixed(3)}`, r.accuracyBySeed.map((a) => a.toFixed(3)).join(' ')]),
        ], [false, true, true, true, false, false]).join('\n') + `\n(N=${N}, ${targets.length} texts; accuracy = mean token accuracy over the texts)`,
    });
  });
  return cmd;
}
