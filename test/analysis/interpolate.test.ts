/**
 * Interpolation between two real solutions of one short text (stories260k, fixed m, two seeds):
 * every path decodes the text at its ends, training the control point lowers the path loss, the
 * two-bend fallback starts as the trained quadratic curve, arc lengths are right, m per text moves
 * along the path too, and repeated runs leave no tensors behind.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { solveTexts } from '../../src/solver/solve.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveResult } from '../../src/solver/types.js';
import { interpolatePairs, expectation, summarizePairs, tauGrid } from '../../src/analysis/interpolate.js';
import { arcLengths, disposePairTensors, elevate, evaluatePath, lineControls, pairTensors, trainControlPoints } from '../../src/analysis/paths.js';
import type { Endpoint, SolutionPairs } from '../../src/analysis/solutions.js';
import { readVector } from '../../src/lm/vector_file.js';
import { useBackend } from '../helpers/backend.js';
import { CORPUS, SHIPPED_M, fixtureDir } from '../helpers/fixtures.js';


const N = 4;

function endpoint(restart: number, r: SolveResult): Endpoint {
  return { dataset: 0, restart, e: r.e, m: null, margin: r.margin ?? null, polishSteps: r.polishSteps ?? null };
}
const story = JSON.parse(readFileSync(CORPUS, 'utf8').split('\n')[0]) as { id: string; text: string };

describe('interpolate on stories260k', () => {
  let model: LoadedModel;
  let input: SolutionPairs;
  let m: Float32Array;

  before(async () => {
    await useBackend('wasm');
    model = await loadModelDir(fixtureDir('stories260k'));
    m = await readVector(SHIPPED_M, 'm', 64, await model.fingerprint());
    // Two solutions of one text: the same fixed m, two restarts (two seeds), each run to its end.
    const { targets } = prepareTargets([story], model.tokenizer, N, 'corpus');
    const found: SolveResult[] = [];
    await solveTexts(model.lm, targets, {
      arrangement: 'e-m', m: { kind: 'fixed', vector: m, source: 'test' }, init: { kind: 'scaled', scale: 0.05 },
      adamw: { lr: 0.02, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0.01 }, schedule: { kind: 'constant' },
      maxSteps: 1500, batchSize: 2, restarts: 2, keepAllRestarts: true, seed: 0, stopAccuracy: 1, patience: 0,
    }, { onResults: (r) => void found.push(...r) });
    assert.equal(found.length, 2);
    assert.ok(found.every((r) => r.solved), `both restarts solved: ${found.map((r) => r.accuracy)}`);
    const [a, b] = found.sort((x, y) => x.restart - y.restart);
    input = {
      datasets: ['memory'], modelId: 'stories260k', modelFingerprint: '', N, arrangement: 'e-m', m,
      pairs: [{ textId: story.id, tokenIds: Int32Array.from(targets[0].ids), a: endpoint(0, a), b: endpoint(1, b) }],
      solutions: [{ textId: story.id, end: endpoint(0, a) }, { textId: story.id, end: endpoint(1, b) }],
      textsWithPairs: 1, unsolvedRows: 0,
    };
  });
  after(() => model.lm.dispose());

  it('both paths decode the text at tau = 0 and 1; training the control point lowers the expected loss', async () => {
    const run = await interpolatePairs(model.lm, input, { steps: 40, seed: 3, cubic: 'all' });
    assert.equal(run.interrupted, false);
    assert.deepEqual(run.taus, tauGrid(65));
    assert.equal(run.taus[0], 0);
    assert.equal(run.taus[64], 1);
    assert.equal(run.steps, 80, 'the Bezier curve, then the cubic one');
    const [p] = run.pairs;
    assert.equal(p.lineAccuracy.length, 65);
    assert.equal(p.bezierAccuracy.length, 65);
    for (const acc of [p.lineAccuracy, p.bezierAccuracy, p.cubicAccuracy ?? []]) {
      assert.equal(acc[0], 1, 'tau = 0 is solution a');
      assert.equal(acc[64], 1, 'tau = 1 is solution b');
    }
    assert.equal(p.cubicMinAccuracy, Math.min(...(p.cubicAccuracy ?? [])));
    assert.ok((p.cubicLoss?.length ?? 0) === 65 && (p.lineLoss?.length ?? 0) === 65 && (p.bezierLoss?.length ?? 0) === 65, 'loss at every tau of every path');
    assert.ok(expectation(p.cubicLoss ?? []) < p.bezierLossAfter, `the cubic curve goes on from the Bezier one: ${expectation(p.cubicLoss ?? [])} vs ${p.bezierLossAfter}`);
    const simplest = p.lineMinAccuracy >= 1 ? 'line' : p.bezierMinAccuracy >= 1 ? 'bezier' : (p.cubicMinAccuracy ?? 0) >= 1 ? 'cubic' : null;
    assert.equal(p.connectedBy, simplest);
    assert.equal(p.lineMinAccuracy, Math.min(...p.lineAccuracy));
    assert.ok(p.bezierLossAfter < p.bezierLossBefore, `loss ${p.bezierLossBefore} -> ${p.bezierLossAfter}`);
    const lineLoss = run.curves.filter((c) => c.path === 'line').map((c) => c.loss);
    assert.ok(Math.abs(p.bezierLossBefore - expectation(lineLoss)) < 1e-6, 'before training, the curve is the line');
    const dist = Math.hypot(...input.pairs[0].a.e.map((x, i) => x - input.pairs[0].b.e[i]));
    assert.ok(Math.abs(p.endpointDistance - dist) < 1e-3 * dist, `distance ${p.endpointDistance} vs ${dist}`);
    assert.ok(p.lengthRatio > 1, `a trained curve is longer than the chord: ${p.lengthRatio}`);
    assert.equal(run.curves.length, 3 * 65);
    const s = summarizePairs(run.pairs);
    assert.equal(s.pairs, 1);
    assert.equal(s.bezierConnected, p.bezierMinAccuracy === 1 ? 1 : 0);
    assert.equal(s.cubicPairs, 1);
    assert.equal(run.localized?.solutions, 2);
    assert.ok(Math.abs((run.localized?.sameText.mean ?? 0) - p.endpointDistance) < 1e-3 * p.endpointDistance);
    // The fallback only trains where the Bezier curve dips; without a dip there is no cubic curve.
    const fallback = await interpolatePairs(model.lm, input, { steps: 40, seed: 3 });
    assert.equal(fallback.pairs[0].cubicAccuracy === null, fallback.pairs[0].bezierMinAccuracy >= 1);
  });

  it('the cubic fallback starts as the trained quadratic curve (degree elevation)', async () => {
    const { pairs } = input;
    const t = pairTensors(model.lm, pairs[0].a.e, pairs[0].b.e, pairs[0].tokenIds, m, N, 'e-m');
    const pi = tf.tensor2d(Float32Array.from(pairs[0].a.e, (x, i) => (x + pairs[0].b.e[i]) / 2 + Math.sin(i)), [1, 64]);
    const cubic = elevate(t, pi);
    try {
      const grid = Float32Array.from(tauGrid(65));
      const [q, c] = [await evaluatePath(model.lm, t, pi, grid), await evaluatePath(model.lm, t, cubic, grid)];
      q.loss.forEach((x, g) => assert.ok(Math.abs(x - c.loss[g]) < 1e-3 * Math.max(1, x), `tau ${grid[g]}: ${x} vs ${c.loss[g]}`));
      const [lq, lc] = [await arcLengths(t, pi), await arcLengths(t, cubic)];
      assert.ok(Math.abs(lq.curve[0] - lc.curve[0]) < 1e-4 * lq.curve[0], `${lq.curve[0]} vs ${lc.curve[0]}`);
    } finally {
      tf.dispose([pi, cubic]);
      disposePairTensors(t);
    }
  });

  it('m per text: the path moves e and m together, ends decode the text, nothing leaks', async () => {
    // The same two solutions, each carrying the m it was solved with as its own.
    const own: SolutionPairs = {
      ...input,
      m: null,
      pairs: input.pairs.map((p) => ({ ...p, a: { ...p.a, m }, b: { ...p.b, m } })),
      solutions: input.solutions.map((s) => ({ ...s, end: { ...s.end, m } })),
    };
    await interpolatePairs(model.lm, own, { steps: 1 }); // per-length tables
    const start = tf.memory().numTensors;
    const run = await interpolatePairs(model.lm, own, { steps: 5, cubic: 'all' });
    assert.equal(tf.memory().numTensors, start);
    const [p] = run.pairs;
    assert.equal(p.lineAccuracy[0], 1);
    assert.equal(p.cubicAccuracy?.[64], 1);
    // With both m equal, the 2d chord is the e chord.
    const [fixed] = (await interpolatePairs(model.lm, input, { steps: 1, cubic: 'off' })).pairs;
    assert.ok(Math.abs(p.endpointDistance - fixed.endpointDistance) < 1e-3 * fixed.endpointDistance);
    assert.deepEqual(p.lineAccuracy, fixed.lineAccuracy, 'the same straight line');
    assert.equal(run.localized?.solutions, 2);
  });

  it('arc length: the midpoint gives the chord; another control point matches a fine polyline', async () => {
    const { pairs } = input;
    const t = pairTensors(model.lm, pairs[0].a.e, pairs[0].b.e, pairs[0].tokenIds, m, N, 'e-m');
    const bent = Float32Array.from(pairs[0].a.e, (x, i) => (x + pairs[0].b.e[i]) / 2 + Math.cos(i));
    const mid = lineControls(t, 2);
    const pi = tf.tensor2d(bent, [1, 64]);
    try {
      const straight = await arcLengths(t, mid);
      assert.ok(Math.abs(straight.curve[0] / straight.line[0] - 1) < 1e-5, `ratio ${straight.curve[0] / straight.line[0]}`);
      const curved = await arcLengths(t, pi);
      const at = (tau: number): number[] =>
        Array.from(bent, (c, i) => (1 - tau) ** 2 * pairs[0].a.e[i] + 2 * tau * (1 - tau) * c + tau ** 2 * pairs[0].b.e[i]);
      let polyline = 0;
      for (let k = 0; k < 20000; k++) {
        const [x, y] = [at(k / 20000), at((k + 1) / 20000)];
        polyline += Math.hypot(...x.map((v, i) => v - y[i]));
      }
      assert.ok(Math.abs(curved.curve[0] - polyline) < 1e-4 * polyline, `Simpson ${curved.curve[0]} vs polyline ${polyline}`);
    } finally {
      tf.dispose([mid, pi]);
      disposePairTensors(t);
    }
  });

  it('leaks no tensors: training steps and whole runs leave tf.memory().numTensors unchanged', async () => {
    await interpolatePairs(model.lm, input, { steps: 2 }); // builds the per-length tables first
    const start = tf.memory().numTensors;
    const { pairs } = input;
    const t = pairTensors(model.lm, pairs[0].a.e, pairs[0].b.e, pairs[0].tokenIds, m, N, 'e-m');
    const opts = { steps: 1, tausPerStep: 8, adamw: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, seed: 1 };
    const one = await trainControlPoints(model.lm, t, 3, opts);
    one.controls.dispose();
    const afterOne = tf.memory().numTensors;
    const many = await trainControlPoints(model.lm, t, 3, { ...opts, steps: 6 });
    assert.equal(many.steps, 6);
    many.controls.dispose();
    assert.equal(tf.memory().numTensors, afterOne, 'six steps hold no more tensors than one');
    disposePairTensors(t);
    await interpolatePairs(model.lm, input, { steps: 3, cubic: 'all' });
    assert.equal(tf.memory().numTensors, start, 'a whole run leaves nothing behind');
  });

  it('stops before the next step when asked, and evaluates nothing', async () => {
    let steps = 0;
    const run = await interpolatePairs(model.lm, input, { steps: 50, onStep: () => steps++, shouldStop: () => steps >= 3 });
    assert.equal(run.interrupted, true);
    assert.equal(run.steps, 3);
    assert.deepEqual(run.pairs, []);
  });
});
