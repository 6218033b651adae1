/**
 * Which slice of the texts this process solves, and the stable hashes that decide it.
 *
 * Every process of a sharded run must agree on which shard owns a text without talking to the
 * others, on any machine and Node version. So ownership is a pure function of the text id:
 * the first 8 bytes of SHA-256(UTF-8 text id), read as an unsigned big-endian 64-bit integer,
 * modulo the shard count. The train/val/test split uses the same construction with a prefix
 * (`"prototoken-split:" + story id`) so that it does not line up with the shards.
 */
import { createHash } from 'node:crypto';
import { PrototokenError } from '../util/errors.js';
import { storyOf } from './windows.js';

/** Shard `index` of `count` (0 <= index < count). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Part file names have 5 digits, so this is the most shards a dataset can have. */
export const MAX_SHARDS = 99_999;

/** First 8 bytes of SHA-256 of the UTF-8 string, as an unsigned big-endian 64-bit integer. */
export function stableHash64(s: string): bigint {
  return createHash('sha256').update(s, 'utf8').digest().readBigUInt64BE(0);
}

/** The shard (0..count-1) that owns `textId`: stableHash64(textId) mod count. */
export function shardOf(textId: string, count: number): number {
  checkCount(count, 'shardOf');
  return Number(stableHash64(textId) % BigInt(count));
}

/** Fractions of texts per split; must be >= 0 and sum to 1. */
export interface SplitRatios {
  train: number;
  val: number;
  test: number;
}

/** 90 / 5 / 5. */
export const DEFAULT_SPLIT_RATIOS: Readonly<SplitRatios> = Object.freeze({ train: 0.9, val: 0.05, test: 0.05 });

/** Throw a PrototokenError unless `r` is usable (each >= 0, sum 1 within 1e-6). */
export function checkSplitRatios(r: SplitRatios): void {
  const parts = [r.train, r.val, r.test];
  const sum = parts.reduce((a, b) => a + b, 0);
  if (parts.some((p) => !Number.isFinite(p) || p < 0) || Math.abs(sum - 1) > 1e-6) {
    throw new PrototokenError(`split ratios train=${r.train} val=${r.val} test=${r.test} must be >= 0 and sum to 1`, {
      fix: 'pass ratios such as 0.9/0.05/0.05',
    });
  }
}

/**
 * The split of a text: u = top 53 bits of stableHash64("prototoken-split:" + storyOf(id)) / 2^53,
 * in [0, 1); train if u < train, val if u < train + val, else test. Hashing the story rather than
 * the window keeps every window of a story in one split, so no test story is seen in training; an
 * id without a window marker is its own story, so older datasets keep their splits.
 */
export function splitOf(textId: string, ratios: SplitRatios = DEFAULT_SPLIT_RATIOS): 'train' | 'val' | 'test' {
  const u = Number(stableHash64(`prototoken-split:${storyOf(textId)}`) >> 11n) / 2 ** 53;
  if (u < ratios.train) return 'train';
  return u < ratios.train + ratios.val ? 'val' : 'test';
}

/** `part-00003-of-00008.arrows`. */
export function partFileName(shard: ShardSpec): string {
  return `part-${pad5(shard.index)}-of-${pad5(shard.count)}.arrows`;
}

/** The shard a part file name stands for, or null if `name` is not a part file. */
export function parsePartFileName(name: string): ShardSpec | null {
  const m = /^part-(\d{5})-of-(\d{5})\.arrows$/.exec(name);
  if (!m) return null;
  const spec = { index: Number(m[1]), count: Number(m[2]) };
  return spec.count >= 1 && spec.index < spec.count ? spec : null;
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
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
