/** `prototoken merge DATASET`: check every shard's part and write the consolidated data.arrow. */
import { Command } from 'commander';
import { mergeDataset } from '../datasets/index.js';

export function mergeCommand(): Command {
  const cmd = new Command('merge')
    .description('check that all shard parts agree, report missing shards, and write data.arrow')
    .argument('<dataset>', 'the dataset folder')
    .option('--allow-incomplete', 'merge even if shards are missing or a part ends in a torn batch')
    .option('--json', 'print the merge report as JSON');
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<{ allowIncomplete?: boolean; json?: boolean }>();
    const r = await mergeDataset(dir, { allowIncomplete: opts.allowIncomplete === true });
    if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(`merged ${dir}: ${JSON.stringify(r, null, 1).replace(/\n\s*/g, ' ')}\n`);
  });
  return cmd;
}
