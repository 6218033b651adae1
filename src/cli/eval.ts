/**
 * `prototoken eval`: one-pass reconstruction accuracy of an encoder's e_hat on held-out texts,
 * next to the baselines on the same texts (src/encoder/evaluate.ts).
 */
import { Command } from 'commander';
import { z } from 'zod';
import { BASELINE_KINDS } from '../encoder/baselines.js';
import { renderEvalTable } from '../encoder/eval_table.js';
import { evaluateEncoder } from '../encoder/evaluate.js';
import { encoderRunSchema, openCheckpoint, runTexts } from '../encoder/inputs.js';
import { openModel } from '../lm/open_model.js';
import { commandConfig, printConfigIfAsked, report, withCommonOptions } from './common.js';
import { addEncoderRunOptions } from './encoder_support.js';

const schema = encoderRunSchema.extend({
  baselines: z.array(z.enum(BASELINE_KINDS)).default([...BASELINE_KINDS]),
});

export function evalCommand(): Command {
  const cmd = addEncoderRunOptions(withCommonOptions(new Command('eval')))
    .description('one-pass reconstruction accuracy of an encoder vs baselines on the same texts')
    .option('--baselines <list>', `comma-separated, from ${BASELINE_KINDS.join(',')} (default all)`, (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean));
  cmd.action(async () => {
    const config = commandConfig(cmd, schema);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    try {
      const run = await runTexts(config, model, enc);
      const { summary, table } = await evaluateEncoder(model.lm, enc, run, { baselines: config.baselines, batchSize: config.batch, seed: config.seed });
      const { notes, exact_copies_of_training_windows: copies } = summary;
      report(
        cmd,
        summary,
        `${summary.texts} texts of N=${summary.N} from ${run.source} (split ${config.split}; ${copies ?? '?'} are exact copies of training windows)\n` +
          renderEvalTable(table) + (notes.length ? `\n${notes.map((n) => `note: ${n}`).join('\n')}` : ''),
      );
    } finally {
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
