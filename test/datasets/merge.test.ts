import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { mergeDataset, openDatasetWriter, readDataset, type SolutionDataset } from '../../src/datasets/index.js';
import { shardOf } from '../../src/jobs/shard.js';
import { D, idOf, recordOf, tempDir, testOptions } from './helpers.js';

const TOTAL = 30;
const texts = Array.from({ length: TOTAL }, (_, i) => ({ id: idOf(i), i }));

/** Write shard `index` of `count` (its own texts only) in batches of 4; no merge. */
async function writeShard(dir: string, index: number, count: number, over: Parameters<typeof testOptions>[0] = {}): Promise<void> {
  const w = await openDatasetWriter(dir, testOptions({ shard: { index, count }, mergeOnClose: false, ...over }));
  const todo = w.pendingTexts(texts);
  for (let k = 0; k < todo.length; k += 4) await w.append(todo.slice(k, k + 4).map((t) => recordOf(t.i)));
  await w.close();
}

function rowSet(ds: SolutionDataset): string[] {
  return ds.toRecords().map((r) => JSON.stringify([r.textId, [...r.tokenIds], r.solved, [...r.e]])).sort();
}

test('two shards + merge give the same rows as one process', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const one = path.join(dir, 'one');
    await writeShard(one, 0, 1);
    await mergeDataset(one);
    const sharded = path.join(dir, 'sharded');
    await writeShard(sharded, 1, 2); // order does not matter
    await writeShard(sharded, 0, 2);
    const counts = [0, 1].map((s) => texts.filter((t) => shardOf(t.id, 2) === s).length);
    assert.ok(counts[0] > 0 && counts[1] > 0, 'both shards have texts');

    const unmerged = await readDataset(sharded);
    assert.equal(unmerged.readFrom, 'parts');
    assert.deepEqual(rowSet(unmerged), rowSet(await readDataset(one)));

    const report = await mergeDataset(sharded);
    assert.equal(report.rows, TOTAL);
    assert.deepEqual(report.parts.map((p) => p.rows), counts);
    assert.deepEqual(report.missingShards, []);
    const merged = await readDataset(sharded);
    assert.equal(merged.readFrom, 'data.arrow');
    assert.equal(merged.table.batches.length, 1);
    assert.deepEqual(rowSet(merged), rowSet(await readDataset(one)));
    assert.deepEqual(merged.info.shards.counts, [2]);
    assert.equal(merged.info.counts.texts, TOTAL);

    // Appending after the merge makes data.arrow stale: readers fall back to the parts and say so.
    const w = await openDatasetWriter(sharded, testOptions({ shard: { index: shardOf('extra', 2), count: 2 }, mergeOnClose: false }));
    await w.append([{ ...recordOf(99), textId: 'extra' }]);
    await w.close();
    const stale = await readDataset(sharded);
    assert.equal(stale.readFrom, 'parts');
    assert.match(stale.warnings.join('\n'), /data\.arrow is older than part-0000[01]-of-00002\.arrows/);
    assert.equal(stale.numRows, TOTAL + 1);
  } finally {
    await cleanup();
  }
});

test('merge reports missing shards, drops duplicate texts, carries over rows of deleted parts', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShard(dir, 0, 3);
    await writeShard(dir, 2, 3);
    await assert.rejects(mergeDataset(dir), (err: Error) => {
      assert.match(err.message, /not complete.*\n {2}missing shards: part-00001-of-00003\.arrows/);
      assert.match(err.message, /--allow-incomplete/);
      return true;
    });
    assert.equal((await readdir(dir)).includes('data.arrow'), false);
    const partial = await mergeDataset(dir, { allowIncomplete: true });
    assert.deepEqual(partial.missingShards, ['part-00001-of-00003.arrows']);

    // A single-shard rerun over the same folder: every text already present is skipped...
    const w = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    assert.equal(w.doneIds.size, partial.rows);
    await w.close();
    // ...and a part that repeats texts (e.g. copied in from elsewhere) loses them at merge.
    const other = path.join(dir, 'other');
    await writeShard(other, 0, 1);
    // A part travels with its checksum index.
    for (const f of ['part-00000-of-00001.arrows', 'part-00000-of-00001.index.jsonl']) await copyFile(path.join(other, f), path.join(dir, f));
    const report = await mergeDataset(dir, { allowIncomplete: true });
    assert.equal(report.rows, TOTAL);
    assert.equal(report.duplicatesDropped, partial.rows);

    // Parts deleted after a merge: their rows survive in data.arrow.
    const solo = path.join(dir, 'solo');
    await writeShard(solo, 0, 2);
    const first = await mergeDataset(solo, { allowIncomplete: true });
    await rm(path.join(solo, 'part-00000-of-00002.arrows'));
    await writeShard(solo, 1, 2);
    const second = await mergeDataset(solo, { allowIncomplete: true });
    assert.equal(second.carriedOver, first.rows);
    assert.equal(second.rows, TOTAL);
  } finally {
    await cleanup();
  }
});

