/** `prototoken solve`: find e (and m) for every text and append them to a solution dataset. */
import { Command } from 'commander';
import { commandConfig, presetName, printConfigIfAsked, report, showDefaults, toInt, withCommonOptions } from './common.js';
import { presetFile } from '../util/package.js';
import { installInterrupt } from './run_support.js';
import { addDatasetOptions, addSolverOptions, runWorkersAndMerge } from './dataset_run.js';
import { addWindowOptions } from './window_options.js';
import { openModel } from '../lm/open_model.js';
import { planSolve, runSolve, solveSchema, solveStarts, solveTargets } from '../datasets/solve_run.js';
import { ENCODER_INIT, encoderSolveStarts } from '../encoder/starts.js';
import { checkOutputFolder } from '../util/output_paths.js';
import { Progress, formatSeconds } from '../util/progress.js';

export function solveCommand(): Command {
  const cmd = addWindowOptions(addDatasetOptions(addSolverOptions(withCommonOptions(new Command('solve')))))
    .description('optimise proto-token embeddings for each text and store them in a solution dataset')
    .option('--texts <file>', 'texts: JSONL ({"id","text"} per line) or plain text')
    .option('--kind <source>', 'natural (the --texts file, default) | random (token sequences) | generated (model continuations of --texts prefixes)')
    .option('--length <n>', 'N: target tokens per text (its first N tokens); with --window, N is the window', toInt)
    .option('--limit <k>', 'only the first K texts (default: all of them); random: how many texts, generated: how many prompts (default 32 for both)', toInt)
    .option('--m <file>', 'a fixed m from `prototoken fit-m` (only e is optimised)')
    .option('--continuations <k>', 'generated: K continuations of each distinct prompt, ids <id>#<c> (default 1)', toInt)
    .option('--text-seed <n>', 'seed of the random/generated texts (default --seed), to solve the same texts under several seeds', toInt)
    .option('--keep-all-restarts', 'run every --restarts seed to its own end and store each as its own row (column `restart`)');
  showDefaults(cmd, solveSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, solveSchema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const plan = planSolve(config);
    await checkOutputFolder(config.out);
    if (config.workers > 1) {
      await runWorkersAndMerge(cmd, config.workers, config.out, quiet);
      return;
    }
    const started = Date.now();
    const model = await openModel(config, quiet);
    const input = await solveTargets(config, plan, model);
    for (const s of input.prepared.tooShort) process.stderr.write(`skipped "${s.id}": ${s.tokens} tokens < N=${plan.N}\n`);
    // --init encoder:CKPT: every text starts from the encoder's e_hat, with the encoder's own m.
    const starts = config.init.startsWith(ENCODER_INIT) ? await encoderSolveStarts(config, model, input.prepared.targets) : await solveStarts(config, model, plan.N);
    for (const w of starts.warnings ?? []) process.stderr.write(`warning: ${w}
`);
    let progress: Progress | null = null;
    const interrupt = installInterrupt(quiet);
    let summary;
    try {
      summary = await runSolve(config, plan, model, input, starts, {
        onStart: (rows, unit, alreadyDone) => {
          if (!quiet && alreadyDone > 0) process.stderr.write(`resuming: ${alreadyDone} texts already in ${config.out}\n`);
          progress = new Progress(rows, { unit, quiet });
        },
        onRows: (rows, note) => progress?.tick(rows, note),
        onNote: (line) => {
          if (!quiet) process.stderr.write(`${line}\n`);
        },
        shouldStop: interrupt.stopped,
      });
    } finally {
      interrupt.dispose();
    }
    summary.seconds = (Date.now() - started) / 1000;
    const s = summary;
    // Say plainly what a stop kept: the texts in flight continue on the rerun; the dataset says it is partial.
    const stopped = s.interrupted
      ? `interrupted (rerun the same command to resume${s.in_flight_saved ? `; the ${s.in_flight_saved} row(s) in flight were saved and continue where they stopped` : ''}): `
      : '';
    const partial = s.completeness?.status === 'incomplete' ? `\n${s.completeness.summary}` : '';
    report(
      cmd,
      s,
      `${stopped}solved ${s.solved}/${s.rows} ${config.keepAllRestarts ? `restarts of ${s.texts} ` : ''}${s.windows ? `windows (of ${s.windows.texts} texts)` : 'texts'} at N=${plan.N}` +
        ` | median ${s.median_steps} steps, max ${s.max_steps} | ${formatSeconds(s.seconds)} (${s.ms_per_step.toFixed(1)} ms/step)` +
        ` | ${s.skipped_short} too short, ${s.already_done} already done | -> ${config.out}${partial}`,
    );
    model.lm.dispose();
    if (s.interrupted) process.exitCode = 130;
  });
  return cmd;
}

/** --preset NAME -> configs/solver-NAME.yaml (applied under --config and flags). */
export function presetsOf(cmd: Command): string[] {
  const preset = presetName(cmd);
  return preset ? [presetFile('solver', preset)] : [];
}
