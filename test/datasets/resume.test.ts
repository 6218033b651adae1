import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { openDatasetWriter, readDataset, type SolutionDataset } from '../../src/datasets/index.js';
import { scanStream } from '../../src/datasets/ipc_stream.js';
import { runAppendWorker, type KillAt } from './child.js';
import { D, idOf, indexOf, recordOf, tempDir, testOptions } from './helpers.js';

/** Every text 0..total-1 exactly once, each row equal to its synthetic values. */
function assertComplete(ds: SolutionDataset, total: number): void {
  const ids = ds.toRecords().map((r) => r.textId);
  assert.equal(ids.length, total, `rows: ${ids.length}`);
  assert.equal(new Set(ids).size, total, 'no duplicate text ids');
  for (const r of ds.toRecords()) {
    const want = recordOf(indexOf(r.textId));
    assert.deepEqual([...r.e], [...want.e], `e of ${r.textId}`);
    assert.deepEqual([...r.tokenIds], [...want.tokenIds], `token_ids of ${r.textId}`);
    assert.equal(r.seed, want.seed);
  }
}

test('resume returns the ids present, skips them, refuses duplicates; close is idempotent', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w1 = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    assert.equal(w1.doneIds.size, 0);
    await w1.append([0, 1, 2, 3, 4].map((i) => recordOf(i)));
    assert.equal(w1.doneIds.size, 5);
    assert.equal(await w1.close(), null);
    assert.equal(await w1.close(), null, 'second close is a no-op');
    await assert.rejects(w1.append([recordOf(9)]), /append\(\) after close\(\)/);

    const w2 = await openDatasetWriter(dir, testOptions());
    assert.deepEqual([...w2.doneIds].sort(), [0, 1, 2, 3, 4].map(idOf).sort());
    assert.equal(w2.resumed.rows, 5);
    const texts = Array.from({ length: 10 }, (_, i) => ({ id: idOf(i), i }));
    assert.deepEqual(w2.pendingTexts(texts).map((t) => t.i), [5, 6, 7, 8, 9]);
    await assert.rejects(w2.append([recordOf(2)]), /text 't2' is already in the dataset/);
    await w2.append([5, 6, 7, 8, 9].map((i) => recordOf(i)));
    const [a, b] = [w2.close(), w2.close()];
    assert.equal(a, b);
    assert.ok((await a)?.dataFile);
    assertComplete(await readDataset(dir), 10);
  } finally {
    await cleanup();
  }
});

test('a mismatched rerun is refused with the differing field, and nothing is touched', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    await w.append([recordOf(0)]);
    await w.close();
    const part = path.join(dir, 'part-00000-of-00001.arrows');
    const before = await readFile(part);
    const cases: [Parameters<typeof testOptions>[0], RegExp][] = [
      [{ model: { id: 'test/tiny', fingerprint: 'a'.repeat(64), tokenizerHash: 't'.repeat(64), dModel: D } }, /model\.fingerprint: "f{64}" vs "a{64}"/],
      [{ model: { id: 'other/name', fingerprint: 'f'.repeat(64), tokenizerHash: 'x', dModel: D } }, /model\.tokenizer_hash: "t{64}" vs "x"/],
      [{ length: 7 }, /length \(N\): 5 vs 7/],
      [{ arrangement: 'm-e' }, /arrangement: "e-m-repeat" vs "m-e"/],
      [{ m: new Float32Array(D) }, /m: per-text vs shared m sha256 [0-9a-f]{64}/],
      [{ solverConfig: { lr: 0.02, maxSteps: 100, nested: { beta1: 0.9 } } }, /solver_config\.lr: 0\.01 vs 0\.02/],
    ];
    for (const [over, pattern] of cases) {
      await assert.rejects(openDatasetWriter(dir, testOptions({ ...over, mergeOnClose: false })), (err: Error) => {
        assert.match(err.message, pattern);
        assert.match(err.message, /field: existing vs this run/);
        assert.match(err.message, /Fix: write to a new folder \(e\.g\. --out .*-2\)/);
        return true;
      });
    }
    assert.deepEqual(await readFile(part), before, 'a refused run changes nothing');
    assert.deepEqual((await readdir(dir)).sort(), ['part-00000-of-00001.arrows', 'part-00000-of-00001.index.jsonl']);
  } finally {
    await cleanup();
  }
});

