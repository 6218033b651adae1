/**
 * eval --ladder, refine and generate-corpus on several threads (--workers K) give exactly what one
 * thread gives: every text's work is its own, only where it runs changes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CORPUS, ROOT, assertOk, lastJson, runCli, tempDir } from './run.js';

const common = ['--backend', 'wasm', '--quiet'];
const CKPT = join(ROOT, 'checkpoints', 'stories260k-n8');

describe('--workers: the same results on several threads', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-threads-'));
  });
  after(async () => cleanup());

  it('eval --ladder', async () => {
    const ladder = async (w: string): Promise<unknown> => {
      const r = await runCli(['eval', '--checkpoint', CKPT, '--texts', CORPUS, '--window', '8', '--windows-per-text', '1', '--limit', '10', '--baselines', 'mean-e', '--ladder', '0,1,3', '--workers', w, '--json', ...common], { timeoutMs: 120_000 });
      assertOk(r);
      return lastJson<{ ladder: unknown }>(r).ladder;
    };
    assert.deepEqual(await ladder('2'), await ladder('1'));
  });

  it('refine', async () => {
    const steps = async (w: string): Promise<number[]> => {
      const r = await runCli(['refine', '--checkpoint', CKPT, '--texts', CORPUS, '--window', '8', '--windows-per-text', '1', '--limit', '6', '--preset', 'fast', '--max-steps', '150', '--starts', 'init,best', '--workers', w, '--json', ...common], { timeoutMs: 120_000 });
      assertOk(r);
      return lastJson<{ starts: { mean_steps: number; solved: number }[] }>(r).starts.flatMap((s) => [s.mean_steps, s.solved]);
    };
    assert.deepEqual(await steps('3'), await steps('1'));
  });

  it('generate-corpus', async () => {
    for (const w of ['1', '2']) assertOk(await runCli(['generate-corpus', '--count', '20', '--max-tokens', '24', '--batch', '4', '--seed', '5', '--workers', w, '--out', join(dir, `g${w}.jsonl`), ...common], { timeoutMs: 120_000 }));
    const [a, b] = await Promise.all([readFile(join(dir, 'g1.jsonl')), readFile(join(dir, 'g2.jsonl'))]);
    assert.ok(a.equals(b), 'byte-identical files');
    assert.equal(a.toString().trim().split('\n').length, 20);
  });
});
