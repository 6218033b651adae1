/**
 * Settings that do not go together are refused with the reason (issue 17, defect 9), before any
 * output is written. Each case ran to exit 0 on the old code.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CORPUS, ROOT, assertOk, assertUserError, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];
/** The shipped N = 8 encoder and its m. */
const CHECKPOINT = join(ROOT, 'checkpoints', 'stories260k-n8');
const SHIPPED_M = join(CHECKPOINT, 'best', 'm.safetensors');

describe('invalid combinations are refused with the reason', { concurrency: 2 }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  /** An N = 16 dataset with m per text (unsolved rows are rows too: a few steps do). */
  let d16 = '';

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    d16 = join(dir, 'd16');
    assertOk(await runCli(['solve', '--texts', CORPUS, '--length', '16', '--limit', '2', '--max-steps', '3', '--out', d16, ...WASM]));
  });
  after(() => cleanup());

  it('eval --dataset of an N = 16 per-text-m dataset at --window 8', async () => {
    const r = await runCli(['eval', '--checkpoint', CHECKPOINT, '--dataset', d16, '--window', '8', ...WASM]);
    assertUserError(r, /rows are N=16 targets \(their e, each with its own m, solve those 16 tokens\), but this run is at N=8 \(--window 8\)/, /Fix: run at the dataset's N \(--window 16/);
    // Without --window the encoder's own N (8) is just as wrong.
    assertUserError(await runCli(['eval', '--checkpoint', CHECKPOINT, '--dataset', d16, ...WASM]), /N=16 targets .* but this run is at N=8 \(the N the encoder was trained on\)/);
  });

  it('train --curriculum 16@100 with --window 8', async () => {
    const ck = join(dir, 'ck');
    const r = await runCli(['train', '--texts', CORPUS, '--window', '8', '--curriculum', '16@100', '--m', SHIPPED_M, '--name', 'cur', '--checkpoints-dir', ck, '--logdir', join(dir, 'runs'), '--max-steps', '1', ...WASM]);
    assertUserError(r, /--curriculum 16@100: a stage trains on the first n tokens of each window, but --window 8 windows have only 8/, /Fix: use stages with n below 8/);
    assert.equal(existsSync(join(ck, 'cur')), false, 'nothing was trained or written');
  });

  it('solve --init from an N = 16 per-text-m dataset at N = 8', async () => {
    const out = join(dir, 'd8');
    const r = await runCli(['solve', '--init', d16, '--texts', CORPUS, '--length', '8', '--limit', '2', '--max-steps', '3', '--out', out, ...WASM]);
    assertUserError(r, /--init: this dataset's e were solved for N=16 targets, each with its own m; this run solves N=8 targets/, /Fix: init from a dataset solved at N=8/);
    assert.equal(existsSync(out), false, 'nothing was written');
    // The same dataset at its own N is a fine start.
    assertOk(await runCli(['solve', '--init', d16, '--texts', CORPUS, '--length', '16', '--limit', '2', '--max-steps', '3', '--out', join(dir, 'd16b'), ...WASM]));
  });
});
