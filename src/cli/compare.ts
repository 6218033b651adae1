/** `prototoken compare`: for texts with optimized e, how close the encoder's e_hat is, and how each does in one pass. */
import { Command } from 'commander';
import { z } from 'zod';
import { checkCompareInputs, compareEncoder, renderComparison } from '../encoder/compare.js';
import { encoderRunSchema, openCheckpoint, runTexts } from '../encoder/inputs.js';
import { openModel } from '../lm/open_model.js';
import { commandConfig, printConfigIfAsked, report, showDefaults, withCommonOptions } from './common.js';
import { addEncoderRunOptions } from './encoder_support.js';

const compareSchema = encoderRunSchema.extend({ perText: z.boolean().default(false) });

export function compareCommand(): Command {
  const cmd = addEncoderRunOptions(withCommonOptions(new Command('compare')), true, false)
    .description('cosine and L2 between the encoder\'s e_hat and the solver\'s e, and the one-pass accuracy of each')
    .option('--per-text', 'also list every text');
  showDefaults(cmd, compareSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, compareSchema);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    checkCompareInputs(config.dataset);
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    for (const w of enc.warnings) process.stderr.write(`warning: ${w}\n`);
    try {
      const run = await runTexts(config, model, enc);
      for (const w of run.warnings) process.stderr.write(`warning: ${w}\n`);
      const summary = await compareEncoder(model.lm, enc, run, { batchSize: config.batch });
      report(cmd, summary, renderComparison(summary, { perText: config.perText }));
    } finally {
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
