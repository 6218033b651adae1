/** The evaluation table: numbers on hand-made rows, and real one-pass runs on stories260k with solved e. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { solveTexts } from '../../src/solver/solve.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveResult, SolverOptions } from '../../src/solver/types.js';
import { evalTable, evaluateMethods, renderEvalTable } from '../../src/encoder/eval_table.js';
import { baselineE, exactCopies, meanE } from '../../src/encoder/baselines.js';
import type { OnePassRow, ReferenceSet } from '../../src/encoder/types.js';
import { Prng } from '../../src/util/prng.js';
import { useBackend } from '../helpers/backend.js';
import { fixtureDir, corpusStories } from '../helpers/fixtures.js';

const row = (N: number, firstError: number, right: number): OnePassRow => ({ N, firstError, accuracy: right / N, exact: right === N });

describe('evalTable on hand-made rows', () => {
  const a = [row(4, 4, 4), row(4, 1, 3), row(8, 0, 2)];
  const b = [row(4, 0, 0), row(4, 4, 4), row(8, 8, 8)];

  it('aggregates overall and by N', () => {
    const t = evalTable([{ name: 'a', rows: a }, { name: 'b', rows: b }]);
    const [ma, mb] = t.methods;
    assert.equal(ma.method, 'a');
    assert.equal(ma.texts, 3);
    assert.ok(Math.abs(ma.token_accuracy - (1 + 0.75 + 0.25) / 3) < 1e-12);
    assert.ok(Math.abs(ma.exact_match - 1 / 3) < 1e-12);
    assert.ok(Math.abs(ma.mean_first_error - 5 / 3) < 1e-12);
    assert.deepEqual(Object.keys(ma.by_n), ['4', '8']);
    assert.deepEqual(ma.by_n['4'], { texts: 2, token_accuracy: 0.875, exact_match: 0.5, mean_first_error: 2.5 });
    assert.deepEqual(ma.by_n['8'], { texts: 1, token_accuracy: 0.25, exact_match: 0, mean_first_error: 0 });
    assert.deepEqual(mb.by_n['4'], { texts: 2, token_accuracy: 0.5, exact_match: 0.5, mean_first_error: 2 });
    assert.equal(mb.exact_match, 2 / 3);
    assert.deepEqual(JSON.parse(JSON.stringify(t)), t, 'the table is its own JSON shape');
  });

  it('renders methods as aligned rows, with a by-length block for mixed N', () => {
    const text = renderEvalTable(evalTable([{ name: 'a', rows: a }, { name: 'longer-name', rows: b }]));
    const lines = text.split('\n');
    assert.match(lines[0], /method\s+texts\s+token acc\s+exact\s+first error/);
    assert.match(lines[1], /^ {2}a\s+3\s+0\.6667\s+0\.3333\s+1\.67$/);
    assert.equal(lines[1].length, lines[2].length, 'columns are aligned');
    assert.ok(lines.includes('  by length:'));
    assert.match(text, /longer-name\s+8\s+1\s+1\.0000\s+1\.0000\s+8\.00/);
    assert.ok(!renderEvalTable(evalTable([{ name: 'a', rows: a.slice(0, 2) }])).includes('by length'));
  });

  it('refuses methods over different texts', () => {
    assert.throws(() => evalTable([{ name: 'a', rows: a }, { name: 'b', rows: b.slice(1) }]), /"b" does not cover the same texts/);
    assert.throws(() => evalTable([{ name: 'a', rows: a }, { name: 'b', rows: [b[0], b[2], b[1]] }]), /does not cover/);
  });
});

describe('evaluateMethods on stories260k', () => {
  let model: LoadedModel;
  const stories = corpusStories(3);
  // A small fixed m with which these short texts solve in about a hundred steps.
  const m = new Prng(7).normals(64, 0.3);
  const solver: SolverOptions = {
    arrangement: 'e-m',
    m: { kind: 'fixed', vector: m, source: 'test' },
    init: { kind: 'scaled', scale: 0.05 },
    adamw: { ...PAPER_ADAMW, lr: 0.02 },
    schedule: { kind: 'constant' },
    maxSteps: 300,
    batchSize: 8,
    restarts: 1,
    seed: 0,
    stopAccuracy: 1,
    patience: 0,
  };
  const solved = new Map<number, { ids: Int32Array[]; results: SolveResult[] }>();

  before(async () => {
    await useBackend('wasm');
    model = await loadModelDir(fixtureDir('stories260k'));
    for (const [N, count] of [[4, 3], [5, 3], [6, 2]]) {
      const { targets } = prepareTargets(stories.slice(0, count), model.tokenizer, N, 'corpus');
      const results: SolveResult[] = [];
      await solveTexts(model.lm, targets, solver, { onResults: (r) => void results.push(...r) });
      results.sort((x, y) => x.targetIndex - y.targetIndex);
      solved.set(N, { ids: targets.map((t) => t.ids as Int32Array), results });
    }
  });
  after(() => model.lm.dispose());

  it('solved e is an upper bound: accuracy 1 and exact 1 at every N; random is near 0; no tensor leaks', async () => {
    for (const [N, s] of solved) assert.ok(s.results.every((r) => r.solved), `every N=${N} text solved`);
    // Interleave lengths so the grouping by N and the return to text order are exercised.
    const texts: { ids: Int32Array }[] = [];
    const upper: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      for (const N of [6, 4, 5]) {
        const s = solved.get(N)!;
        if (i >= s.results.length) continue;
        texts.push({ ids: s.ids[i] });
        upper.push(s.results[i].e);
      }
    }
    const eUpper = new Float32Array(upper.length * 64);
    upper.forEach((e, i) => eUpper.set(e, i * 64));
    const before = tf.memory().numTensors;
    const { table, rows } = await evaluateMethods(model.lm, m, texts, [
      { name: 'upper', eHat: eUpper },
      { name: 'random', eHat: new Prng(3).normals(texts.length * 64) },
    ], { batchSize: 2 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    const [up, rnd] = table.methods;
    assert.equal(up.texts, 8);
    assert.equal(up.token_accuracy, 1);
    assert.equal(up.exact_match, 1);
    assert.deepEqual(Object.keys(up.by_n), ['4', '5', '6']);
    for (const s of Object.values(up.by_n)) assert.equal(s.exact_match, 1);
    assert.equal(up.by_n['6'].texts, 2);
    assert.deepEqual(rows[0].rows.map((r) => r.N), texts.map((t) => t.ids.length), 'rows come back in text order');
    assert.ok(rnd.token_accuracy < 0.25, `random e reconstructs almost nothing (${rnd.token_accuracy})`);
    assert.equal(rnd.exact_match, 0);
  });

  it('baselines through the table: a leaked query finds its own e by nn-tokens; mean-e is worse', async () => {
    const s = solved.get(4)!;
    const ids = Int32Array.from(s.ids.flatMap((t) => Array.from(t)));
    const e = new Float32Array(s.results.length * 64);
    s.results.forEach((r, i) => e.set(r.e, i * 64));
    const ref: ReferenceSet = { N: 4, d: 64, textIds: s.results.map((r) => r.id), ids, e };
    assert.equal(exactCopies(ref, ids), 3);
    const texts = s.ids.map((t) => ({ ids: t }));
    const { table } = await evaluateMethods(model.lm, m, texts, [
      { name: 'nn-tokens', eHat: baselineE('nn-tokens', ref, ids) },
      { name: 'mean-e', eHat: baselineE('mean-e', ref, ids) },
    ]);
    assert.deepEqual(baselineE('mean-e', ref, ids).subarray(0, 64), meanE(ref));
    assert.equal(table.methods[0].exact_match, 1);
    assert.ok(table.methods[1].exact_match < 1, 'one mean vector does not emit three different texts');
  });

  it('rejects e of the wrong size', async () => {
    await assert.rejects(evaluateMethods(model.lm, m, [{ ids: Int32Array.from([1, 2, 3]) }], [{ name: 'x', eHat: new Float32Array(63) }]), /"x" has 63 values for 1 texts/);
  });
});
