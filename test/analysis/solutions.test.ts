/**
 * Gathering pairs of solutions for `interpolate` from synthetic datasets: restarts in one dataset,
 * the same text across datasets, round-robin limits, per-text m (a solution is e and m), and every
 * refusal (mixed m settings, different m or N, no text with two solutions, missing folders).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { openDatasetWriter } from '../../src/datasets/index.js';
import { loadSolutionPairs } from '../../src/analysis/solutions.js';
import { tempDir, testOptions } from '../datasets/helpers.js';
import { M, N, keepAll, row, writeFixedM } from './helpers.js';

test('restarts of one dataset: every pair per text, round-robin over texts, unsolved rows left out', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ds = await writeFixedM(dir, [row(0, 0), row(0, 1), row(0, 2), row(1, 1), row(1, 0), row(2, 0), row(3, 0), row(3, 1, true)], keepAll(3));
    const all = await loadSolutionPairs([ds]);
    assert.equal(all.N, N);
    assert.equal(all.arrangement, 'e-m');
    assert.deepEqual([...(all.m ?? [])], [...M]);
    assert.deepEqual(all.solutions.map((s) => `${s.textId}:${s.end.restart}`), ['t0:0', 't0:1', 't0:2', 't1:1', 't1:0'], 'every solution of the paired texts');
    assert.equal(all.pairs[0].a.m, null, 'a fixed m is not repeated per endpoint');
    assert.equal(all.unsolvedRows, 1);
    assert.equal(all.textsWithPairs, 2, 't2 has one solution, t3 one solved');
    const keys = all.pairs.map((p) => `${p.textId}:${p.a.restart}-${p.b.restart}`);
    assert.deepEqual(keys, ['t0:0-1', 't1:0-1', 't0:0-2', 't0:1-2']);
    assert.deepEqual([...all.pairs[1].a.e], [...row(1, 0).e]);
    assert.deepEqual([...all.pairs[0].tokenIds], [0, 1, 2, 3, 4]);
    const two = await loadSolutionPairs([ds], { maxPairs: 2 });
    assert.deepEqual(two.pairs.map((p) => p.textId), ['t0', 't1'], 'a small limit covers texts first');
  } finally {
    await cleanup();
  }
});

test('the same text across datasets (different seeds) pairs up; identical e are skipped', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const a = await writeFixedM(path.join(dir, 'a'), [row(0, 0), row(1, 0)]);
    const b = await writeFixedM(path.join(dir, 'b'), [row(0, 1), row(1, 0), row(2, 0)]);
    const r = await loadSolutionPairs([a, b]);
    assert.deepEqual(r.datasets, [a, b]);
    assert.deepEqual(r.pairs.map((p) => [p.textId, p.a.dataset, p.b.dataset]), [['t0', 0, 1]], 't1 is the same e twice');
  } finally {
    await cleanup();
  }
});

test('refusals name the file and the fix', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const good = await writeFixedM(path.join(dir, 'good'), [row(0, 0), row(0, 1)], keepAll(2));
    const perText = path.join(dir, 'per-text');
    const w = await openDatasetWriter(perText, testOptions({ length: N, arrangement: 'e-m', restarts: { keep: 'all', count: 2 } }));
    await w.append([0, 1].map((r) => ({ ...row(0, r), m: M })));
    await w.close();
    const single = await writeFixedM(path.join(dir, 'single'), [row(0, 0), row(1, 0)]);
    // Alone, m per text is a setting like any other: each solution is its e and its m.
    const own = await loadSolutionPairs([perText]);
    assert.equal(own.m, null);
    assert.deepEqual([...(own.pairs[0].a.m ?? [])], [...M]);
    const otherM = await writeFixedM(path.join(dir, 'other-m'), [row(0, 2)], { m: M.map((x) => x + 1) });
    const otherN = await writeFixedM(path.join(dir, 'other-n'), [{ ...row(0, 2), tokenIds: Int32Array.from([1, 2, 3, 4]) }], { length: 4 });

    const cases: [string[], RegExp[]][] = [
      [[path.join(dir, 'nope')], [/nope: no such dataset folder/, /Fix: pass the --out folder of `prototoken solve`/]],
      [[good, perText], [/per-text: its m \(per-text\) differs from that of .*good \(sha256/, /Fix: solve every dataset with the same --m FILE/]],
      [[single], [/no text has two or more solved solutions/, /--keep-all-restarts/]],
      [[good, otherM], [/other-m: its m \(sha256 [0-9a-f]{12}…\) differs from that of .*good \(sha256/, /Fix: solve every dataset with the same --m FILE/]],
      [[good, otherN], [/other-n: its N \(4\) differs from that of .*good \(5\)/]],
    ];
    for (const [paths, patterns] of cases) {
      await assert.rejects(loadSolutionPairs(paths), (err: Error) => {
        assert.equal(err.name, 'PrototokenError', err.message);
        for (const p of patterns) assert.match(err.message, p);
        return true;
      });
    }
  } finally {
    await cleanup();
  }
});
