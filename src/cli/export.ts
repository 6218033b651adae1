/** `prototoken export DATASET --format parquet`: the rows as a Parquet file, streamed. */
import { Command, Option } from 'commander';
import { exportParquet } from '../datasets/index.js';
import { printJson } from './common.js';

export function exportCommand(): Command {
  const cmd = new Command('export')
    .description('write the dataset\'s rows in another format (Parquet), batch by batch')
    .argument('<dataset>', 'the dataset folder')
    .addOption(new Option('--format <format>', 'output format').choices(['parquet']).default('parquet'))
    .option('--out <file>', 'output file (default DATASET/data.parquet)')
    .addOption(new Option('--compression <codec>', 'Parquet compression').choices(['zstd', 'snappy', 'none']).default('zstd'))
    .option('--overwrite', 'replace an existing --out file')
    .option('--no-verify', 'skip checksum verification while reading')
    .option('--allow-partial', 'export an incomplete dataset (an interrupted solve, missing shards) too; the file records that it is partial')
    .option('--json', 'print the report as JSON');
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<{ out?: string; compression: 'zstd' | 'snappy' | 'none'; verify: boolean; overwrite?: boolean; json?: boolean; allowPartial?: boolean }>();
    const r = await exportParquet(dir, { out: opts.out, compression: opts.compression, verify: opts.verify, overwrite: opts.overwrite, allowPartial: opts.allowPartial === true });
    if (r.completeness.status === 'incomplete') process.stderr.write(`warning: exported a partial dataset (--allow-partial): ${r.completeness.summary}\n`);
    if (opts.json) printJson(r);
    else process.stdout.write(`exported ${r.rows} rows (${r.batches} batches) of ${dir} -> ${r.file} (${r.bytes} bytes)\n`);
  });
  return cmd;
}
