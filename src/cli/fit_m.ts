/** `prototoken fit-m`: learn one m shared by a set of texts (the paper's universal m; src/solver/fit_m.ts). */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, report, showDefaults, toInt, withCommonOptions } from './common.js';
import { installInterrupt } from './run_support.js';
import { presetsOf } from './solve.js';
import { addSolverOptions } from './dataset_run.js';
import { addWindowOptions } from './window_options.js';
import { openModel } from '../lm/open_model.js';
import { checkFitMOut, fitM, fitMSchema, fitMTargets } from '../solver/fit_m.js';
import { loadInitSpec } from '../solver/init.js';
import { eByTextId } from '../datasets/solve_records.js';
import { Progress } from '../util/progress.js';

export function fitMCommand(): Command {
  const cmd = addWindowOptions(addSolverOptions(withCommonOptions(new Command('fit-m'))))
    .description('learn one m jointly with per-text e on a set of texts, and save it for `solve --m`')
    .requiredOption('--texts <file>', 'texts: JSONL or plain text')
    .requiredOption('--out <file>', 'where to save m (a .safetensors file; its config is saved beside it)')
    .option('--length <n>', 'N: target tokens per text (with --window, N is the window)', toInt)
    .option('--split <name>', 'only texts of this split: train | val | test | all (default all)')
    .option('--limit <k>', 'fit on the first K texts, or windows with --window (default 64)', toInt)
    .option('--overwrite', 'replace an existing --out file (and the config beside it)');
  showDefaults(cmd, fitMSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, fitMSchema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    await checkFitMOut(config, { overwrite: cmd.opts().overwrite === true });
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const input = await fitMTargets(config, model);
    for (const s of input.tooShort) process.stderr.write(`skipped "${s.id}": ${s.tokens} tokens < N=${input.N}\n`);
    const init = await loadInitSpec(config.init, config.initScale, model.lm, eByTextId);
    const interrupt = installInterrupt(quiet);
    const progress = new Progress(config.maxSteps, { unit: 'steps', quiet });
    const n = input.targets.length;
    const { summary, configFile } = await fitM(config, model, input, init, {
      shouldStop: interrupt.stopped,
      onStep: (step, solved, loss) => progress.tick(step === 0 ? 0 : 1, `${solved}/${n} solved, loss ${loss.toFixed(2)}`),
    }).finally(() => interrupt.dispose());
    const s = summary;
    report(cmd, s, `${s.interrupted ? 'interrupted: saved the current m. ' : ''}m fitted on ${n} texts at N=${input.N}: ${s.solved} solved together, mean accuracy ${(100 * s.mean_accuracy).toFixed(1)}%, ${s.steps} steps -> ${config.out} (config: ${configFile})`);
    model.lm.dispose();
    if (s.interrupted) process.exitCode = 130;
  });
  return cmd;
}
