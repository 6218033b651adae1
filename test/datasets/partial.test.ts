/**
 * An interrupted or partial dataset says so everywhere (issue 17, defect 2): dataset_info.json
 * records complete / incomplete with the texts done, in progress and not started; inspect, the
 * card (and so Hugging Face `load_dataset`), export and `train --dataset` show or refuse it; the
 * texts in flight keep their solver state; a rerun completes the dataset, which then says so.
 * Rows carry their input position (`order`). On the old code the stopped run looked finished.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  datasetCompleteness, exportParquet, inspectDataset, mergeDataset, openDatasetWriter, readDataset, type Completeness, type DatasetInfo,
} from '../../src/datasets/index.js';
import { readTexts } from '../../src/texts/text_file.js';
import {
  CORPUS, ROOT, assertOk, assertUserError, describeRun, jsonLines, lastJson, re, runCli, signalWhenReady, startCli, tempDir, waitForFirstRows,
} from '../cli/run.js';
import { idOf, recordOf, testOptions } from './helpers.js';

const WASM = ['--backend', 'wasm'];
const PART = 'part-00000-of-00001.arrows';
/** 8 texts of 16 tokens, 4 at a time: the first rows land after a few seconds, with texts still queued. */
const solveArgs = (out: string): string[] => ['solve', '--texts', CORPUS, '--length', '16', '--limit', '8', '--batch', '4', '--preset', 'fast', '--out', out, ...WASM];

async function infoOf(dir: string): Promise<DatasetInfo & { completeness: Completeness }> {
  return JSON.parse(await readFile(join(dir, 'dataset_info.json'), 'utf8')) as DatasetInfo & { completeness: Completeness };
}

/** Steps per text id of a dataset. */
async function stepsOf(dir: string): Promise<Map<string, number>> {
  return new Map((await readDataset(dir)).toRecords().map((r) => [r.textId, r.steps]));
}

