import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  exportParquet, inspectDataset, mergeDataset, openDatasetWriter, openSolutionLoader, readDataset, scanDataset, verifyDataset,
  type LoaderBatch, type SolutionDataset,
} from '../../src/datasets/index.js';
import { readIndex } from '../../src/datasets/checksums.js';
import { idOf, indexOf, recordOf, tempDir, testOptions } from './helpers.js';

const TOTAL = 40;
const texts = Array.from({ length: TOTAL }, (_, i) => ({ id: idOf(i), i }));

/** The synthetic row of text i with exactly N = 5 target tokens, as a solve run stores. */
function rowOf(i: number): ReturnType<typeof recordOf> {
  return { ...recordOf(i), tokenIds: Int32Array.from({ length: 5 }, (_, j) => i * 10 + j) };
}

/** Every shard of `count`, each text in its own tiny batch of 1-3 rows. */
async function writeShards(dir: string, count: number): Promise<void> {
  for (let s = 0; s < count; s++) {
    const w = await openDatasetWriter(dir, testOptions({ shard: { index: s, count }, mergeOnClose: false }));
    const todo = w.pendingTexts(texts);
    for (let k = 0; k < todo.length; k += 1 + (k % 3)) await w.append(todo.slice(k, k + 1 + (k % 3)).map((t) => rowOf(t.i)));
    await w.close();
  }
}

function rowSet(ds: SolutionDataset): string[] {
  return ds.toRecords().map((r) => JSON.stringify([r.textId, [...r.tokenIds], r.solved, r.seed, [...r.e], [...(r.m ?? [])]])).sort();
}

/** Flip one byte of `file` at `at`. */
async function flip(file: string, at: number): Promise<void> {
  const b = await readFile(file);
  b[at] ^= 0x5a;
  await writeFile(file, b);
}

test('streaming merge of many small parts gives the rows of the in-memory combine, in large or verbatim batches', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShards(dir, 8);
    const unmerged = rowSet(await readDataset(dir));
    assert.equal(unmerged.length, TOTAL);
    const r = await mergeDataset(dir);
    assert.equal(r.rows, TOTAL);
    assert.deepEqual(r.unverified, []);
    const merged = await readDataset(dir);
    assert.equal(merged.readFrom, 'data.arrow');
    assert.equal(merged.table.batches.length, 1, 'small batches are coalesced');
    assert.deepEqual(rowSet(merged), unmerged);
    // A 1-byte target: every input batch is large enough to be copied verbatim, checksum and all.
    await mergeDataset(dir, { batchBytes: 1 });
    const verbatim = await readDataset(dir);
    assert.ok(verbatim.table.batches.length > 8);
    assert.deepEqual(rowSet(verbatim), unmerged);
    const index = await readIndex(path.join(dir, 'data.arrow'));
    assert.equal(index?.entries.filter((e) => e.kind === 'batch').length, verbatim.table.batches.length);
    assert.equal((await verifyDataset(dir)).ok, true);
    const summary = await inspectDataset(dir, { head: 3 });
    assert.equal(summary.rows, TOTAL);
    assert.equal(summary.head.length, 3);
  } finally {
    await cleanup();
  }
});

