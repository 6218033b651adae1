import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { inspectDataset, openDatasetWriter, readDataset, readSharedM, renderInspect, type SolutionRecord } from '../../src/datasets/index.js';
import { splitOf } from '../../src/texts/split.js';
import { D, idOf, recordOf, tempDir, testOptions } from './helpers.js';

function assertSameRecord(got: SolutionRecord & { nTokens: number; split: string }, want: SolutionRecord): void {
  assert.equal(got.textId, want.textId);
  assert.equal(got.text, want.text);
  assert.deepEqual([...got.tokenIds], [...want.tokenIds]);
  assert.equal(got.nTokens, want.tokenIds.length);
  assert.deepEqual([...got.e], [...want.e]);
  if (want.m) assert.deepEqual([...(got.m ?? [])], [...want.m]);
  else assert.equal(got.m, undefined);
  assert.equal(got.seed, want.seed);
  assert.equal(got.steps, want.steps);
  assert.equal(got.accuracy, Math.fround(want.accuracy));
  assert.equal(got.cTokens, want.cTokens);
  assert.equal(got.prefixLen, want.prefixLen);
  assert.equal(got.loss, Math.fround(want.loss));
  assert.equal(got.hLmNats, want.hLmNats); // Float64: exact
  assert.equal(got.solved, want.solved);
  assert.equal(got.seconds, Math.fround(want.seconds));
  assert.equal(got.split, splitOf(want.textId));
}

test('every column round-trips (per-text m), e is zero-copy, seed is Int64', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions());
    const records = Array.from({ length: 10 }, (_, i) => recordOf(i));
    records[3].seed = Number.MAX_SAFE_INTEGER; // needs all 64 bits of the column
    records[4].seed = -123456789012;
    await w.append(records.slice(0, 4));
    await w.append(records.slice(4));
    const report = await w.close();
    assert.ok(report?.dataFile, 'a single-process writer merges on close');

    const ds = await readDataset(dir);
    assert.equal(ds.readFrom, 'data.arrow');
    assert.deepEqual(ds.warnings, []);
    assert.equal(ds.numRows, 10);
    assert.equal(ds.d, D);
    const got = ds.toRecords();
    records.forEach((r, i) => assertSameRecord(got[i], r));
    assert.deepEqual([...ds.column('seed').toArray()].slice(3, 5), [BigInt(Number.MAX_SAFE_INTEGER), -123456789012n]);

    // Zero copy: e (and m) are views of the Arrow vector's buffer.
    const eValues = ds.column('e').data[0].children[0].values as Float32Array;
    assert.equal(ds.table.batches.length, 1);
    assert.equal(ds.e.buffer, eValues.buffer);
    assert.equal(ds.e.byteOffset, eValues.byteOffset);
    assert.equal(ds.e.length, 10 * D);
    assert.equal(ds.toRecords(1)[0].e.buffer, ds.e.buffer);
    assert.equal(ds.m?.buffer, (ds.column('m').data[0].children[0].values as Float32Array).buffer);

    // dataset_info.json and the card.
    const info = JSON.parse(await readFile(path.join(dir, 'dataset_info.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(ds.info.counts.rows, 10);
    assert.equal((info.counts as { texts: number }).texts, 10);
    assert.deepEqual(info.solver_config, { lr: 0.01, maxSteps: 100, nested: { beta1: 0.9 } });
    assert.equal((info.software as { version: string }).version, '0.1.0');
    assert.equal((info.shards as { parts: unknown[] }).parts.length, 1);
    const card = await readFile(path.join(dir, 'README.md'), 'utf8');
    const front = parseYaml(card.split('---\n')[1]) as Record<string, unknown>;
    assert.equal(front.license, 'mit');
    assert.deepEqual(front.size_categories, ['n<1K']);
    assert.match(card, /\| `h_lm_nats` \| Float64 \|/);
  } finally {
    await cleanup();
  }
});

test('shared m: no m column, m.safetensors holds it, columnar appends work', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Float32Array.from({ length: D }, (_, j) => j * 0.5);
    const w = await openDatasetWriter(dir, testOptions({ m, kind: 'capacity', length: null }));
    const recs = [0, 1, 2].map((i) => recordOf(i, false));
    recs[1].tokenIds = new Int32Array(17); // capacity rows have varying lengths
    await w.append({
      textId: recs.map((r) => r.textId),
      text: recs.map((r) => r.text),
      tokenIds: recs.map((r) => r.tokenIds),
      e: Float32Array.from(recs.flatMap((r) => [...r.e])),
      seed: recs.map((r) => r.seed),
      steps: recs.map((r) => r.steps),
      accuracy: recs.map((r) => r.accuracy),
      cTokens: recs.map((r) => r.cTokens),
      prefixLen: recs.map((r) => r.prefixLen),
      loss: recs.map((r) => r.loss),
      hLmNats: recs.map((r) => r.hLmNats),
      solved: recs.map((r) => r.solved),
      seconds: recs.map((r) => r.seconds),
    });
    await assert.rejects(w.append([recordOf(5, true)]), /has its own m, but this dataset uses one shared m/);
    await w.close();
    const ds = await readDataset(dir);
    assert.equal(ds.perTextM, false);
    assert.equal(ds.m, null);
    assert.throws(() => ds.column('m'), /no column 'm' \(m is shared/);
    assert.deepEqual([...((await ds.sharedM()) ?? [])], [...m]);
    assert.deepEqual([...((await readSharedM(dir)) ?? [])], [...m]);
    ds.toRecords().forEach((r, i) => assertSameRecord(r, recs[i]));
    assert.equal(ds.info.length, null);
    assert.equal(ds.info.kind, 'capacity');

    const summary = await inspectDataset(dir, { head: 2 });
    assert.equal(summary.capacity?.[0].texts, 3);
    assert.equal(summary.capacity?.[0].capacity.max, 2);
    assert.equal(summary.m.mode, 'shared');
    const text = renderInspect(summary);
    assert.match(text, /capacity mean ± std/);
    assert.match(text, /shared \(m\.safetensors/);
    assert.match(text, /#+\| 1\n/);
    assert.doesNotThrow(() => JSON.stringify(summary));
  } finally {
    await cleanup();
  }
});

test('inspect on unmerged parts says so, and counts splits and histograms', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    await w.append(Array.from({ length: 40 }, (_, i) => recordOf(i)));
    await w.close();
    const s = await inspectDataset(dir, { head: 3 });
    assert.equal(s.readFrom, 'parts');
    assert.match(s.warnings.join('\n'), /not merged yet/);
    assert.equal(s.rows, 40);
    assert.equal(s.solvedTexts, 20);
    assert.equal(s.splits.train + s.splits.val + s.splits.test, 40);
    assert.equal(s.accuracy.histogram.reduce((n, b) => n + b.count, 0), 40);
    assert.equal(s.accuracy.histogram[10].count, 8); // accuracy exactly 1 for i % 5 == 4
    assert.equal(s.steps.histogram.reduce((n, b) => n + b.count, 0), 40);
    assert.equal(s.head.map((h) => h.textId).join(','), [0, 1, 2].map(idOf).join(','));
    const text = renderInspect(s);
    assert.match(text, /2 stream part\(s\)|1 stream part\(s\), not merged/);
    assert.match(text, /notes\n {2}! not merged yet/);
  } finally {
    await cleanup();
  }
});