test('a part cut at any byte of its last batch reads, resumes and completes without duplicates', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    for (let b = 0; b < 3; b++) await w.append([0, 1, 2, 3].map((k) => recordOf(b * 4 + k)));
    await w.close();
    const name = 'part-00000-of-00001.arrows';
    const full = new Uint8Array(await readFile(path.join(dir, name)));
    const scan = scanStream(full, name);
    assert.equal(scan.messages.length, 4);
    assert.ok(scan.hasEndMarker);
    const lastBatch = scan.messages[3];
    const cuts = new Set<number>([lastBatch.offset, lastBatch.offset + 1, lastBatch.offset + 7, lastBatch.offset + 8, scan.dataEnd - 1, scan.dataEnd, scan.dataEnd + 4, full.length]);
    for (let c = lastBatch.offset; c < full.length; c += 53) cuts.add(c);
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const d2 = path.join(dir, `cut-${cut}`);
      await mkdir(d2);
      await writeFile(path.join(d2, name), full.subarray(0, cut));
      const complete = cut >= scan.dataEnd;
      const ds = await readDataset(d2);
      assert.equal(ds.numRows, complete ? 12 : 8, `rows readable at cut ${cut}`);
      const torn = cut !== lastBatch.offset && cut !== scan.dataEnd && cut !== full.length;
      assert.equal(ds.warnings.some((x) => x.includes('incomplete batch')), torn, `torn reported at cut ${cut}`);

      const w2 = await openDatasetWriter(d2, testOptions({ mergeOnClose: false }));
      assert.equal(w2.doneIds.size, complete ? 12 : 8);
      const todo = w2.pendingTexts(Array.from({ length: 16 }, (_, i) => ({ id: idOf(i), i })));
      await w2.append(todo.map((t) => recordOf(t.i)));
      await w2.close();
      assertComplete(await readDataset(d2), 16);
    }
  } finally {
    await cleanup();
  }
});

test('SIGKILL at different moments, then resume: every text exactly once and readable', async () => {
  const { dir, cleanup } = await tempDir();
  const total = 60;
  // One folder killed again and again: each run resumes what the previous kill left.
  const moments: KillAt[] = [
    { delayMs: 0 }, // while Node / the writer is still starting
    { afterLine: 'batch 1', delayMs: 0 },
    { afterLine: 'batch 2', delayMs: 3 },
    { afterLine: 'batch 1', delayMs: 9 },
  ];
  try {
    const job = { dir, total, batch: 4, sleepMs: 20 };
    let lastRows = 0;
    for (const [n, killAt] of moments.entries()) {
      const killed = await runAppendWorker(job, killAt);
      assert.equal(killed.signal, 'SIGKILL', `run ${n} was killed (stdout: ${killed.stdout}, stderr: ${killed.stderr})`);
      const parts = (await readdir(dir)).filter((f) => f.endsWith('.arrows'));
      if (parts.length === 0) continue;
      // Readable right after the kill: whole batches only, nothing lost that was appended, no duplicates.
      const ds = await readDataset(dir);
      const ids = ds.toRecords().map((r) => r.textId);
      assert.equal(new Set(ids).size, ids.length, `no duplicates after kill ${n}`);
      assert.equal(ids.length % 4, 0);
      assert.ok(ids.length >= lastRows);
      lastRows = ids.length;
    }
    assert.ok(lastRows > 0 && lastRows < total, `the kills left a partial dataset (${lastRows} rows)`);
    const resumed = await runAppendWorker(job);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`open done=${lastRows} todo=${total - lastRows}`));
    assert.match(resumed.stdout, /closed/);
    const ds = await readDataset(dir);
    assert.equal(ds.readFrom, 'data.arrow');
    assertComplete(ds, total);
  } finally {
    await cleanup();
  }
});

test('a clean close followed by more appends keeps a single schema message', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    for (let run = 0; run < 3; run++) {
      const w = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
      await w.append([recordOf(run)]);
      await w.close();
    }
    const bytes = new Uint8Array(await readFile(path.join(dir, 'part-00000-of-00001.arrows')));
    const scan = scanStream(bytes, 'part');
    assert.deepEqual(scan.messages.map((m) => m.type), ['schema', 'batch', 'batch', 'batch']);
    assert.ok(scan.hasEndMarker);
    assertComplete(await readDataset(dir), 3);
  } finally {
    await cleanup();
  }
});
