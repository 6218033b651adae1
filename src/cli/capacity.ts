/**
 * `prototoken capacity`: per text, the longest grid length it can be solved at (>= threshold
 * accuracy), and the paper's summary table: capacity and H_LM mean ± std per text source and m mode
 * (the run itself: src/analysis/capacity_run.ts).
 */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, report, showDefaults, toFloat, toInt, withCommonOptions } from './common.js';
import { installInterrupt } from './run_support.js';
import { presetsOf } from './solve.js';
import { addDatasetOptions, addSolverOptions } from './dataset_run.js';
import { addWindowOptions } from './window_options.js';
import { openModel } from '../lm/open_model.js';
import { capacitySchema, runCapacity } from '../analysis/capacity_run.js';
import { windowOptionsOf } from '../texts/window_config.js';
import type { CapacitySummary } from '../analysis/capacity.js';
import { checkOutputFolder } from '../util/output_paths.js';

export function capacityCommand(): Command {
  const cmd = addWindowOptions(addDatasetOptions(addSolverOptions(withCommonOptions(new Command('capacity')))))
    .description('per-text capacity (longest solvable length on the paper grid) and the summary table')
    .option('--texts <file>', 'corpus: the natural texts, and the prompts of generated texts')
    .option('--limit <k>', 'texts per source (default 32)', toInt)
    .option('--kinds <list>', 'text sources: natural,random,generated (default natural)', (v) => v.split(','))
    .option('--shared-m', 'one m shared by the texts at each length, instead of m per text')
    .option('--both-m', 'run with m per text and with shared m')
    .option('--threshold <x>', 'best accuracy needed to pass a length (default 0.99)', toFloat)
    .option('--grid <list>', 'lengths to try (default the paper grid 4,5,8,...,1448)', (v) => v.split(',').map(Number));
  showDefaults(cmd, capacitySchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, capacitySchema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    windowOptionsOf(config); // checked before the model loads
    await checkOutputFolder(config.out);
    const model = await openModel(config, quiet);
    const interrupt = installInterrupt(quiet);
    let summary: CapacitySummary;
    try {
      summary = await runCapacity(config, model, {
        onNote: (line) => process.stderr.write(line + '\n'),
        onProgress: (line) => {
          if (!quiet) process.stderr.write(line + '\n');
        },
        shouldStop: interrupt.stopped,
      });
    } finally {
      interrupt.dispose();
      model.lm.dispose();
    }
    const atTop = summary.table.reduce((n, r) => n + (r.capacity_at_grid_top ?? 0), 0);
    const text = [
      `${'source'.padEnd(10)} ${'m'.padEnd(9)} ${'texts'.padStart(5)}  ${'capacity (tokens)'.padEnd(20)} ${'max'.padStart(5)}  ${'at top'.padStart(6)}  H_LM at capacity (nats)`,
      ...summary.table.map((r) => `${r.source.padEnd(10)} ${r.m.padEnd(9)} ${String(r.texts).padStart(5)}  ${`${r.capacity_mean.toFixed(1)} ± ${r.capacity_std.toFixed(1)}`.padEnd(20)} ${String(r.capacity_max).padStart(5)}  ${String(r.capacity_at_grid_top ?? '?').padStart(6)}  ${r.h_lm_mean.toFixed(1)} ± ${r.h_lm_std.toFixed(1)}`),
      // A text that passed the longest length it could try was never bounded by a failure.
      ...(atTop > 0 ? [`at top: ${atTop} text(s) passed the longest length they could try (the top of --grid, the model's positions or the text's own length): their capacity is at least the value counted, and may be higher`] : []),
    ].join('\n');
    report(cmd, summary, (summary.interrupted ? 'interrupted (rerun to resume)\n' : '') + text);
    if (summary.interrupted) process.exitCode = 130;
  });
  return cmd;
}