test('a flipped byte in a part or in data.arrow is reported with file, batch and offset', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShards(dir, 2);
    await mergeDataset(dir, { batchBytes: 1 });
    const clean = await verifyDataset(dir);
    assert.equal(clean.ok, true);
    assert.deepEqual(clean.files.map((f) => path.basename(f.file)), ['part-00000-of-00002.arrows', 'part-00001-of-00002.arrows', 'data.arrow']);

    const part = path.join(dir, 'part-00001-of-00002.arrows');
    const partIndex = await readIndex(part);
    const target = partIndex!.entries.filter((e) => e.kind === 'batch')[2];
    await flip(part, target.offset + target.length - 20); // inside the body: still parses as Arrow
    const bad = await verifyDataset(dir);
    assert.equal(bad.ok, false);
    const problems = bad.files.flatMap((f) => f.problems).join('\n');
    assert.match(problems, new RegExp(`part-00001-of-00002\\.arrows: record batch 2 \\(bytes ${target.offset}\\.\\.\\d+, \\d+ rows\\) does not match its recorded sha256: the file is damaged at or after byte offset ${target.offset}`));
    await assert.rejects(mergeDataset(dir), /part-00001-of-00002\.arrows: record batch 2 .*does not match its recorded sha256/);
    // The merge was refused, so data.arrow (current: the damage is not in the part's stamped tail) still reads.
    assert.equal((await readDataset(dir)).readFrom, 'data.arrow');
    // --no-verify merges past it.
    assert.equal((await mergeDataset(dir, { verify: false, batchBytes: 1 })).rows, TOTAL);
    await assert.rejects(mergeDataset(dir), /record batch 2/);
    await flip(part, target.offset + target.length - 20);

    const data = path.join(dir, 'data.arrow');
    const dataIndex = await readIndex(data);
    const b1 = dataIndex!.entries.filter((e) => e.kind === 'batch')[1];
    await flip(data, b1.offset + b1.length - 8);
    const damaged = await verifyDataset(dir);
    const dataVerdict = damaged.files.find((f) => f.file === data)!;
    assert.match(dataVerdict.problems.join('\n'), new RegExp(`data\\.arrow: record batch 1 \\(bytes ${b1.offset}\\.\\.`));
    assert.match(dataVerdict.problems.join('\n'), /sha256 [0-9a-f]{64} differs from [0-9a-f]{64} recorded in dataset_info\.json/);
    const loader = await openSolutionLoader(dir, { batchRows: 4, seed: 1, solvedOnly: false });
    await assert.rejects(async () => {
      for (let i = 0; i < 20; i++) await loader.next();
    }, /data\.arrow: record batch 1 .*does not match its recorded sha256/);
    await loader.close();

    // The command names the damage and exits non-zero.
    const main = path.resolve('dist/src/cli/main.js');
    const run = promisify(execFile);
    await assert.rejects(run(process.execPath, [main, 'verify', dir]), (err: { code: number; stdout: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stdout, /DAMAGED +\S*data\.arrow/);
      return true;
    });
  } finally {
    await cleanup();
  }
});

test('a checksum line whose batch never landed is a torn tail: ignored, then cut and re-solved on resume', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    await w.append([0, 1].map((i) => recordOf(i)));
    await w.append([2, 3].map((i) => recordOf(i)));
    await w.close();
    const part = path.join(dir, 'part-00000-of-00001.arrows');
    const indexFile = path.join(dir, 'part-00000-of-00001.index.jsonl');
    // As if killed after the second batch's line was fsync'd but while its bytes were being written.
    const last = (await readIndex(part))!.entries.filter((e) => e.kind === 'batch')[1];
    const fullSize = (await stat(part)).size;
    await truncate(part, last.offset + 50);
    const ds = await readDataset(dir);
    assert.equal(ds.numRows, 2);
    assert.match(ds.warnings.join('\n'), /ends in an incomplete batch/);
    const w2 = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    assert.equal(w2.resumed.tornBytesCut > 0, true);
    assert.deepEqual(w2.pendingTexts(texts.slice(0, 4)).map((t) => t.i), [2, 3]);
    await w2.append([2, 3].map((i) => recordOf(i)));
    await w2.close();
    assert.equal((await stat(part)).size, fullSize, 'the re-solved batch took the place of the torn one');
    assert.equal((await verifyDataset(dir)).ok, true);
    assert.equal((await readDataset(dir)).numRows, 4);

    // A part from before checksums (no index) still reads, with a warning, and resumes with one.
    await rm(indexFile);
    const legacy = await readDataset(dir);
    assert.equal(legacy.numRows, 4);
    assert.match(legacy.warnings.join('\n'), /no checksum index/);
    const w3 = await openDatasetWriter(dir, testOptions({ mergeOnClose: false }));
    await w3.append([recordOf(4)]);
    await w3.close();
    assert.ok((await readdir(dir)).includes('part-00000-of-00001.index.jsonl'));
    const v = await verifyDataset(dir);
    assert.equal(v.ok, true);
    assert.equal(v.files[0].rows, 5);
    await appendFile(part, Buffer.alloc(3)); // junk after the end marker is damage, not a tail
    assert.equal((await verifyDataset(dir)).ok, false);
  } finally {
    await cleanup();
  }
});

async function take(dir: string, n: number, opts: Parameters<typeof openSolutionLoader>[1], from?: { epoch: number; position: number }): Promise<{ batches: LoaderBatch[]; state: { epoch: number; position: number } }> {
  const loader = await openSolutionLoader(dir, opts, from);
  const batches: LoaderBatch[] = [];
  for (let i = 0; i < n; i++) batches.push(await loader.next());
  const state = loader.state();
  await loader.close();
  return { batches, state };
}

