/**
 * `prototoken eval`: one-pass reconstruction accuracy of an encoder's e_hat on held-out texts,
 * next to the baselines on the same texts, and with --ladder the accuracy after k LM passes of
 * refinement from each of them (src/encoder/evaluate.ts, src/encoder/ladder.ts).
 */
import { Command } from 'commander';
import { BASELINE_KINDS } from '../encoder/baselines.js';
import { renderEvalTable } from '../encoder/eval_table.js';
import { renderHeadToHead } from '../encoder/head_to_head.js';
import { evalSchema, evaluateEncoder, ladderOptionsOf, referenceFromDataset } from '../encoder/evaluate.js';
import { openCheckpoint, runTexts } from '../encoder/inputs.js';
import { renderLadder } from '../encoder/ladder.js';
import { openModel } from '../lm/open_model.js';
import { commandConfig, printConfigIfAsked, report, showDefaults, toFloat, toInt, withCommonOptions } from './common.js';
import { ModelThreads, threadCount } from '../lm/threads.js';
import { addEncoderRunOptions } from './encoder_support.js';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

export function evalCommand(): Command {
  const cmd = addEncoderRunOptions(withCommonOptions(new Command('eval')))
    .description('one-pass reconstruction accuracy of an encoder vs baselines on the same texts, and the accuracy per LM pass (--ladder)')
    .option('--baselines <list>', `comma-separated, from ${BASELINE_KINDS.join(',')} (default all)`, list)
    .option('--ladder <k,...>', 'also refine every start for these numbers of steps and report accuracy after each, e.g. 0,1,2,4,8,16,32 (default: no ladder)', (v: string) => list(v).map(Number))
    .option('--refine-rule <rule>', 'how the ladder moves e: adamw (the paper\'s optimiser, default) | normalized (e -= step * g / rms(g))')
    .option('--refine-step <x>', 'the AdamW learning rate (default the paper\'s 0.01), or the normalised step (default 0.1)', toFloat)
    .option('--workers <k>', 'threads for the ladder (default: one per core)', toInt)
    .option('--reference <dir>', 'a dataset solved with the checkpoint\'s m whose training rows are the baselines\' reference set (e.g. for a --learn-m checkpoint)');
  showDefaults(cmd, evalSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, evalSchema);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const ladder = ladderOptionsOf(config);
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    for (const w of enc.warnings) process.stderr.write(`warning: ${w}\n`);
    const threads = ladder && threadCount(config.workers) > 1 ? await ModelThreads.open({ threads: config.workers ?? undefined, modelDir: model.dir, backend: config.backend }) : null;
    try {
      const reference = config.reference ? await referenceFromDataset(config.reference, enc) : undefined;
      const run = await runTexts(config, model, enc);
      const { summary, table } = await evaluateEncoder(model.lm, enc, run, { baselines: config.baselines, batchSize: config.batch, seed: config.seed, ladder, reference, threads });
      const { notes, exact_copies_of_training_windows: copies } = summary;
      report(
        cmd,
        summary,
        `${summary.texts} texts of N=${summary.N} from ${run.source} (split ${config.split}; ${copies ?? '?'} are exact copies of training windows)\n` +
          renderEvalTable(table) +
          (summary.unseen_windows ? `\n\non the ${summary.unseen_windows.texts} texts that copy no training window:\n${renderEvalTable(summary.unseen_windows)}` : '') +
          (summary.head_to_head?.length ? `\n\n${renderHeadToHead(table.methods[0].method, summary.head_to_head)}` : '') + (summary.ladder ? `\n\n${renderLadder(summary.ladder)}` : '') +
          (summary.unseen_windows?.ladder ? `\n\nthe ladder on the ${summary.unseen_windows.texts} texts that copy no training window:\n${renderLadder(summary.unseen_windows.ladder)}` : '') + (notes.length ? `\n${notes.map((n) => `note: ${n}`).join('\n')}` : ''),
      );
    } finally {
      await threads?.close();
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
