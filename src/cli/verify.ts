/**
 * `prototoken verify DATASET|CHECKPOINT`: a dataset's every checksummed batch and data.arrow's sha256,
 * or a checkpoint's every file against the sha256 in its encoder.json; non-zero exit on damage.
 */
import { Command } from 'commander';
import { verifyDataset } from '../datasets/index.js';
import { type CheckpointReport, isCheckpoint, sealSnapshot, verifyCheckpoint } from '../encoder/checkpoint_verify.js';
import { PrototokenError } from '../util/errors.js';
import { printJson } from './common.js';

export function verifyCommand(): Command {
  const cmd = new Command('verify')
    .description('check a dataset (every batch of every part, data.arrow) or an encoder checkpoint (every file) against their checksums; exit 1 on any damage')
    .argument('<path>', 'the dataset folder, or the checkpoint (runs/RUN, or a snapshot folder such as runs/RUN/best)')
    .option('--seal', 'checkpoint snapshot of an older version: record the sha256 of its files (after checking they read back sound)')
    .option('--json', 'print the report as JSON');
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<{ json?: boolean; seal?: boolean }>();
    if (await isCheckpoint(dir)) {
      await verifyCheckpointCommand(dir, opts);
      return;
    }
    if (opts.seal) throw new PrototokenError('--seal records the hashes of an encoder checkpoint, and this is not one', { file: dir, fix: 'drop --seal (datasets record theirs as they are written)' });
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

async function verifyCheckpointCommand(dir: string, opts: { json?: boolean; seal?: boolean }): Promise<void> {
  let r: CheckpointReport = await verifyCheckpoint(dir);
  if (opts.seal && r.ok) {
    for (const s of r.snapshots) if (!s.verified) await sealSnapshot(s.dir);
    r = await verifyCheckpoint(dir);
  }
  if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    const lines: string[] = [];
    for (const s of r.snapshots) {
      for (const f of s.files) {
        const state = { ok: 'ok', unverified: 'ok (unverified)', missing: 'MISSING', damaged: 'DAMAGED' }[f.state];
        lines.push(`${state.padEnd(15)} ${s.name}/${f.file}${f.bytes !== null ? `: ${f.bytes} bytes` : ''}`);
        if (f.problem) lines.push(`  ! ${f.problem}`);
      }
      if (!s.verified) lines.push(`  note: ${s.name}/encoder.json records no sha256 (an older version wrote it); \`prototoken verify --seal ${dir}\` records them`);
    }
    lines.push(r.ok ? `verified ${dir}: no damage found` : `${dir}: damage found (see ! lines); use another snapshot or copy the checkpoint again`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (!r.ok) process.exitCode = 1;
}
