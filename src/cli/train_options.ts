/** `prototoken train`'s flags (its config keys and recipe: src/encoder/config.ts). */
import { type Command, InvalidArgumentError } from 'commander';
import { ENCODER_KINDS } from '../encoder/types.js';
import { TRANSFORMER_DEFAULTS as T } from '../encoder/transformer.js';
import { LM_POOL_DEFAULTS as P } from '../encoder/lm_pool.js';
import { LOSS_KINDS } from '../encoder/losses.js';
import { renamedFlag, toFloat, toInt } from './common.js';
import { addWindowOptions } from './window_options.js';

function list(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected one or more files, comma-separated');
  return [...(previous ?? []), ...items];
}

/** `2@400,4@1000`: N=2 until step 400, N=4 until step 1000, then whole windows. */
function curriculum(value: string): { n: number; until: number }[] {
  return value.split(',').map((part) => {
    const m = /^\s*(\d+)@(\d+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected stages like 2@400,4@1000 (N@until_step), got "${part}"`);
    return { n: Number(m[1]), until: Number(m[2]) };
  });
}

function bool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

export function addTrainOptions(cmd: Command): Command {
  return addWindowOptions(cmd)
    .option('--name <run>', 'run name: the run folder <checkpoints-dir>/<run>/ (best/, last/, logs/)')
    .option('--checkpoints-dir <dir>', 'where run folders go (default runs; the shipped checkpoints/ is never the default)')
    .option('--logdir <dir>', 'TensorBoard folder (default <checkpoints-dir>/<run>/logs)')
    .option('--texts <files>', 'raw text files for the recon loss (comma-separated, or repeat the flag)', list)
    .option('--dataset <dir>', 'solution dataset solved with one fixed m (distill targets, statistics, baselines)')
    .option('--m <file>', 'the fixed m (default: the dataset\'s m.safetensors)')
    .option('--encoder <kind>', `architecture: ${ENCODER_KINDS.join(' | ')}`)
    .option('--width <n>', `transformer width (default ${T.width})`, toInt)
    .option('--layers <n>', `transformer blocks (default ${T.layers})`, toInt)
    .option('--heads <n>', `attention heads (default ${T.heads})`, toInt)
    .option('--ff-mult <n>', `MLP width as a multiple of the width (default ${T.ffMult})`, toInt)
    .option('--freeze-embeddings <bool>', `keep the token embeddings at the LM's (default ${T.freezeEmbeddings})`, bool)
    .option('--max-length <n>', `longest text the encoder accepts (default ${T.maxLength})`, toInt)
    .option('--pool-queries <n>', `learned pooling queries (default ${T.poolQueries}; lm-pool ${P.poolQueries})`, toInt)
    .option('--lm-layer <n>', 'lm-pool: LM blocks to run before pooling (default: all of them)', toInt)
    .option('--mlp-hidden <n>', `lm-pool: MLP width (default ${P.mlpHidden})`, toInt)
    .option('--cache-features <bool>', `lm-pool: keep each text's LM features (default ${P.cacheFeatures})`, bool)
    .option('--loss <kind>', `${LOSS_KINDS.join(' | ')}`)
    .option('--distill-weight <w>', 'weight of the distill term in mixed', toFloat)
    .option('--cosine-weight <w>', 'weight of the cosine part of distill', toFloat)
    .option('--norm-penalty <w>', 'weight of mean ||e_hat||^2 / d', toFloat)
    .option('--batch <n>', 'windows per step', toInt)
    .addOption(renamedFlag('--batch-size <n>', '--batch', toInt))
    .option('--steps <n>', 'length of the schedule', toInt)
    .option('--stop-at-step <n>', 'stop this run at this step, inside the --steps schedule (resume later with --resume) (default: at --steps)', toInt)
    .addOption(renamedFlag('--max-steps <n>', '--stop-at-step', toInt))
    .option('--lr <x>', 'peak learning rate', toFloat)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (matrices only)', toFloat)
    .option('--clip-norm <x>', 'global gradient-norm clip (0: none)', toFloat)
    .option('--warmup-steps <n>', 'linear warmup steps', toInt)
    .option('--val-every <n>', 'validate every N steps', toInt)
    .option('--log-every <n>', 'log every N steps', toInt)
    .option('--checkpoint-every <n>', 'write last/ every N steps', toInt)
    .option('--max-train <n>', 'at most N training windows (default: all)', toInt)
    .option('--max-val <n>', 'at most N validation windows', toInt)
    .option('--allow-partial', 'train on a --dataset that is incomplete (an interrupted solve, missing shards); refused otherwise')
    .option('--stream', 'stream the --dataset rows batch by batch (no --texts; memory independent of the dataset size)')
    .option('--max-reference <n>', 'with --stream: the first N solved training rows are the baselines\' reference', toInt)
    .option('--init-from <checkpoint>', 'start from a trained encoder\'s weights (same architecture, or only more --layers; same model and m), e.g. one trained at a shorter N')
    .option('--reference-min-accuracy <x>', 'dataset rows with at least this token accuracy count as solved (default 1; lower it above the model\'s shared-m capacity)', toFloat)
    .option('--curriculum <stages>', 'N curriculum for recon: N@until,... e.g. 2@400,4@1000 trains on 2-token prefixes until step 400, 4-token ones until 1000, then whole windows', curriculum)
    .option('--learn-m', 'train the universal m with the encoder (recon loss), from --m, the dataset\'s m, or N(0,1); saved in the checkpoint. Its reference windows must then be solved with that m (see docs/encoder.md)')
    .option('--workers <k>', 'threads that share each batch, this one included (default: one per core; 1: no worker threads); the same steps for any count', toInt)
    .option('--preset <name>', 'configs/encoder-<name>.yaml under --config and flags')
    .option('--resume', 'continue the run in <checkpoints-dir>/<run>/last exactly where it stopped')
    .option('--overwrite', 'replace an existing run of that name (its best/, last/ and logs/); without it an existing run is refused');
}
