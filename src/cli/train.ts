/** `prototoken train`: train an encoder text -> e through the frozen LM, with checkpoints and TensorBoard logs. */
import { Command } from 'commander';
import { trainSchema } from '../encoder/config.js';
import { checkTrainConfig, openTrainingRun, trainRun, trainableWeights } from '../encoder/run.js';
import { openModel } from '../lm/open_model.js';
import { presetFile } from '../util/package.js';
import { formatSeconds } from '../util/progress.js';
import { TrainProgress } from '../util/progress_bar.js';
import { commandConfig, presetName, printConfigIfAsked, report, showDefaults, withCommonOptions } from './common.js';
import { installInterrupt } from './run_support.js';
import { addTrainOptions } from './train_options.js';

export function trainCommand(): Command {
  const cmd = addTrainOptions(withCommonOptions(new Command('train'))).description('train an encoder that maps a text straight to its proto-token e');
  showDefaults(cmd, trainSchema);
  cmd.action(async () => {
    const preset = presetName(cmd);
    const config = commandConfig(cmd, trainSchema, preset ? [presetFile('encoder', preset)] : []);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const runOptions = { resume: cmd.opts().resume === true, overwrite: cmd.opts().overwrite === true };
    await checkTrainConfig(config, runOptions);

    const model = await openModel(config, quiet);
    const run = await openTrainingRun(config, model, runOptions);
    const { data, state, logdir, runDir } = run;
    for (const w of run.warnings) process.stderr.write(`warning: ${w}\n`);
    const progress = new TrainProgress({ total: run.stopAt, start: state?.step ?? 0, quiet });
    if (!quiet) {
      progress.message(
        `${config.encoder} encoder, ${trainableWeights(run.encoder)} weights | ${data.trainRows} train${config.stream ? ' (streamed)' : ''} / ${data.val.length} val windows of N=${data.N}` +
          ` (${data.valExactCopies} val windows copy a train window) | ${data.reference ? `${data.reference.textIds.length} solved references` : 'no solved e'}` +
          `${state ? ` | resuming at step ${state.step}` : ''} | logs: ${logdir}`,
      );
    }
    const interrupt = installInterrupt(quiet);
    try {
      const summary = await trainRun(run, {
        onLog: (step, scalars) => progress.update(step, pick(scalars, ['loss', 'token_accuracy', 'windows_per_sec']), true),
        onValidate: (step, v, isBest) => {
          progress.message(`step ${step}: val token accuracy ${v.tokenAccuracy.toFixed(4)}, exact ${v.exactMatch.toFixed(4)}, recon ${v.reconLoss.toFixed(3)}${v.cosine !== null ? `, cos(e) ${v.cosine.toFixed(3)}` : ''}${isBest ? ' (best)' : ''}`);
        },
        shouldStop: interrupt.stopped,
      });
      progress.stop();
      const v = summary.val;
      report(
        cmd,
        summary,
        `${summary.interrupted ? 'interrupted (rerun with --resume to continue): ' : ''}trained ${config.name} to step ${summary.step}/${config.steps} in ${formatSeconds(summary.seconds)}` +
          (v ? ` | val token accuracy ${v.tokenAccuracy.toFixed(4)}, exact ${v.exactMatch.toFixed(4)}` : '') +
          (summary.best ? ` | best at step ${summary.best.step}` : '') +
          ` | -> ${runDir}/{last,best}, logs ${logdir}`,
      );
      if (summary.interrupted) process.exitCode = 130;
    } finally {
      interrupt.dispose();
      progress.stop();
      await run.close();
      model.lm.dispose();
    }
  });
  return cmd;
}

function pick(o: Record<string, number>, keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}