describe('an interrupted solve says it is partial everywhere, then a rerun completes it', { concurrency: 1 }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  let out = '';
  let whole = '';
  let inputIds: string[] = [];

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, 'D');
    whole = join(dir, 'whole');
    inputIds = (await readTexts(CORPUS)).slice(0, 8).map((t) => t.id);
  });
  after(() => cleanup());

  it('Ctrl-C: exit 130, the in-flight rows are saved, and dataset_info.json says incomplete with the counts', async () => {
    const run = startCli(solveArgs(out), { timeoutMs: 120_000 });
    const r = await signalWhenReady(run, () => waitForFirstRows(run, join(out, PART)), 'SIGINT');
    assert.equal(r.code, 130, describeRun(r));
    assert.match(r.stdout, /interrupted \(rerun the same command to resume; the \d+ row\(s\) in flight were saved and continue where they stopped\)/, describeRun(r));
    assert.match(r.stdout, /INCOMPLETE: \d+ of 8 planned texts done/);
    const c = (await infoOf(out)).completeness;
    assert.equal(c.status, 'incomplete');
    assert.equal(c.texts_planned, 8);
    assert.ok(c.texts_done >= 1 && c.texts_in_progress >= 1 && (c.texts_not_started ?? 0) >= 1, JSON.stringify(c));
    assert.equal(c.texts_done + c.texts_in_progress + (c.texts_not_started ?? 0), 8);
    assert.equal((await infoOf(out)).counts.texts, c.texts_done);
    assert.ok(existsSync(join(out, 'part-00000-of-00001.state.safetensors')), 'the solver state of the texts in flight');
    assert.ok(existsSync(join(out, 'part-00000-of-00001.plan.json')), 'the plan of the run');
  });

  it('inspect, the card and Hugging Face\'s split name show it', async () => {
    const r = await runCli(['inspect', out]);
    assertOk(r);
    assert.match(r.stdout, /complete +NO — \d+ of 8 planned texts done; \d+ in progress .*; \d+ not started/);
    assert.match(r.stdout, /solved +\d+ texts \(\d+\.\d% of the \d+ stored; \d+\.\d% of the 8 planned\)/);
    assert.doesNotMatch(r.stdout, /solved +\d+ texts \(100\.0%\),/, 'no bare 100% for a partial dataset');
    const s = lastJson<{ completeness: Completeness }>(await runCli(['inspect', out, '--json']));
    assert.equal(s.completeness.status, 'incomplete');
    const card = await readFile(join(out, 'README.md'), 'utf8');
    assert.match(card, /split: partial\n/);
    assert.doesNotMatch(card, /split: solutions/);
    assert.match(card, /> \*\*Incomplete dataset\.\*\* \d+ of 8 planned texts done/);
    assert.match(card, /- incomplete\n/);
  });

  it('export and train --dataset refuse it, naming the fix; --allow-partial takes it and the file says so', async () => {
    const parquet = join(dir, 'partial.parquet');
    const r = await runCli(['export', out, '--out', parquet]);
    assertUserError(r, re(`${out}: the dataset is incomplete, so it was not exported: `), /not exported: \d+ of 8 planned texts done/, /Fix: .*--allow-partial/);
    assert.equal(existsSync(parquet), false);
    const ok = await runCli(['export', out, '--out', parquet, '--allow-partial', '--json']);
    assertOk(ok);
    assert.equal(jsonLines<{ completeness: Completeness }>(ok)[0].completeness.status, 'incomplete');
    assert.match(ok.stderr, /warning: exported a partial dataset/);
    const t = await runCli(['train', '--dataset', out, '--window', '16', '--name', 'p', '--checkpoints-dir', join(dir, 'ck'), '--logdir', join(dir, 'runs'), '--max-steps', '1', '--quiet', ...WASM]);
    assertUserError(t, /the dataset is incomplete, so it was not trained on/, /--allow-partial/);
    assert.equal(existsSync(join(dir, 'ck', 'p')), false);
  });

  it('eval and refine on it say that their figures cover only the rows it has', async () => {
    const ck = join(ROOT, 'checkpoints', 'stories260k-n16');
    const e = await runCli(['eval', '--checkpoint', ck, '--dataset', out, '--split', 'all', '--baselines', 'random', '--json', '--quiet', ...WASM]);
    assertOk(e);
    assert.ok(lastJson<{ notes: string[] }>(e).notes.some((n) => /^the dataset is incomplete, so these figures cover only the rows it has: \d+ of 8 planned texts done/.test(n)), describeRun(e));
    const c = await runCli(['refine', '--checkpoint', ck, '--dataset', out, '--split', 'all', '--limit', '1', '--starts', 'e_hat', '--max-steps', '2', '--workers', '1', '--quiet', ...WASM]);
    assertOk(c);
    assert.match(c.stderr, /warning: the dataset is incomplete, so these figures cover only the rows it has/);
  });

  it('Hugging Face datasets refuses split="solutions" and reads split="partial" (optional: needs Python packages)', (t) => {
    const py = spawnSync('python3', [join(ROOT, 'scripts', 'check_python.py'), out], { encoding: 'utf8' });
    if (py.error) return t.skip(`python3 is not available (${py.error.message})`);
    assert.equal(py.status, 0, `${py.stdout}\n${py.stderr}`);
    assert.doesNotMatch(py.stdout, /^FAIL/m);
    if (/^SKIP +datasets/m.test(py.stdout)) t.skip('the Python package `datasets` is not installed here (pip install datasets pyarrow); the checksum checks ran');
    else assert.match(py.stdout, /split='solutions'\) refuses the incomplete dataset/);
  });

  it('the rerun continues the saved rows exactly, completes the dataset, and every surface says complete', async () => {
    const [resumed, uninterrupted] = await Promise.all([
      runCli([...solveArgs(out), '--quiet'], { timeoutMs: 180_000 }),
      runCli([...solveArgs(whole), '--quiet'], { timeoutMs: 180_000 }),
    ]);
    assertOk(resumed);
    assertOk(uninterrupted);
    const c = (await infoOf(out)).completeness;
    assert.deepEqual([c.status, c.texts_planned, c.texts_done, c.texts_in_progress, c.texts_not_started], ['complete', 8, 8, 0, 0]);
    assert.equal(existsSync(join(out, 'part-00000-of-00001.state.safetensors')), false, 'the saved state is gone once the shard finished');
    // A text stopped mid-flight took the steps it takes uninterrupted: it continued, it did not restart.
    assert.deepEqual(await stepsOf(out), await stepsOf(whole));
    const r = await runCli(['inspect', out]);
    assert.match(r.stdout, /complete +yes \(all 8 planned texts\)/);
    assert.match(await readFile(join(out, 'README.md'), 'utf8'), /split: solutions\n/);
    assertOk(await runCli(['export', out, '--out', join(dir, 'whole.parquet')]));
  });

  it('rows carry their input position: sorted by order, they are the texts in input order', async () => {
    const ds = await readDataset(out);
    const rows = ds.toRecords();
    assert.ok(ds.table.getChild('order'), 'an order column');
    assert.deepEqual([...rows].sort((a, b) => (a.order ?? 0) - (b.order ?? 0)).map((r) => r.textId), inputIds);
    assert.deepEqual(rows.map((r) => inputIds[r.order as number]), rows.map((r) => r.textId));
    assert.ok((await infoOf(out)).schema.some((c) => c.name === 'order'));
  });
});

