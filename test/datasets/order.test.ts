/**
 * Rows of a finished dataset in input order (issue 17, deliver 8): rows are stored as texts finish,
 * so each carries its input position in an `order` column; sorting by it gives the input order.
 * Datasets from before the column keep their layout when resumed. On the old code there was no
 * way to recover the input order of a dataset's rows.
 */
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mergeDataset, openDatasetWriter, readDataset } from '../../src/datasets/index.js';
import { readTexts } from '../../src/texts/text_file.js';
import { CORPUS, assertOk, runCli } from '../cli/run.js';
import { idOf, recordOf, tempDir, testOptions } from './helpers.js';

describe('the order column', { concurrency: 2 }, () => {
  it('solve stores each row\'s input position: texts and windows sorted by order are the input', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const texts = join(dir, 'D');
      const windows = join(dir, 'W');
      const [a, b] = await Promise.all([
        runCli(['solve', '--texts', CORPUS, '--length', '16', '--limit', '4', '--batch', '2', '--preset', 'fast', '--out', texts, '--backend', 'wasm', '--quiet']),
        runCli(['solve', '--texts', CORPUS, '--window', '4', '--windows-per-text', '2', '--limit', '2', '--batch', '2', '--preset', 'fast', '--out', windows, '--backend', 'wasm', '--quiet']),
      ]);
      assertOk(a);
      assertOk(b);
      const input = (await readTexts(CORPUS)).slice(0, 4).map((t) => t.id);
      const rows = (await readDataset(texts)).toRecords();
      assert.deepEqual([...rows].sort((x, y) => (x.order as number) - (y.order as number)).map((r) => r.textId), input);
      for (const r of rows) assert.equal(input[r.order as number], r.textId);
      const w = (await readDataset(windows)).toRecords().sort((x, y) => (x.order as number) - (y.order as number));
      assert.deepEqual(w.map((r) => r.textId), input.slice(0, 2).flatMap((id) => [`${id}#0`, `${id}#1`]));
      assert.deepEqual(w.map((r) => r.order), [0, 1, 2, 3]);
    } finally {
      await cleanup();
    }
  });

  it('an ordered dataset needs every row\'s position; the column survives merge and is described', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const w = await openDatasetWriter(dir, testOptions({ ordered: true }));
      assert.equal(w.ordered, true);
      await assert.rejects(w.append([recordOf(0)]), /has no order, but this dataset records each row's input position/);
      // Finishing order 2, 0, 1.
      for (const i of [2, 0, 1]) await w.append([{ ...recordOf(i), order: i }]);
      await w.close();
      const ds = await readDataset(dir);
      assert.deepEqual(ds.toRecords().map((r) => [r.textId, r.order]), [[idOf(2), 2], [idOf(0), 0], [idOf(1), 1]]);
      assert.ok(ds.info.schema.some((c) => c.name === 'order' && /input/.test(c.description)));
    } finally {
      await cleanup();
    }
  });

  it('a dataset from before the column keeps its layout when resumed; parts of two layouts are refused together', async () => {
    const { dir, cleanup } = await tempDir();
    const other = await tempDir();
    try {
      const old = await openDatasetWriter(dir, testOptions({ shard: { index: 0, count: 2 } }));
      await old.append([recordOf(0)]);
      await old.close();
      const resumed = await openDatasetWriter(dir, testOptions({ shard: { index: 0, count: 2 }, ordered: true }));
      assert.equal(resumed.ordered, false, 'the dataset decides');
      await resumed.close();
      // A part written elsewhere with the column, copied in beside it.
      const ordered = await openDatasetWriter(other.dir, testOptions({ shard: { index: 1, count: 2 }, ordered: true }));
      const mine = ordered.pendingTexts(Array.from({ length: 10 }, (_, i) => ({ id: idOf(i), i })))[0];
      await ordered.append([{ ...recordOf(mine.i), order: mine.i }]);
      await ordered.close();
      for (const f of ['part-00001-of-00002.arrows', 'part-00001-of-00002.index.jsonl']) await copyFile(join(other.dir, f), join(dir, f));
      await assert.rejects(mergeDataset(dir), /order column: absent vs present/);
    } finally {
      await cleanup();
      await other.cleanup();
    }
  });
});
