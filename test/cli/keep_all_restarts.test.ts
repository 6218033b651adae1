/**
 * End-to-end `solve --keep-all-restarts` with the real solver: K=2 restarts of each text are two
 * solved rows with different e; Ctrl-C and a rerun store every (text, restart) once; shards merge.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDataset, type SolutionRow } from '../../src/datasets/index.js';
import { CORPUS, assertOk, describeRun, lastJson, runCli, signalWhenReady, startCli, tempDir, waitForFirstRows } from './run.js';

const PART = 'part-00000-of-00001.arrows';
const TEXTS = 2;

/** Two restarts of the first two corpus texts at N=4, one row at a time (so rows land one by one). */
const solveArgs = (out: string, ...extra: string[]): string[] => [
  'solve', '--texts', CORPUS, '--length', '4', '--limit', String(TEXTS), '--restarts', '2', '--keep-all-restarts',
  '--batch', '1', '--max-steps', '600', '--out', out, '--backend', 'wasm', ...extra,
];

/** `text_id/restart` of every row, sorted. */
function keys(rows: readonly SolutionRow[]): string[] {
  return rows.map((r) => `${r.textId}/${r.restart}`).sort();
}

async function expectedKeys(): Promise<string[]> {
  const lines = (await readFile(CORPUS, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.slice(0, TEXTS).flatMap((l) => [0, 1].map((r) => `${(JSON.parse(l) as { id: string }).id}/${r}`)).sort();
}

let dir = '';
let cleanup: () => Promise<void> = async () => {};

describe('solve --keep-all-restarts', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('Ctrl-C after the first row, then a rerun: every (text, restart) once, two solved rows per text with different e', async () => {
    const out = join(dir, 'K');
    const run = startCli(solveArgs(out), { timeoutMs: 90_000 });
    const stopped = await signalWhenReady(run, () => waitForFirstRows(run, join(out, PART)));
    assert.equal(stopped.code, 130, describeRun(stopped));
    const partial = await readDataset(out);
    assert.ok(partial.numRows >= 1 && partial.numRows < 2 * TEXTS, `rows after Ctrl-C: ${partial.numRows}`);
    assert.equal(new Set(keys(partial.toRecords())).size, partial.numRows, 'no duplicates');

    const rerun = await runCli(solveArgs(out, '--json', '--quiet'), { timeoutMs: 90_000 });
    assertOk(rerun);
    const s = lastJson<{ rows: number; solved: number }>(rerun);
    assert.equal(s.rows, 2 * TEXTS - partial.numRows, 'the rerun solves only the missing restarts');

    const ds = await readDataset(out);
    assert.equal(ds.allRestarts, true);
    assert.deepEqual(keys(ds.toRecords()), await expectedKeys(), 'each (text, restart) exactly once');
    assert.deepEqual(ds.info.restarts, { keep: 'all', count: 2 });
    for (const id of new Set(ds.toRecords().map((r) => r.textId))) {
      const [a, b] = ds.toRecords().filter((r) => r.textId === id);
      assert.ok(a.solved && b.solved, `both restarts of ${id} solved`);
      assert.notDeepEqual([...a.e], [...b.e], `${id}: two different solutions`);
      assert.notEqual(a.seed, b.seed);
    }
    const config = JSON.parse(await readFile(join(out, 'part-00000-of-00001.config.json'), 'utf8')) as { keepAllRestarts: boolean };
    assert.equal(config.keepAllRestarts, true);

    // The same folder without the flag is another recipe: refused, nothing written.
    const plain = await runCli(solveArgs(out).filter((a) => a !== '--keep-all-restarts'));
    assert.notEqual(plain.code, 0, describeRun(plain));
    assert.match(plain.stderr, /restarts: all 2 kept \(--keep-all-restarts\) vs best kept/, describeRun(plain));
  });

  it('--workers 2 solves two shards and merges them: every (text, restart) once', async () => {
    const out = join(dir, 'W');
    const r = await runCli(solveArgs(out, '--workers', '2', '--quiet'), { timeoutMs: 120_000 });
    assertOk(r);
    const ds = await readDataset(out);
    assert.equal(ds.readFrom, 'data.arrow');
    assert.deepEqual(keys(ds.toRecords()), await expectedKeys());
    assert.ok(ds.toRecords().every((row) => row.solved));
    assert.equal(ds.info.counts.rows, 2 * TEXTS);
    assert.equal(ds.info.counts.texts, TEXTS);
  });
});
