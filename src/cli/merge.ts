/** `prototoken merge DATASET`: check every shard's part and write the consolidated data.arrow. */
import { Command } from 'commander';
import { mergeDataset } from '../datasets/index.js';
import { printJson } from './common.js';

export function mergeCommand(): Command {
  const cmd = new Command('merge')
    .description('check that all shard parts agree, report missing shards, and write data.arrow')
    .argument('<dataset>', 'the dataset folder')
    .option('--allow-incomplete', 'merge even if shards are missing or a part ends in a torn batch')
    .option('--no-verify', 'skip checksum verification of the parts while reading')
    .option('--json', 'print the merge report as JSON');
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<{ allowIncomplete?: boolean; verify: boolean; json?: boolean }>();
    const r = await mergeDataset(dir, { allowIncomplete: opts.allowIncomplete === true, verify: opts.verify });
    if (opts.json) printJson(r);
    else {
      const lines = [
        `merged ${r.parts.length} part(s) of ${dir}: ${r.rows} rows, ${r.texts} texts -> ${r.dataFile ?? '(data.arrow already complete)'}`,
        ...r.parts.map((p) => `  ${p.file}: ${p.rows} rows${p.torn_bytes ? `, ${p.torn_bytes} torn bytes left out` : ''}`),
      ];
      if (r.duplicatesDropped) lines.push(`  ${r.duplicatesDropped} duplicate rows dropped`);
      if (r.missingShards.length) lines.push(`  missing shards: ${r.missingShards.join(', ')}`);
      for (const w of r.warnings) lines.push(`  warning: ${w}`);
      if (r.completeness && r.completeness.status !== 'unknown') lines.push(`  ${r.completeness.summary}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
  });
  return cmd;
}
