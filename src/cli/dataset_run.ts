/**
 * The flags of the commands that solve (solver settings) and write a solution dataset (output,
 * shards, workers, provenance), and `--workers K`: K local shard processes, then merge.
 */
import type { Command } from 'commander';
import { printJson, renamedFlag, toFloat, toInt } from './common.js';
import { mergeDataset } from '../datasets/index.js';
import { runWorkers } from '../jobs/workers.js';
import { PrototokenError } from '../util/errors.js';

/** Solver flags shared by solve, capacity and fit-m. */
export function addSolverOptions(cmd: Command): Command {
  return cmd
    .option('--preset <name>', 'solver preset from configs/: paper (default values) | fast')
    .option('--arrangement <name>', 'e-m (default) | e-mN | e | half | alt')
    .option('--batch <b>', 'rows (text x restart) optimised together (default 32)', toInt)
    .addOption(renamedFlag('--batch-size <b>', '--batch', toInt))
    .option('--max-steps <s>', 'optimiser steps each text may take (default 5000); not train\'s --stop-at-step', toInt)
    .option('--restarts <k>', 'seeds per text, the best is kept (solve --keep-all-restarts: every one) (default 1)', toInt)
    .option('--lr <x>', 'AdamW learning rate (default 0.01)', toFloat)
    .option('--init <how>', 'normal | scaled | embed-std | FILE.safetensors | DATASET | encoder:CHECKPOINT (e_hat per text, with the encoder\'s m) (default normal)')
    .option('--init-scale <x>', 'factor on the N(0,1) start (default 1)', toFloat)
    .option('--schedule <name>', 'constant | cosine | warmup-cosine (default constant)')
    .option('--patience <s>', 'stop a text after S steps without loss improvement (default 0 = never)', toInt)
    .option('--stop-accuracy <x>', 'token accuracy at which a text stops (default 1.0)', toFloat)
    .option('--polish-steps <k>', 'after a text first reaches --stop-accuracy, K more optimiser steps (default 0: stop at once)', toInt)
    .option('--stop-loss <x>', 'after a text is solved, go on until its summed cross-entropy is at most X nats (default: no target)', toFloat)
    .option('--min-margin <x>', 'after a text is solved, go on until every correct token\'s logit beats the best other by X (default: no target)', toFloat);
}

/** Output, sharding and provenance flags of the commands that write a solution dataset. */
export function addDatasetOptions(cmd: Command): Command {
  return cmd
    .option('--out <dir>', 'the solution dataset folder (created, or resumed when it exists)')
    .option('--shard <i/n>', 'solve only shard i of n (texts are assigned by a stable hash of their id) (default: every text, or the shard of $JOB_COMPLETION_INDEX or $SLURM_ARRAY_TASK_ID)')
    .option('--num-shards <n>', 'shard count when the index comes from JOB_COMPLETION_INDEX (default: none)', toInt)
    .option('--workers <k>', 'run K local processes over K shards, then merge', toInt)
    .option('--source <name>', 'name of the text source for the dataset card')
    .option('--license <id>', 'license of the source texts (e.g. cdla-sharing-1.0)');
}

/** Re-run this very command as K shard processes, then merge their parts. */
export async function runWorkersAndMerge(cmd: Command, k: number, out: string, quiet: boolean): Promise<void> {
  const args = process.argv.slice(2);
  const cleaned: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--workers' || args[i] === '--shard' || args[i] === '--json') {
      if (args[i] !== '--json') i++;
      continue;
    }
    if (args[i].startsWith('--workers=') || args[i].startsWith('--shard=')) continue;
    cleaned.push(args[i]);
  }
  if (!cmd.opts<{ quiet?: boolean }>().quiet) cleaned.push('--quiet');
  const results = await runWorkers({
    k,
    command: process.execPath,
    argsFor: (i, n) => [process.argv[1], ...cleaned, '--shard', `${i}/${n}`],
  });
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) throw new PrototokenError(`worker(s) ${failed.map((f) => f.index).join(', ')} failed`, { fix: 'rerun the same command to resume' });
  const merged = await mergeDataset(out);
  if (!quiet) process.stderr.write(`merged ${k} shards into ${out}\n`);
  if (cmd.opts<{ json?: boolean }>().json) printJson({ out, workers: k, merge: merged });
  else process.stdout.write(`merged ${k} worker shards -> ${out}\n`);
}
