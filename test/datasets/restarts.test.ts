/**
 * Datasets that keep every restart (`solve --keep-all-restarts`): the `restart` column, resume by
 * (text, restart), merge across shard counts keyed on (text_id, restart), and old datasets (no
 * column) reading as restart 0.
 */
import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { mergeDataset, openDatasetWriter, readDataset, type SolutionDataset } from '../../src/datasets/index.js';
import { shardOf } from '../../src/jobs/shard.js';
import { idOf, recordOf, tempDir, testOptions } from './helpers.js';

const TOTAL = 12;
const texts = Array.from({ length: TOTAL }, (_, i) => ({ id: idOf(i), i }));
const KEEP2 = { restarts: { keep: 'all' as const, count: 2 } };

/** `text_id/restart` of every row, sorted. */
function keys(ds: SolutionDataset): string[] {
  return ds.toRecords().map((r) => `${r.textId}/${r.restart}`).sort();
}

function allKeys(restarts: readonly number[]): string[] {
  return texts.flatMap((t) => restarts.map((r) => `${t.id}/${r}`)).sort();
}

/** Write restart `r` of every text this shard still misses, in batches of 3. */
async function writeRestart(dir: string, r: number, shard = { index: 0, count: 1 }): Promise<void> {
  const w = await openDatasetWriter(dir, testOptions({ ...KEEP2, shard, mergeOnClose: false }));
  const todo = w.pendingTexts(texts).filter((t) => w.missingRestarts(t.id)?.includes(r));
  for (let k = 0; k < todo.length; k += 3) await w.append(todo.slice(k, k + 3).map((t) => recordOf(t.i, true, r)));
  await w.close();
}

test('every restart is a row with its own e; a text is done only when all its restarts are stored', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w1 = await openDatasetWriter(dir, testOptions({ ...KEEP2, mergeOnClose: false }));
    await w1.append([recordOf(0, true, 0), recordOf(1, true, 0), recordOf(1, true, 1)]);
    assert.deepEqual([...w1.doneIds], [idOf(1)], 'text 0 has one of its two restarts');
    await w1.close();

    const w2 = await openDatasetWriter(dir, testOptions(KEEP2));
    assert.deepEqual(w2.missingRestarts(idOf(0)), [1]);
    assert.deepEqual(w2.missingRestarts(idOf(1)), []);
    assert.deepEqual(w2.missingRestarts(idOf(5)), [0, 1]);
    assert.deepEqual(w2.pendingTexts(texts.slice(0, 3)).map((t) => t.id), [idOf(0), idOf(2)]);
    await assert.rejects(w2.append([recordOf(0, true, 0)]), /restart 0 of text 't0' is already in the dataset/);
    await assert.rejects(w2.append([recordOf(2, true, 2)]), /has restart 2, but this dataset keeps 2 restarts per text/);
    await w2.append([recordOf(0, true, 1)]);
    await w2.close();

    const ds = await readDataset(dir);
    assert.equal(ds.allRestarts, true);
    assert.deepEqual(keys(ds), ['t0/0', 't0/1', 't1/0', 't1/1']);
    const t0 = ds.toRecords().filter((r) => r.textId === 't0').sort((a, b) => a.restart - b.restart);
    assert.deepEqual([...t0[1].e], [...recordOf(0, true, 1).e]);
    assert.notDeepEqual([...t0[0].e], [...t0[1].e]);
    assert.deepEqual(ds.info.restarts, { keep: 'all', count: 2 });
    assert.ok(ds.info.schema.some((c) => c.name === 'restart' && c.type === 'Int32'), 'dataset_info.json lists the restart column');
    assert.equal(ds.info.counts.rows, 4);
    assert.equal(ds.info.counts.texts, 2);
  } finally {
    await cleanup();
  }
});

test('keeping every restart is part of the settings: a best-per-text rerun (or another K) is refused', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions({ ...KEEP2, mergeOnClose: false }));
    await w.append([recordOf(0, true, 0)]);
    await w.close();
    await assert.rejects(openDatasetWriter(dir, testOptions()), /restarts: all 2 kept \(--keep-all-restarts\) vs best kept/);
    await assert.rejects(openDatasetWriter(dir, testOptions({ restarts: { keep: 'all', count: 3 } })), /restarts: all 2 kept .* vs all 3 kept/);
  } finally {
    await cleanup();
  }
});

test('merge keys on (text_id, restart): restarts spread over parts of different shard counts all survive', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // Restart 0 by one process; the resumed run with two shards adds restart 1 to new parts.
    await writeRestart(dir, 0);
    await writeRestart(dir, 1, { index: 1, count: 2 });
    await writeRestart(dir, 1, { index: 0, count: 2 });
    assert.ok(texts.some((t) => shardOf(t.id, 2) === 0) && texts.some((t) => shardOf(t.id, 2) === 1), 'both shards have texts');
    const unmerged = await readDataset(dir);
    assert.equal(unmerged.readFrom, 'parts');
    assert.deepEqual(keys(unmerged), allKeys([0, 1]));

    const report = await mergeDataset(dir);
    assert.equal(report.rows, 2 * TOTAL);
    assert.equal(report.texts, TOTAL);
    assert.equal(report.duplicatesDropped, 0);
    const merged = await readDataset(dir);
    assert.equal(merged.readFrom, 'data.arrow');
    assert.deepEqual(keys(merged), allKeys([0, 1]));
    for (const r of merged.toRecords()) assert.deepEqual([...r.e], [...recordOf(Number(r.textId.slice(1)), true, r.restart).e]);
  } finally {
    await cleanup();
  }
});

test('a (text, restart) held by two parts is kept once', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await writeRestart(a, 0);
    await writeRestart(a, 1);
    for (const s of [0, 1]) await writeRestart(b, 1, { index: s, count: 2 });
    // Two runs that both wrote restart 1 (e.g. a shard rerun elsewhere and copied in).
    for (const f of await readdir(b)) if (f.includes('-of-00002')) await copyFile(path.join(b, f), path.join(a, f));
    const report = await mergeDataset(a);
    assert.equal(report.rows, 2 * TOTAL);
    assert.equal(report.duplicatesDropped, TOTAL);
    assert.deepEqual(keys(await readDataset(a)), allKeys([0, 1]));
  } finally {
    await cleanup();
  }
});

test('a dataset written without the flag has no restart column and reads as restart 0', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions());
    // The solver reports which restart won; a best-per-text dataset does not store it.
    await w.append([recordOf(0, true, 2), recordOf(1, true, 0)]);
    await w.close();
    const ds = await readDataset(dir);
    assert.equal(ds.allRestarts, false);
    assert.equal(ds.info.restarts, undefined);
    assert.equal(ds.table.getChild('restart'), null);
    assert.ok(!ds.info.schema.some((c) => c.name === 'restart'));
    assert.deepEqual(ds.toRecords().map((r) => r.restart), [0, 0]);
    assert.equal(w.missingRestarts(idOf(0)), null);
  } finally {
    await cleanup();
  }
});
