/**
 * The accuracy-per-LM-pass ladder on stories260k: its k = 0 rung is the one-pass evaluation, the
 * best e kept per text makes accuracy non-decreasing in k, and the passes to reproduce a text agree
 * with the solver's step count from the same start under the same rule.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { solveTexts } from '../../src/solver/solve.js';
import { prepareTargets } from '../../src/texts/targets.js';
import { ladderSummary, refinementLadder, selectLadderTexts } from '../../src/encoder/ladder.js';
import { onePass } from '../../src/encoder/onepass.js';
import { Prng } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { corpusStories } from '../helpers/fixtures.js';

describe('the ladder of a subset of the texts', () => {
  // Four texts of N = 4: hits at k = 0 and k = 2, and the passes each needed.
  const texts = { steps: [0, 2], bestHits: [Float64Array.of(4, 2, 1, 3), Float64Array.of(4, 4, 2, 3)], passes: [1, 3, null, null] };
  const rule = { kind: 'normalized', size: 0.1 } as const;

  it('keeps the flagged texts in order', () => {
    assert.deepEqual(selectLadderTexts(texts, [0, 1, 1, 0]), { steps: [0, 2], bestHits: [Float64Array.of(2, 1), Float64Array.of(4, 2)], passes: [3, null] });
    assert.throws(() => selectLadderTexts(texts, [1, 1]), /2 flags for 4 texts/);
  });

  it('summarises every start over the flagged texts only', () => {
    const [all, some] = [ladderSummary(rule, [{ method: 'a', texts }], 4), ladderSummary(rule, [{ method: 'a', texts }], 4, [0, 1, 1, 0])];
    assert.deepEqual(all.methods[0].rungs.map((r) => [r.token_accuracy, r.exact_match]), [[10 / 16, 1 / 4], [13 / 16, 2 / 4]]);
    assert.deepEqual(some.methods[0].rungs.map((r) => [r.token_accuracy, r.exact_match]), [[3 / 8, 0], [6 / 8, 1 / 2]]);
    assert.deepEqual([some.methods[0].median_passes, some.methods[0].p90_passes, some.methods[0].solved_within_budget], [3, 3, 0.5]);
    assert.deepEqual([some.steps, some.rule], [[0, 2], 'normalised step: e <- e - 0.1 * g / rms(g) per text']);
  });
});

describe('refinementLadder', () => {
  let model: LoadedModel;
  const m = new Prng(7).normals(64, 0.3);
  const N = 4;
  let ids: Int32Array;
  let n: number;
  before(async () => {
    model = await loadEmbeddedModel();
    const targets = prepareTargets(corpusStories(6), model.tokenizer, N, 'corpus').targets;
    n = targets.length;
    ids = new Int32Array(n * N);
    targets.forEach((t, i) => ids.set(t.ids, i * N));
    tf.tidy(() => model.lm.forward(tf.zeros([1, N, 64]) as tf.Tensor3D)); // per-length position tables, built once
  });
  after(() => model.lm.dispose());

  it('k = 0 is the one-pass evaluation of the start', async () => {
    const e = new Prng(3).normals(n * 64, 1);
    const one = await onePass(model.lm, e, m, ids, N);
    const l = await refinementLadder(model.lm, m, ids, N, e, { steps: [0, 2] });
    assert.equal(l.rungs[0].token_accuracy, one.reduce((a, r) => a + r.accuracy, 0) / n);
    assert.equal(l.rungs[0].exact_match, one.filter((r) => r.exact).length / n);
    assert.equal(l.rungs[0].passes, 1);
  });

  it('accuracy never falls with k, the refinement reproduces texts it starts far from, and texts leave their batch once reproduced', async () => {
    const e = new Prng(4).normals(n * 64, 1);
    const before = tf.memory().numTensors;
    const l = await refinementLadder(model.lm, m, ids, N, e, { steps: [0, 1, 2, 4, 8, 16, 32, 64, 128], rule: { kind: 'adamw', adamw: { ...PAPER_ADAMW, lr: 0.05 } }, batchSize: 4 });
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    for (let i = 1; i < l.rungs.length; i++) {
      assert.ok(l.rungs[i].token_accuracy >= l.rungs[i - 1].token_accuracy, `token accuracy at k=${l.rungs[i].k}`);
      assert.ok(l.rungs[i].exact_match >= l.rungs[i - 1].exact_match, `exact match at k=${l.rungs[i].k}`);
    }
    assert.ok(l.rungs[0].exact_match < 0.5 && l.rungs[l.rungs.length - 1].exact_match === 1, JSON.stringify(l.rungs));
    assert.equal(l.solved_within_budget, 1);
    // A reproduced text leaves its batch; the others go on exactly as they would alone.
    assert.ok(new Set(l.passes_to_solve).size > 1, 'texts reproduced at different passes, so some leave early');
    assert.deepEqual(await refinementLadder(model.lm, m, ids, N, e, { steps: [0, 1, 2, 4, 8, 16, 32, 64, 128], rule: { kind: 'adamw', adamw: { ...PAPER_ADAMW, lr: 0.05 } }, batchSize: 1 }), l);
  });

  it('the passes to reproduce each text are the solver\'s steps + 1 from the same start and rule', async () => {
    const e = new Prng(5).normals(n * 64, 1);
    const adamw = { ...PAPER_ADAMW, lr: 0.05 };
    const l = await refinementLadder(model.lm, m, ids, N, e, { steps: [0, 200], rule: { kind: 'adamw', adamw } });
    const starts = new Map(Array.from({ length: n }, (_, i) => [`t${i}`, e.slice(i * 64, (i + 1) * 64)]));
    const targets = Array.from({ length: n }, (_, i) => ({ id: `t${i}`, ids: ids.subarray(i * N, (i + 1) * N) }));
    const solved = new Map<string, number>();
    await solveTexts(model.lm, targets, {
      arrangement: 'e-m', m: { kind: 'fixed', vector: m, source: 'test' }, init: { kind: 'perText', e: starts, source: 'test' }, adamw,
      schedule: { kind: 'constant' }, maxSteps: 200, batchSize: n, restarts: 1, seed: 0, stopAccuracy: 1, patience: 0,
    }, { onResults: (rs) => rs.forEach((r) => r.solved && solved.set(r.id, r.steps)) });
    assert.ok(solved.size > 0);
    targets.forEach((t, i) => assert.equal(l.passes_to_solve[i], solved.has(t.id) ? (solved.get(t.id) as number) + 1 : null, `${t.id}`));
    const sorted = [...solved.values()].map((s) => s + 1).sort((a, b) => a - b);
    assert.equal(l.p90_passes, sorted[Math.ceil(0.9 * sorted.length) - 1]);
  });
});
