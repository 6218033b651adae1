/**
 * End-to-end crash safety with the real solver: SIGKILL mid-run and Ctrl-C (SIGINT) mid-run both
 * leave a readable dataset, and rerunning the same command completes it with every text once.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDataset } from '../../src/datasets/index.js';
import {
  CORPUS, assertOk, describeRun, lastJson, runCli, signalWhenReady, startCli, tempDir, waitForFirstRows,
} from './run.js';

const TEXTS = 10;
const PART = 'part-00000-of-00001.arrows';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

/** Texts of the Ctrl-C run (fewer: its two runs must fit beside the SIGKILL ones). */
const TEXTS_INT = 6;

const solveArgs = (out: string, limit: number, ...extra: string[]): string[] => [
  'solve', '--texts', CORPUS, '--length', '6', '--limit', String(limit), '--batch', '2', '--out', out, '--max-steps', '600',
  '--backend', 'wasm', ...extra,
];

async function corpusIds(k: number): Promise<string[]> {
  const lines = (await readFile(CORPUS, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.slice(0, k).map((l) => (JSON.parse(l) as { id: string }).id);
}

/** The dataset has every one of the first `total` corpus texts exactly once. */
async function assertComplete(out: string, total: number): Promise<void> {
  const ds = await readDataset(out);
  const ids = ds.toRecords().map((r) => r.textId);
  assert.equal(ds.numRows, total, `rows: ${ids.join(', ')}`);
  assert.deepEqual([...ids].sort(), [...(await corpusIds(total))].sort(), 'each text exactly once');
  for (const r of ds.toRecords()) assert.equal(r.nTokens, 6);
}

interface InspectJson {
  rows: number;
  texts: number;
}

describe('crash safety of solve', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('SIGKILL after the first rows: the dataset reads, and a rerun completes it with every text once', async () => {
    const D2 = join(dir, 'D2');
    const run = startCli(solveArgs(D2, TEXTS, '--quiet', '--json'), { timeoutMs: 90_000 });
    const killed = await signalWhenReady(run, () => waitForFirstRows(run, join(D2, PART)), 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL', describeRun(killed));

    const ins = await runCli(['inspect', D2, '--json']);
    assertOk(ins);
    const partial = lastJson<InspectJson>(ins);
    assert.ok(partial.rows >= 1 && partial.rows < TEXTS, `rows after the kill: ${partial.rows}`);
    assert.equal(partial.texts, partial.rows, 'no duplicates');

    const rerun = await runCli(solveArgs(D2, TEXTS, '--quiet', '--json'), { timeoutMs: 90_000 });
    assertOk(rerun);
    const s = lastJson<{ texts: number; already_done: number; interrupted: boolean }>(rerun);
    assert.equal(s.already_done, partial.rows, describeRun(rerun));
    assert.equal(s.texts, TEXTS - partial.rows);
    assert.equal(s.interrupted, false);

    const done = await runCli(['inspect', D2, '--json']);
    assertOk(done);
    const full = lastJson<InspectJson>(done);
    assert.equal(full.rows, TEXTS);
    assert.equal(full.texts, TEXTS);
    await assertComplete(D2, TEXTS);
  });

  it('Ctrl-C (SIGINT) after the first rows: exit 130, says how to resume; a rerun completes it', async () => {
    const D3 = join(dir, 'D3');
    const run = startCli(solveArgs(D3, TEXTS_INT), { timeoutMs: 90_000 });
    const stopped = await signalWhenReady(run, () => waitForFirstRows(run, join(D3, PART)));
    assert.equal(stopped.timedOut, false, describeRun(stopped));
    assert.equal(stopped.code, 130, describeRun(stopped));
    assert.match(stopped.stdout + stopped.stderr, /resume/, describeRun(stopped));
    assert.doesNotMatch(stopped.stderr, /error/i, describeRun(stopped));

    const ds = await readDataset(D3);
    assert.ok(ds.numRows >= 1 && ds.numRows < TEXTS_INT, `rows after Ctrl-C: ${ds.numRows}`);
    assert.equal(new Set(ds.toRecords().map((r) => r.textId)).size, ds.numRows, 'no duplicates');

    const rerun = await runCli(solveArgs(D3, TEXTS_INT, '--quiet', '--json'), { timeoutMs: 90_000 });
    assertOk(rerun);
    const s = lastJson<{ texts: number; already_done: number }>(rerun);
    assert.equal(s.already_done, ds.numRows);
    assert.equal(s.texts, TEXTS_INT - ds.numRows);
    await assertComplete(D3, TEXTS_INT);
  });
});