test('the loader order is seeded, covers every row once per epoch, and resumes exactly', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShards(dir, 3);
    await mergeDataset(dir, { batchBytes: 1 });
    // A window of about two batches of vectors, so rows mix across windows as well as within.
    const opts = { batchRows: 7, seed: 42, solvedOnly: false, shuffleWindowBytes: 2 * 3 * 8 * 4 };
    const a = await take(dir, 15, opts);
    const b = await take(dir, 15, opts);
    assert.deepEqual(a.batches.map((x) => x.textIds), b.batches.map((x) => x.textIds));
    const epoch0 = a.batches.slice(0, 6).flatMap((x) => x.textIds); // 40 rows = 5 x 7 + 5
    assert.deepEqual(a.batches.slice(0, 6).map((x) => x.textIds.length), [7, 7, 7, 7, 7, 5]);
    assert.deepEqual([...epoch0].sort(), texts.map((t) => t.id).sort());
    const epoch1 = a.batches.slice(6, 12).flatMap((x) => x.textIds);
    assert.notDeepEqual(epoch1, epoch0, 'each epoch is reshuffled');
    assert.notDeepEqual((await take(dir, 6, { ...opts, seed: 43 })).batches.flatMap((x) => x.textIds), epoch0);
    for (const batch of a.batches) {
      batch.textIds.forEach((id, k) => {
        const want = rowOf(indexOf(id));
        assert.deepEqual([...batch.e.subarray(k * 8, (k + 1) * 8)], [...want.e]);
        assert.deepEqual([...batch.tokenIds.subarray(k * 5, (k + 1) * 5)], [...want.tokenIds]);
      });
    }
    // Resume from every point, including an epoch boundary, and continue exactly.
    for (const stop of [1, 4, 6, 9]) {
      const first = await take(dir, stop, opts);
      const rest = await take(dir, 15 - stop, opts, JSON.parse(JSON.stringify(first.state)) as { epoch: number; position: number });
      assert.deepEqual([...first.batches, ...rest.batches].map((x) => x.textIds), a.batches.map((x) => x.textIds), `resume after ${stop}`);
      assert.deepEqual(rest.batches.map((x) => [...x.e]), a.batches.slice(stop).map((x) => [...x.e]));
    }
    // The unmerged parts (no split counts in play, duplicates possible) give the same row set per epoch.
    const solved = await take(dir, 1, { batchRows: 100, seed: 1 });
    assert.deepEqual(solved.batches[0].textIds.map(indexOf).every((i) => i % 2 === 0), true, 'solvedOnly by default');
    const train = await openSolutionLoader(dir, { batchRows: 100, seed: 1, split: 'train', solvedOnly: false });
    const scan = await scanDataset(dir);
    let trainRows = 0;
    for await (const s of scan.batches()) trainRows += s.columns.split.filter((x) => x === 'train').length;
    await scan.close();
    assert.equal(train.numRows, trainRows);
    await train.close();
  } finally {
    await cleanup();
  }
});

test('the loader reads unmerged parts too, dropping duplicates like merge', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShards(dir, 2);
    const loader = await openSolutionLoader(dir, { batchRows: 64, seed: 3, solvedOnly: false });
    assert.equal(loader.numRows, TOTAL);
    const ids = (await loader.next()).textIds;
    assert.deepEqual([...ids].sort(), texts.map((t) => t.id).sort());
    await loader.close();
  } finally {
    await cleanup();
  }
});

test('export --format parquet writes every row to a Parquet file', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeShards(dir, 2);
    await mergeDataset(dir);
    const r = await exportParquet(dir);
    assert.equal(r.rows, TOTAL);
    const bytes = await readFile(r.file);
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
    assert.equal(bytes.subarray(bytes.length - 4).toString(), 'PAR1');
    const { readParquet } = await import('parquet-wasm');
    const table = readParquet(new Uint8Array(bytes));
    assert.equal(table.numBatches > 0, true);
    const { tableFromIPC } = await import('apache-arrow');
    const back = tableFromIPC(table.intoIPCStream());
    assert.equal(back.numRows, TOTAL);
    assert.equal(String(back.schema.fields.find((f) => f.name === 'e')?.type), 'FixedSizeList[8]<Float32>');
  } finally {
    await cleanup();
  }
});
