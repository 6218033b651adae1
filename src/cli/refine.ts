/**
 * `prototoken refine`: the amortised solver. The same texts are solved from N(0,1), from the
 * constant mean-e start and from the encoder's e_hat (with the encoder's m fixed), and the steps
 * each needed are compared (src/encoder/refine.ts).
 */
import { Command } from 'commander';
import { encoderRunSchema, openCheckpoint, runTexts } from '../encoder/inputs.js';
import { refineWithEncoder, renderRefineReport } from '../encoder/refine.js';
import { openModel } from '../lm/open_model.js';
import { solverSchema } from '../solver/config.js';
import { commandConfig, printConfigIfAsked, report, showDefaults, withCommonOptions } from './common.js';
import { addSolverOptions } from './dataset_run.js';
import { addEncoderRunOptions } from './encoder_support.js';
import { installInterrupt } from './run_support.js';
import { presetsOf } from './solve.js';

const schema = encoderRunSchema.merge(solverSchema);

export function refineCommand(): Command {
  const cmd = addSolverOptions(addEncoderRunOptions(withCommonOptions(new Command('refine')), false))
    .description('solve the same texts from N(0,1), from the mean e and from the encoder\'s e_hat, and compare the steps');
  showDefaults(cmd, schema);
  cmd.action(async () => {
    const config = commandConfig(cmd, schema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    const interrupt = installInterrupt(quiet);
    try {
      const run = await runTexts(config, model, enc);
      const summary = await refineWithEncoder(model.lm, enc, run, config, {
        batchSize: config.batch,
        shouldStop: interrupt.stopped,
        onStartDone: quiet ? undefined : (s) => process.stderr.write(`${s.start}: solved ${s.solved}/${s.texts}, median ${s.median_steps} steps (${s.wall_seconds.toFixed(1)} s)\n`),
      });
      report(cmd, summary, renderRefineReport(summary));
      if (summary.interrupted) process.exitCode = 130;
    } finally {
      interrupt.dispose();
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
