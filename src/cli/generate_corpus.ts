/** `prototoken generate-corpus --count K --out FILE.jsonl`: K stories sampled from the model (src/texts/generate_corpus.ts). */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, renamedFlag, report, showDefaults, toFloat, toInt, withCommonOptions } from './common.js';
import { installInterrupt } from './run_support.js';
import { openModel } from '../lm/open_model.js';
import { ModelThreads, threadCount } from '../lm/threads.js';
import { checkCorpusOut, generateCorpus, generateCorpusSchema } from '../texts/generate_corpus.js';
import { Progress, formatSeconds } from '../util/progress.js';

export function generateCorpusCommand(): Command {
  const cmd = withCommonOptions(new Command('generate-corpus'))
    .description('sample stories from the model (from BOS to end of text) into a JSONL corpus')
    .option('--count <k>', 'stories to sample', toInt)
    .option('--out <file>', 'the JSONL file to write (appears only when complete; a rerun continues an interrupted one)')
    .option('--temperature <t>', 'sampling temperature (default 1)', toFloat)
    .option('--max-new-tokens <t>', "tokens per story at most (default: the model's positions minus 1)", toInt)
    .addOption(renamedFlag('--max-tokens <t>', '--max-new-tokens', toInt))
    .option('--batch <b>', 'stories sampled together (default 8; the same seed and batch reproduce the file)', toInt)
    .addOption(renamedFlag('--batch-size <b>', '--batch', toInt))
    .option('--workers <k>', 'threads sampling groups side by side (default: one per core; the file is the same for any count)', toInt);
  showDefaults(cmd, generateCorpusSchema);
  cmd.action(async () => {
    const config = commandConfig(cmd, generateCorpusSchema);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    await checkCorpusOut(config.out);
    const started = Date.now();
    const model = await openModel(config, quiet);
    let progress: Progress | null = null;
    const interrupt = installInterrupt(quiet);
    const threads = threadCount(config.workers) > 1 ? await ModelThreads.open({ threads: config.workers ?? undefined, modelDir: model.dir, backend: config.backend }) : null;
    let summary;
    try {
      summary = await generateCorpus(config, model, {
        onStart: (remaining) => (progress = new Progress(remaining, { unit: 'stories', quiet })),
        onStories: (n, meanTokens) => progress?.tick(n, `${meanTokens.toFixed(0)} tokens/story`),
        shouldStop: interrupt.stopped,
      }, threads);
    } finally {
      await threads?.close();
      interrupt.dispose();
      model.lm.dispose();
    }
    summary.seconds = (Date.now() - started) / 1000;
    summary.stories_per_second = summary.seconds > 0 ? summary.generated_now / summary.seconds : 0;
    const s = summary;
    report(
      cmd,
      s,
      `${s.interrupted ? 'interrupted (rerun the same command to continue): ' : ''}${s.stories}/${config.count} stories` +
        ` (${s.generated_now} now, mean ${s.mean_tokens.toFixed(0)} tokens, ${(100 * s.ended_at_eos).toFixed(0)}% ended by the model)` +
        ` | ${formatSeconds(s.seconds)} (${s.stories_per_second.toFixed(2)} stories/s) | -> ${s.out}`,
    );
    if (s.interrupted) process.exitCode = 130;
  });
  return cmd;
}
