/**
 * Which slice of the texts this process solves.
 *
 * Every process of a sharded run must agree on which shard owns a text without talking to the
 * others, on any machine and Node version. So ownership is a pure function of the text id:
 * stableHash64(text id) modulo the shard count. (The train/val/test split, src/texts/split.ts,
 * hashes the story id with a prefix so that splits do not line up with shards.)
 */
import { PrototokenError } from '../util/errors.js';
import { stableHash64 } from '../util/hash.js';

/** Shard `index` of `count` (0 <= index < count). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Part file names have 5 digits, so this is the most shards a dataset can have. */
export const MAX_SHARDS = 99_999;

/** The shard (0..count-1) that owns `textId`: stableHash64(textId) mod count. */
export function shardOf(textId: string, count: number): number {
  checkCount(count, 'shardOf');
  return Number(stableHash64(textId) % BigInt(count));
}

/** Where `resolveShard` looks. */
export interface ResolveShardOptions {
  /** `--shard i/n`; wins over the environment. Default: unset. */
  shard?: string;
  /** `--num-shards n`; needed with JOB_COMPLETION_INDEX, checked against the other sources. Default: unset. */
  numShards?: number;
  /** Usually `process.env`. */
  env: NodeJS.ProcessEnv;
}

/**
 * This process's shard, from (in order): `--shard i/n`; `JOB_COMPLETION_INDEX` with `--num-shards`
 * (Kubernetes Indexed Job); `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT` (index counted
 * from `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP`, so `--array=1-8` works);
 * else `{index: 0, count: 1}`.
 */
export function resolveShard(options: ResolveShardOptions): ShardSpec {
  const { env, numShards } = options;
  if (numShards !== undefined) checkCount(numShards, '--num-shards');
  let spec: ShardSpec;
  let from: string;
  if (options.shard !== undefined) {
    spec = parseShardSpec(options.shard);
    from = `--shard ${options.shard}`;
  } else if (present(env.JOB_COMPLETION_INDEX)) {
    if (numShards === undefined) {
      throw new PrototokenError(`JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX} is set but the shard count is not`, {
        fix: 'pass --num-shards equal to the Indexed Job\'s completions (e.g. --num-shards 8)',
      });
    }
    spec = { index: envInt(env, 'JOB_COMPLETION_INDEX'), count: numShards };
    from = `JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX}`;
  } else if (present(env.SLURM_ARRAY_TASK_ID)) {
    spec = slurmShard(env);
    from = `SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}`;
  } else {
    if (numShards !== undefined && numShards !== 1) {
      throw new PrototokenError(`--num-shards ${numShards} was given but nothing says which shard this process is`, {
        fix: 'also pass --shard i/n, or run it as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm array',
      });
    }
    return { index: 0, count: 1 };
  }
  if (numShards !== undefined && numShards !== spec.count) {
    throw new PrototokenError(`${from} means ${spec.count} shards, but --num-shards is ${numShards}`, {
      fix: 'make --num-shards match (or drop it)',
    });
  }
  if (spec.index >= spec.count) {
    throw new PrototokenError(`${from} gives shard index ${spec.index}, which is not below the shard count ${spec.count}`, {
      fix: `shard indices run from 0 to ${spec.count - 1}`,
    });
  }
  return spec;
}

/** Parse `"i/n"` (0-based i). */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) {
    throw new PrototokenError(`--shard '${text}' is not of the form i/n`, {
      fix: 'pass e.g. --shard 0/4 (shard indices start at 0)',
    });
  }
  const spec = { index: Number(m[1]), count: Number(m[2]) };
  checkCount(spec.count, `--shard ${text}`);
  if (spec.index >= spec.count) {
    throw new PrototokenError(`--shard ${text}: index ${spec.index} must be below the count ${spec.count}`, {
      fix: `shard indices start at 0, so the last of ${spec.count} is ${spec.count - 1}/${spec.count}`,
    });
  }
  return spec;
}

function slurmShard(env: NodeJS.ProcessEnv): ShardSpec {
  if (!present(env.SLURM_ARRAY_TASK_COUNT)) {
    throw new PrototokenError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not', {
      fix: 'run under a Slurm version that sets it (>= 20.02), or pass --shard i/n explicitly',
    });
  }
  const id = envInt(env, 'SLURM_ARRAY_TASK_ID');
  const count = envInt(env, 'SLURM_ARRAY_TASK_COUNT');
  const min = present(env.SLURM_ARRAY_TASK_MIN) ? envInt(env, 'SLURM_ARRAY_TASK_MIN') : 0;
  const step = present(env.SLURM_ARRAY_TASK_STEP) ? envInt(env, 'SLURM_ARRAY_TASK_STEP') : 1;
  checkCount(count, 'SLURM_ARRAY_TASK_COUNT');
  const max = present(env.SLURM_ARRAY_TASK_MAX) ? envInt(env, 'SLURM_ARRAY_TASK_MAX') : min + (count - 1) * step;
  // A list like --array=0,3,7 has no formula from task id to shard index: refuse rather than guess.
  if (step < 1 || (id - min) % step !== 0 || max !== min + (count - 1) * step) {
    throw new PrototokenError(
      `the Slurm array (task ${id}, min ${min}, max ${max}, step ${step}, count ${count}) is not an evenly spaced range`,
      { fix: 'submit with a range such as --array=0-7, or pass --shard i/n explicitly' },
    );
  }
  return { index: (id - min) / step, count };
}

function present(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

function envInt(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name] ?? '';
  if (!/^\s*\d+\s*$/.test(raw)) {
    throw new PrototokenError(`environment variable ${name}='${raw}' is not a non-negative integer`, {
      fix: `unset ${name} or pass --shard i/n explicitly`,
    });
  }
  return Number(raw);
}

function checkCount(count: number, what: string): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new PrototokenError(`${what}: shard count ${count} must be an integer from 1 to ${MAX_SHARDS}`, {
      fix: 'pass a positive shard count',
    });
  }
}
