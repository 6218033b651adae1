/** `prototoken inspect DATASET`: counts, solved rate, histograms, capacity table, first rows. */
import { Command } from 'commander';
import { printJson, toInt } from './common.js';
import { inspectDataset, renderInspect } from '../datasets/index.js';

export function inspectCommand(): Command {
  const cmd = new Command('inspect')
    .description('summarise a solution dataset in the terminal')
    .argument('<dataset>', 'the dataset folder')
    .option('--head <n>', 'also list the first N rows (default 0)', toInt)
    .option('--no-verify', 'skip checksum verification while reading')
    .option('--json', 'print the summary as JSON');
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<{ head?: number; verify: boolean; json?: boolean }>();
    const summary = await inspectDataset(dir, { head: opts.head ?? 0, verify: opts.verify });
    if (opts.json) printJson(summary);
    else process.stdout.write(renderInspect(summary) + '\n');
  });
  return cmd;
}
