/**
 * The flags of `eval`, `compare` and `refine` naming a checkpoint and the texts to run it on
 * (their config keys and what they do: src/encoder/inputs.ts).
 */
import type { Command } from 'commander';
import { SPLITS } from '../encoder/inputs.js';
import { renamedFlag, toInt } from './common.js';
import { addWindowOptions } from './window_options.js';

/**
 * `withBatch` false for commands whose solver options already define --batch; `withTexts` false for
 * `compare`, which needs the solved e of a dataset's rows. `splitDefault`: the command's default --split.
 */
export function addEncoderRunOptions(cmd: Command, withBatch = true, withTexts = true, splitDefault = 'all'): Command {
  addWindowOptions(cmd).option('--checkpoint <dir>', 'encoder checkpoint (required, here or in --config): a run folder runs/RUN or a shipped checkpoints/RUN (its best/), or a snapshot folder');
  if (withTexts) cmd.option('--texts <file>', 'texts to run on: JSONL or plain text').option('--dataset <dir>', 'or the rows of a solution dataset');
  else cmd.option('--dataset <dir>', 'the solution dataset whose rows are compared, solved with the checkpoint\'s m (required)');
  cmd
    .option('--split <name>', `${SPLITS.join(' | ')}: texts by story hash, dataset rows by their split (default ${splitDefault})`)
    .option('--length <n>', 'without --window: each text\'s first N tokens (default: the encoder\'s training N)', toInt)
    .option('--limit <k>', 'at most K texts (windows) (default: all)', toInt)
    .option('--m <file>', 'the fixed m (default: the checkpoint\'s own; another m is refused)');
  return withBatch ? cmd.option('--batch <n>', 'texts per forward pass', toInt).addOption(renamedFlag('--batch-size <n>', '--batch', toInt)) : cmd;
}
