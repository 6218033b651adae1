/**
 * `prototoken gate`: choose an encoder checkpoint's retrieval gate on held-out windows (retrieve the
 * nearest solved window when it shares enough positions, else encode) and write the gated
 * checkpoint to a new folder (src/encoder/gate.ts, src/encoder/gate_run.ts).
 */
import { Command } from 'commander';
import { checkGateOut, chooseGate, gateRunSchema, renderGateChoice, writeGatedCheckpoint } from '../encoder/gate_run.js';
import { openCheckpoint, runTexts } from '../encoder/inputs.js';
import { openModel } from '../lm/open_model.js';
import { commandConfig, printConfigIfAsked, report, showDefaults, withCommonOptions } from './common.js';
import { addEncoderRunOptions } from './encoder_support.js';

export function gateCommand(): Command {
  const cmd = addEncoderRunOptions(withCommonOptions(new Command('gate')), true, true, 'val')
    .description('choose the retrieval gate of an encoder checkpoint on held-out windows (default the val split) and write the gated checkpoint to --out')
    .option('--out <dir>', 'the new snapshot folder for the gated checkpoint (required, here or in --config; e.g. checkpoints/NAME/best)')
    .option('--overwrite', 'replace a gated checkpoint this command wrote at --out before');
  showDefaults(cmd, gateRunSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, gateRunSchema);
    if (printConfigIfAsked(cmd, config)) return;
    await checkGateOut(config, config.checkpoint, { overwrite: cmd.opts().overwrite === true });
    const model = await openModel(config, cmd.opts().quiet === true);
    const enc = await openCheckpoint(config, model);
    for (const w of enc.warnings) process.stderr.write(`warning: ${w}\n`);
    try {
      const run = await runTexts(config, model, enc);
      for (const w of run.warnings) process.stderr.write(`warning: ${w}\n`);
      const { gate, retrieved } = await chooseGate(model.lm, enc, run, config);
      await writeGatedCheckpoint(enc, gate, config.out);
      report(cmd, { out: config.out, gate, retrieved }, `${renderGateChoice({ gate, retrieved })} -> ${config.out}`);
    } finally {
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
