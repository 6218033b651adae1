import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePartFileName, partFileName } from '../../src/datasets/index.js';
import { splitOf } from '../../src/texts/split.js';
import { stableHash64 } from '../../src/util/hash.js';
import { resolveShard, shardOf } from '../../src/jobs/shard.js';

test('shardOf and splitOf are pinned: first 8 bytes of sha256, big-endian', () => {
  // Values computed independently with Python's hashlib; they must never change.
  assert.equal(stableHash64('validation-0'), 0x1e1fbcb3c592b9aan);
  assert.equal(stableHash64('hello'), 0x2cf24dba5fb0a30en);
  assert.equal(stableHash64(''), 0xe3b0c44298fc1c14n);
  assert.deepEqual(['validation-0', 'validation-1', 't0', 'hello'].map((id) => shardOf(id, 8)), [2, 1, 4, 6]);
  assert.deepEqual(['validation-0', 'validation-1', 't0', 'hello'].map((id) => shardOf(id, 1000)), [626, 473, 908, 342]);
  assert.equal(shardOf('anything', 1), 0);
  // u = 0.238, 0.165, 0.906, 0.902 -> with 0.9/0.05/0.05: train, train, val, val
  assert.deepEqual(['validation-0', 'validation-1', 't0', 'hello'].map((id) => splitOf(id)), ['train', 'train', 'val', 'val']);
  assert.equal(splitOf('t0', { train: 0.5, val: 0.2, test: 0.3 }), 'test');
  assert.throws(() => shardOf('x', 0), /shard count 0 must be an integer from 1/);
});

test('shards spread texts roughly evenly', () => {
  const counts = new Array<number>(4).fill(0);
  for (let i = 0; i < 4000; i++) counts[shardOf(`text-${i}`, 4)]++;
  for (const c of counts) assert.ok(c > 900 && c < 1100, `shard sizes ${counts.join(', ')}`);
});

test('part file names', () => {
  assert.equal(partFileName({ index: 3, count: 8 }), 'part-00003-of-00008.arrows');
  assert.deepEqual(parsePartFileName('part-00003-of-00008.arrows'), { index: 3, count: 8 });
  assert.equal(parsePartFileName('part-00008-of-00008.arrows'), null);
  assert.equal(parsePartFileName('.part-00000-of-00001.arrows.tmp-1-ab'), null);
});

test('resolveShard: flag, Kubernetes, Slurm, default, and clear errors', () => {
  assert.deepEqual(resolveShard({ env: {} }), { index: 0, count: 1 });
  assert.deepEqual(resolveShard({ shard: '2/4', env: {} }), { index: 2, count: 4 });
  assert.deepEqual(resolveShard({ shard: '2/4', numShards: 4, env: { JOB_COMPLETION_INDEX: '1' } }), { index: 2, count: 4 }, 'the flag wins');
  assert.throws(() => resolveShard({ shard: '4/4', env: {} }), /--shard 4\/4: index 4 must be below the count 4/);
  assert.throws(() => resolveShard({ shard: '1-4', env: {} }), /--shard '1-4' is not of the form i\/n/);
  assert.throws(() => resolveShard({ shard: '0/0', env: {} }), /shard count 0 must be an integer from 1/);
  assert.throws(() => resolveShard({ shard: '1/4', numShards: 8, env: {} }), /--shard 1\/4 means 4 shards, but --num-shards is 8/);

  // Kubernetes Indexed Job.
  assert.deepEqual(resolveShard({ numShards: 8, env: { JOB_COMPLETION_INDEX: '5' } }), { index: 5, count: 8 });
  assert.throws(() => resolveShard({ env: { JOB_COMPLETION_INDEX: '5' } }), /JOB_COMPLETION_INDEX=5 is set but the shard count is not\nFix: pass --num-shards/);
  assert.throws(() => resolveShard({ numShards: 4, env: { JOB_COMPLETION_INDEX: '4' } }), /shard index 4, which is not below the shard count 4/);
  assert.throws(() => resolveShard({ numShards: 4, env: { JOB_COMPLETION_INDEX: 'x' } }), /JOB_COMPLETION_INDEX='x' is not a non-negative integer/);

  // Slurm arrays, including ones that do not start at 0.
  assert.deepEqual(resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '8' } }), { index: 3, count: 8 });
  const from1 = { SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_COUNT: '8', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8' };
  assert.deepEqual(resolveShard({ env: from1 }), { index: 7, count: 8 });
  const stepped = { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_STEP: '2' };
  assert.deepEqual(resolveShard({ env: stepped }), { index: 3, count: 4 });
  assert.deepEqual(resolveShard({ numShards: 8, env: { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '8' } }), { index: 0, count: 8 });
  assert.throws(() => resolveShard({ numShards: 4, env: { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '8' } }), /means 8 shards, but --num-shards is 4/);
  assert.throws(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3' } }), /SLURM_ARRAY_TASK_COUNT is not/);
  const gaps = { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '7' };
  assert.throws(() => resolveShard({ env: gaps }), /not an evenly spaced range/);

  // --num-shards alone cannot say which shard this is.
  assert.throws(() => resolveShard({ numShards: 4, env: {} }), /--num-shards 4 was given but nothing says which shard/);
  assert.deepEqual(resolveShard({ numShards: 1, env: {} }), { index: 0, count: 1 });
});
