/**
 * eval --ladder, refine and generate-corpus on several threads (--workers K) give exactly what one
 * thread gives: every text's work is its own, only where it runs changes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvalSummary } from '../../src/encoder/eval_table.js';
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

  it('eval --ladder, and its ladder on the texts that copy no training window', async () => {
    const ladder = async (w: string): Promise<EvalSummary> => {
      // Test-split openings: most copy a training window, some do not, so both ladders are there.
      const r = await runCli(['eval', '--checkpoint', CKPT, '--texts', CORPUS, '--split', 'test', '--window', '8', '--windows-per-text', '1', '--limit', '10', '--baselines', 'mean-e', '--ladder', '0,1,3', '--workers', w, '--json', ...common], { timeoutMs: 120_000 });
      assertOk(r);
      return lastJson<EvalSummary>(r);
    };
    const [two, one] = [await ladder('2'), await ladder('1')];
    assert.deepEqual([two.ladder, two.unseen_windows], [one.ladder, one.unseen_windows]);
    const unseen = one.unseen_windows;
    assert.ok(unseen?.ladder && unseen.texts > 0 && unseen.texts < one.texts, JSON.stringify(unseen));
    // Its k = 0 rung is the one-pass table on the same texts.
    unseen.ladder.methods.forEach((m, i) => {
      assert.equal(m.method, unseen.methods[i].method);
      assert.ok(Math.abs(m.rungs[0].token_accuracy - unseen.methods[i].token_accuracy) < 1e-12, m.method);
      assert.equal(m.rungs[0].exact_match, unseen.methods[i].exact_match);
    });
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
