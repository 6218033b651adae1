/**
 * `prototoken refine`: the amortised solver. The same texts are solved from N(0,1), from the
 * constant mean-e start and from the encoder's e_hat (with the encoder's m fixed), and the steps
 * each needed are compared.
 */
import { Command } from 'commander';
import { encodeAll } from '../encoder/encode.js';
import { type RefineStart, refineStarts, renderRefineReport } from '../encoder/refine.js';
import { solverSchema, solverOptionsOf } from '../solver/config.js';
import { commandConfig, printConfigIfAsked, report, withCommonOptions } from './common.js';
import { openModel } from '../lm/open_model.js';
import { addSolverOptions } from './dataset_run.js';
import { addEncoderRunOptions } from './encoder_support.js';
import { encoderRunSchema, flatIds, openCheckpoint, runTexts } from '../encoder/inputs.js';
import { constantStart } from '../encoder/starts.js';
import { installInterrupt } from './run_support.js';
import { presetsOf } from './solve.js';

const schema = encoderRunSchema.merge(solverSchema);

export function refineCommand(): Command {
  const cmd = addSolverOptions(addEncoderRunOptions(withCommonOptions(new Command('refine')), false))
    .description('solve the same texts from N(0,1), from the mean e and from the encoder\'s e_hat, and compare the steps');
  cmd.action(async () => {
    const config = commandConfig(cmd, schema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    const interrupt = installInterrupt(quiet);
    try {
      const run = await runTexts(config, model, enc);
      const eHat = await encodeAll(enc.encoder, flatIds(run.texts, run.N), run.N, config.batch);
      const d = enc.meta.dModel;
      const perText = new Map(run.texts.map((t, i) => [t.id, eHat.slice(i * d, (i + 1) * d)]));
      const starts: RefineStart[] = [
        { name: 'N(0,1)', init: { kind: 'normal' } },
        { name: 'mean e (constant)', init: { kind: 'vector', e: constantStart(enc), source: `${enc.dir} (mean of the training e)` } },
        { name: 'encoder e_hat', init: { kind: 'perText', e: perText, source: enc.dir } },
      ];
      const solver = solverOptionsOf(config, { kind: 'normal' }, { kind: 'fixed', vector: enc.m, source: `${enc.dir}/m.safetensors` });
      const { report: r } = await refineStarts(model.lm, run.texts, enc.m, solver, starts, {
        mSource: `${enc.dir}/m.safetensors`,
        shouldStop: interrupt.stopped,
        onStartDone: quiet ? undefined : (s) => process.stderr.write(`${s.start}: solved ${s.solved}/${s.texts}, median ${s.median_steps} steps (${s.wall_seconds.toFixed(1)} s)\n`),
      });
      report(cmd, { checkpoint: enc.dir, source: run.source, split: config.split, ...r }, renderRefineReport(r));
      if (r.interrupted) process.exitCode = 130;
    } finally {
      interrupt.dispose();
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}