test('parts with different settings are refused, naming both files; nothing is written', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await writeShard(a, 0, 2);
    await writeShard(b, 1, 2, { model: { id: 'x', fingerprint: 'b'.repeat(64), tokenizerHash: 't'.repeat(64), dModel: D } });
    for (const f of ['part-00001-of-00002.arrows', 'part-00001-of-00002.index.jsonl']) await copyFile(path.join(b, f), path.join(a, f));
    await assert.rejects(mergeDataset(a), (err: Error) => {
      assert.match(err.message, /part-00001-of-00002\.arrows and part-00000-of-00002\.arrows were made with different settings/);
      assert.match(err.message, /model\.fingerprint: "f{64}" vs "b{64}"/);
      return true;
    });
    assert.deepEqual((await readdir(a)).sort(), ['part-00000-of-00002.arrows', 'part-00000-of-00002.index.jsonl', 'part-00001-of-00002.arrows', 'part-00001-of-00002.index.jsonl']);
  } finally {
    await cleanup();
  }
});

test('a truncated part and a corrupt data.arrow give errors naming the file; merge writes no partial data.arrow', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShard(dir, 0, 2);
    await writeShard(dir, 1, 2);
    await mergeDataset(dir);
    const dataPath = path.join(dir, 'data.arrow');
    const good = await readFile(dataPath);

    // A part cut inside a batch: readers skip the torn batch and say so; merge refuses it.
    const part1 = path.join(dir, 'part-00001-of-00002.arrows');
    await truncate(part1, (await stat(part1)).size - 100);
    const ds = await readDataset(dir);
    assert.match(ds.warnings.join('\n'), /part-00001-of-00002\.arrows ends in an incomplete batch/);
    await assert.rejects(mergeDataset(dir), /part-00001-of-00002\.arrows ends in an incomplete batch of \d+ bytes/);
    assert.deepEqual(await readFile(dataPath), good, 'the failed merge left data.arrow alone');

    // A part cut inside its schema message is unusable.
    await truncate(part1, 50);
    await assert.rejects(readDataset(dir), (err: Error) => {
      assert.match(err.message, /part-00001-of-00002\.arrows: incomplete Arrow stream: the 50-byte file does not even hold its schema message/);
      return true;
    });
    await assert.rejects(mergeDataset(dir), /part-00001-of-00002\.arrows: incomplete Arrow stream/);
    assert.deepEqual(await readFile(dataPath), good);

    // Garbage in a part.
    const garbage = path.join(dir, 'garbage');
    await mkdir(garbage);
    await writeFile(path.join(garbage, 'part-00000-of-00001.arrows'), Buffer.from('this is not arrow at all, just text'));
    await assert.rejects(readDataset(garbage), /garbage\/part-00000-of-00001\.arrows: corrupt Arrow stream: no message marker at byte 0/);

    // A data.arrow cut short, then one with its body overwritten.
    const solo = path.join(dir, 'solo');
    await writeShard(solo, 0, 1);
    await mergeDataset(solo);
    const soloData = path.join(solo, 'data.arrow');
    const bytes = await readFile(soloData);
    await writeFile(soloData, bytes.subarray(0, bytes.length - 30));
    await assert.rejects(readDataset(solo), (err: Error) => {
      assert.match(err.message, /solo\/data\.arrow: not a complete Arrow IPC file/);
      assert.match(err.message, /Fix: delete it and run `prototoken merge`/);
      return true;
    });
    await assert.rejects(mergeDataset(solo), /solo\/data\.arrow: not a complete Arrow IPC file/);
    const corrupt = Buffer.from(bytes);
    corrupt.fill(0xab, 8, corrupt.length - 10);
    await writeFile(soloData, corrupt);
    await assert.rejects(readDataset(solo), /solo\/data\.arrow: /);
    // merge refused and did not replace the corrupt file with a partial one either.
    await assert.rejects(mergeDataset(solo), /solo\/data\.arrow: /);
    assert.deepEqual(await readFile(soloData), corrupt);
    // Damage inside the column values still parses as Arrow; the sha256 in dataset_info.json catches it.
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    await writeFile(soloData, flipped);
    await assert.rejects(readDataset(solo), /solo\/data\.arrow: its sha256 differs from the one dataset_info\.json recorded/);
    // merge streams and checks each batch against data.index.jsonl, which names the batch.
    await assert.rejects(mergeDataset(solo), /solo\/data\.arrow: record batch 0 .*does not match its recorded sha256/);
    assert.deepEqual((await readdir(solo)).filter((f) => f.includes('tmp')), []);
  } finally {
    await cleanup();
  }
});
