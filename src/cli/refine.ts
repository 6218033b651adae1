/**
 * `prototoken refine`: the amortised solver. The same texts are solved from N(0,1), from the
 * constant mean-e start and from the encoder's e_hat (with the encoder's m fixed), and the steps
 * each needed are compared (src/encoder/refine.ts).
 */
import { Command } from 'commander';
import { openCheckpoint, runTexts } from '../encoder/inputs.js';
import { REFINE_STARTS, refineSchema, refineWithEncoder, renderRefineReport } from '../encoder/refine.js';
import { openModel } from '../lm/open_model.js';
import { commandConfig, printConfigIfAsked, report, showDefaults, toInt, withCommonOptions } from './common.js';
import { ModelThreads, threadCount } from '../lm/threads.js';
import { addSolverOptions } from './dataset_run.js';
import { addEncoderRunOptions } from './encoder_support.js';
import { installInterrupt } from './run_support.js';
import { presetsOf } from './solve.js';

export function refineCommand(): Command {
  const cmd = addSolverOptions(addEncoderRunOptions(withCommonOptions(new Command('refine')), false))
    .description('solve the same texts from N(0,1), from the mean e and from the encoder\'s e_hat (or --starts), and compare the steps')
    .option('--workers <k>', 'threads that solve shares of the texts (default: one per core)', toInt)
    .option('--starts <list>', `which starts, in order, from ${REFINE_STARTS.join(',')} (default normal,mean,e_hat; best = the best of e_hat, nearest and mean by one LM pass each)`, (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean));
  showDefaults(cmd, refineSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, refineSchema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    for (const w of enc.warnings) process.stderr.write(`warning: ${w}\n`);
    const interrupt = installInterrupt(quiet);
    const threads = threadCount(config.workers) > 1 ? await ModelThreads.open({ threads: config.workers ?? undefined, modelDir: model.dir, backend: config.backend }) : null;
    try {
      const run = await runTexts(config, model, enc);
      for (const w of run.warnings) process.stderr.write(`warning: ${w}\n`);
      const summary = await refineWithEncoder(model.lm, enc, run, config, {
        batchSize: config.batch,
        starts: config.starts,
        threads,
        shouldStop: interrupt.stopped,
        onStartDone: quiet ? undefined : (s) => process.stderr.write(`${s.start}: solved ${s.solved}/${s.texts}, median ${s.median_steps} steps (${s.wall_seconds.toFixed(1)} s)\n`),
      });
      report(cmd, summary, renderRefineReport(summary));
      if (summary.interrupted) process.exitCode = 130;
    } finally {
      await threads?.close();
      interrupt.dispose();
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
