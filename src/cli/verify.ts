/** `prototoken verify DATASET`: check every checksummed batch and data.arrow's sha256; non-zero exit on damage. */
import { Command } from 'commander';
import { verifyDataset } from '../datasets/index.js';
import { printJson } from './common.js';

export function verifyCommand(): Command {
  const cmd = new Command('verify')
    .description('check every batch of every part and data.arrow against their checksums; exit 1 on any damage')
    .argument('<dataset>', 'the dataset folder')
    .option('--json', 'print the report as JSON');
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<{ json?: boolean }>();
    const r = await verifyDataset(dir);
    if (opts.json) printJson(r);
    else {
      const lines: string[] = [];
      for (const f of r.files) {
        const state = f.problems.length ? 'DAMAGED' : f.indexed ? 'ok' : 'ok (unverified)';
        lines.push(`${state.padEnd(15)} ${f.file}: ${f.batches} batches, ${f.rows} rows, ${f.bytes} bytes`);
        for (const p of f.problems) lines.push(`  ! ${p}`);
        for (const n of f.notes) lines.push(`  note: ${n}`);
      }
      lines.push(r.ok ? `verified ${dir}: no damage found` : `${dir}: damage found (see ! lines); rebuild the named files`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    if (!r.ok) process.exitCode = 1;
  });
  return cmd;
}
