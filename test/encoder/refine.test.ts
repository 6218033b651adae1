/** refine: the same texts solved from several starts on stories260k, and the report's arithmetic. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveResult, SolverOptions, SolveTarget } from '../../src/solver/types.js';
import { refineStarts, renderRefineReport, startStats, withRatios } from '../../src/encoder/refine.js';
import { Prng } from '../../src/util/prng.js';
import { useBackend } from '../helpers/backend.js';
import { fixtureDir, corpusStories } from '../helpers/fixtures.js';

const result = (steps: number, solved: boolean): SolveResult => ({
  id: 'x', targetIndex: 0, restart: 0, seed: 0, e: new Float32Array(0), m: null, steps, accuracy: solved ? 1 : 0.5, cTokens: 0, prefixLen: 0, loss: 0, seconds: 0, solved,
});

describe('startStats and withRatios', () => {
  it('counts unsolved texts at the budget and takes ratios against the first two starts', () => {
    const first = startStats('normal', [result(40, true), result(60, true), result(10, false)], 100, 2);
    assert.equal(first.solved, 2);
    assert.equal(first.median_steps, 60);
    assert.equal(first.mean_steps, 200 / 3);
    const alone = withRatios([first]);
    assert.equal(alone[0].median_ratio_vs_first, 1);
    assert.equal(alone[0].median_ratio_vs_second, null);
    const second = startStats('constant', [result(30, true), result(20, true), result(50, true)], 100, 1);
    const third = startStats('e_hat', [result(0, true), result(15, true), result(3, true)], 100, 1);
    const [r1, r2, r3] = withRatios([first, second, third]);
    assert.equal(r1.median_ratio_vs_second, 2);
    assert.equal(r2.median_ratio_vs_first, 0.5);
    assert.equal(r2.mean_ratio_vs_first, (100 / 3) / (200 / 3));
    assert.equal(r2.median_ratio_vs_second, 1);
    assert.equal(r3.median_ratio_vs_first, 3 / 60);
    assert.equal(r3.median_ratio_vs_second, 0.1);
    assert.equal(withRatios([startStats('solved', [result(0, true)], 100, 0)])[0].median_ratio_vs_first, null, 'no ratio against 0 steps');
  });
});

describe('refineStarts on stories260k', () => {
  let model: LoadedModel;
  let targets: SolveTarget[];
  const m = new Prng(7).normals(64, 0.3);
  const solver: Omit<SolverOptions, 'm' | 'init'> = {
    arrangement: 'e-m',
    adamw: { ...PAPER_ADAMW, lr: 0.02 },
    schedule: { kind: 'constant' },
    maxSteps: 100,
    batchSize: 8,
    restarts: 1,
    seed: 0,
    stopAccuracy: 1,
    patience: 0,
  };
  before(async () => {
    await useBackend('wasm');
    model = await loadModelDir(fixtureDir('stories260k'));
    const stories = corpusStories(3);
    targets = prepareTargets(stories, model.tokenizer, 4, 'corpus').targets;
    tf.tidy(() => model.lm.forward(tf.zeros([1, 4, 64]) as tf.Tensor3D)); // the LM builds its per-length position tables once
  });
  after(() => model.lm.dispose());

  it('runs every start on the same texts and reports consistent ratios; a solved start needs 0 steps; no leaks', async () => {
    const done: string[] = [];
    const constant = new Prng(1).normals(64, 0.05);
    const before = tf.memory().numTensors;
    const { report, results } = await refineStarts(model.lm, targets, m, solver, [
      { name: 'normal', init: { kind: 'normal' } },
      { name: 'constant', init: { kind: 'vector', e: constant, source: 'test' } },
      { name: 'scaled', init: { kind: 'scaled', scale: 0.05 } },
    ], { onStartDone: (s) => done.push(s.start) });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.deepEqual(done, ['normal', 'constant', 'scaled']);
    assert.equal(report.N, 4);
    assert.equal(report.texts, 3);
    assert.equal(report.interrupted, false);
    const [normal, , scaled] = report.starts;
    report.starts.forEach((s, k) => {
      assert.equal(s.texts, 3);
      assert.deepEqual(results[k].map((r) => r.id), targets.map((t) => t.id), 'results in target order');
      const counted = results[k].map((r) => (r.solved ? r.steps : 100)).sort((a, b) => a - b);
      assert.equal(s.median_steps, counted[1], `${s.start}: median with unsolved texts at the budget`);
      assert.equal(s.solved, results[k].filter((r) => r.solved).length);
      assert.ok(s.wall_seconds > 0);
      if (normal.median_steps > 0) assert.equal(s.median_ratio_vs_first, s.median_steps / normal.median_steps);
      if (report.starts[1].mean_steps > 0) assert.equal(s.mean_ratio_vs_second, s.mean_steps / report.starts[1].mean_steps);
    });
    assert.equal(scaled.solved, 3, 'the small start solves these texts within the budget');
    assert.match(renderRefineReport(report), /scaled\s+3\/3/);

    // Starting from e that already emits each text, the solver stops before its first update.
    const solvedE = new Map(results[2].map((r) => [r.id, r.e]));
    const again = await refineStarts(model.lm, targets, m, solver, [{ name: 'solved', init: { kind: 'perText', e: solvedE, source: 'test' } }]);
    assert.deepEqual(again.report.starts.map((s) => [s.solved, s.median_steps, s.median_ratio_vs_first]), [[3, 0, null]]);
  });

  it('stops when asked and says so', async () => {
    const { report } = await refineStarts(model.lm, targets, m, solver, [{ name: 'normal', init: { kind: 'normal' } }], { shouldStop: () => true });
    assert.equal(report.interrupted, true);
    assert.deepEqual(report.starts, []);
  });
});
