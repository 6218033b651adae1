// `prototoken report` on `eval --ladder --json`: the ladder's table and its chart of accuracy per LM pass.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildReport } from '../../src/analysis/report/index.js';
import type { EvalSummary } from '../../src/encoder/eval_table.js';
import { tempDir } from '../cli/run.js';

describe('report: the accuracy-per-LM-pass ladder', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-report-ladder-'));
  });
  after(() => cleanup());

  it('draws the ladder of every start beside the one-pass table', async () => {
    const stats = { texts: 10, token_accuracy: 0.4, exact_match: 0.1, mean_first_error: 2 };
    const rungs = (a: number) => [0, 1, 4].map((k) => ({ k, passes: k + 1, token_accuracy: Math.min(1, a + 0.1 * k), exact_match: Math.min(1, a / 2 + 0.1 * k) }));
    const summary: EvalSummary = {
      checkpoint: 'checkpoints/run1', source: 'stories.jsonl', split: 'test', N: 8, texts: 10, too_short: 0, exact_copies_of_training_windows: 2,
      encoder_texts_per_sec: 100, notes: [], methods: [{ method: 'encoder (transformer)', ...stats, by_n: { '8': stats } }, { method: 'mean-e', ...stats, by_n: { '8': stats } }],
      ladder: { rule: 'AdamW lr 0.01, betas 0.9/0.9, wd 0.01 per text', steps: [0, 1, 4], methods: [
        { method: 'encoder (transformer)', rungs: rungs(0.4), median_passes: 2, p90_passes: 5, solved_within_budget: 0.6 },
        { method: 'mean-e', rungs: rungs(0.02), median_passes: null, p90_passes: null, solved_within_budget: 0 },
      ] },
    };
    const file = path.join(dir, 'eval.json');
    await writeFile(file, JSON.stringify(summary));
    const built = await buildReport([file], { now: new Date('2025-02-03T04:05:06Z') });
    const section = built.sections.find((s) => s.id === 'encoder-eval');
    assert.equal(section?.charts, 2, 'the one-pass bars and the ladder');
    assert.match(built.html, /Accuracy per LM pass/);
    assert.match(built.html, /LM forward passes/);
    assert.match(built.html, /AdamW lr 0.01/);
    assert.doesNotMatch(built.html, /copy no training window/, 'no second table without unseen_windows');
  });

  it('gives the table again on the texts that copy no training window', async () => {
    const stats = (texts: number, acc: number) => ({ texts, token_accuracy: acc, exact_match: 0, mean_first_error: 2 });
    const method = (name: string, texts: number, acc: number) => ({ method: name, ...stats(texts, acc), by_n: { '8': stats(texts, acc) } });
    const summary: EvalSummary = {
      checkpoint: 'checkpoints/run1', source: 'stories.jsonl', split: 'test', N: 8, texts: 10, too_short: 0, exact_copies_of_training_windows: 3,
      encoder_texts_per_sec: 100, notes: [], methods: [method('encoder (transformer)', 10, 0.5), method('nn-tokens', 10, 0.6)],
      unseen_windows: { texts: 7, methods: [method('encoder (transformer)', 7, 0.4375), method('nn-tokens', 7, 0.4286)] },
    };
    const file = path.join(dir, 'eval-unseen.json');
    await writeFile(file, JSON.stringify(summary));
    const built = await buildReport([file], { now: new Date('2025-02-03T04:05:06Z') });
    assert.match(built.html, /On the 7 texts that copy no training window/);
    assert.match(built.html, /0\.4375/);
  });

  it('draws the ladder again on the texts that copy no training window', async () => {
    const stats = { texts: 4, token_accuracy: 0.4, exact_match: 0.25, mean_first_error: 2 };
    const method = { method: 'encoder (transformer)', ...stats, by_n: { '8': stats } };
    const ladder = (exact: number) => ({ rule: 'AdamW lr 0.05, betas 0.9/0.9, wd 0.01 per text', steps: [0, 8], methods: [
      { method: 'encoder (transformer)', rungs: [{ k: 0, passes: 1, token_accuracy: 0.4, exact_match: exact }, { k: 8, passes: 9, token_accuracy: 0.7, exact_match: exact }], median_passes: 1, p90_passes: 1, solved_within_budget: exact },
    ] });
    const summary: EvalSummary = {
      checkpoint: 'checkpoints/run1', source: 'stories.jsonl', split: 'test', N: 8, texts: 4, too_short: 0, exact_copies_of_training_windows: 1,
      encoder_texts_per_sec: 100, notes: [], methods: [method], ladder: ladder(0.25),
      unseen_windows: { texts: 3, methods: [{ ...method, ...stats, texts: 3, exact_match: 0 }], ladder: ladder(0) },
    };
    const file = path.join(dir, 'eval-unseen-ladder.json');
    await writeFile(file, JSON.stringify(summary));
    const built = await buildReport([file], { now: new Date('2025-02-03T04:05:06Z') });
    const section = built.sections.find((s) => s.id === 'encoder-eval');
    assert.equal(section?.charts, 3, 'the one-pass bars, the ladder, and the ladder without the copies');
    assert.match(built.html, /Accuracy per LM pass, on the 3 texts that copy no training window/);
  });
});