describe('completeness from the parts\' plans', { concurrency: 2 }, () => {
  const ids = Array.from({ length: 20 }, (_, i) => idOf(i));

  it('a shard that never ran: merge refuses, --allow-incomplete records it, the last shard completes it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const shardRun = async (index: number): Promise<void> => {
        const w = await openDatasetWriter(dir, testOptions({ shard: { index, count: 2 }, plan: ids, ordered: true }));
        const todo = w.pendingTexts(ids.map((id, i) => ({ id, i })));
        for (const t of todo) await w.append([{ ...recordOf(t.i), order: t.i }]);
        await w.close();
      };
      await shardRun(0);
      await assert.rejects(mergeDataset(dir), /missing shards: part-00001-of-00002\.arrows/);
      const r = await mergeDataset(dir, { allowIncomplete: true });
      assert.equal(r.completeness?.status, 'incomplete');
      assert.deepEqual(r.completeness?.missing_shards, ['part-00001-of-00002.arrows']);
      assert.match(r.completeness?.summary ?? '', /missing shards \(their texts never ran\)/);
      await assert.rejects(exportParquet(dir, { out: join(dir, 'x.parquet') }), /the dataset is incomplete, so it was not exported/);
      await shardRun(1);
      const done = await mergeDataset(dir);
      assert.deepEqual([done.completeness?.status, done.completeness?.texts_planned, done.completeness?.texts_done], ['complete', 20, 20]);
      assert.equal((await datasetCompleteness(dir)).status, 'complete');
    } finally {
      await cleanup();
    }
  });

  it('every restart kept: a text with some of its restarts stored is in progress, not done', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const w = await openDatasetWriter(dir, testOptions({ restarts: { keep: 'all', count: 2 }, plan: ids.slice(0, 3), ordered: true }));
      await w.append([0, 1].map((r) => ({ ...recordOf(0, true, r), order: 0 })));
      await w.append([{ ...recordOf(1, true, 0), order: 1 }]);
      await w.close();
      const c = (await inspectDataset(dir)).completeness;
      assert.deepEqual([c.status, c.texts_planned, c.texts_done, c.texts_in_progress, c.texts_not_started], ['incomplete', 3, 1, 1, 1]);
    } finally {
      await cleanup();
    }
  });

  it('a dataset written without a plan (older, or by the API alone) is unknown, not refused; one from before the order column keeps its layout', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const w = await openDatasetWriter(dir, testOptions());
      assert.equal(w.ordered, false);
      await w.append([recordOf(0)]);
      await w.close();
      assert.equal((await datasetCompleteness(dir)).status, 'unknown');
      assert.equal((await exportParquet(dir, { out: join(dir, 'x.parquet') })).rows, 1);
      // Resumed by a run that records order and a plan: the layout stays (no order column), the plan counts.
      const again = await openDatasetWriter(dir, testOptions({ ordered: true, plan: [idOf(0), idOf(1)] }));
      assert.equal(again.ordered, false);
      await again.append([recordOf(1)]);
      await again.close();
      const ds = await readDataset(dir);
      assert.equal(ds.table.getChild('order'), null);
      assert.equal(ds.info.completeness?.status, 'complete');
      // An ordered dataset needs every row's position.
      const { dir: d2, cleanup: c2 } = await tempDir();
      try {
        const o = await openDatasetWriter(d2, testOptions({ ordered: true }));
        await assert.rejects(o.append([recordOf(0)]), /has no order, but this dataset records each row's input position/);
        await o.close();
      } finally {
        await c2();
      }
    } finally {
      await cleanup();
    }
  });
});
