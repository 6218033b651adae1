/**
 * How far inside its solution set an e sits (solver/radius.ts), on stories260k with the shipped
 * fixed m: a solution left at its first solved pass sits nearer the edge than the same row
 * polished; the radius found keeps every sampled direction at 100%; more directions can only
 * shrink it; a non-solution has radius 0; nothing leaks.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { solveTexts } from '../../src/solver/solve.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { layoutFor } from '../../src/solver/arrangements.js';
import { scoreRows } from '../../src/solver/step.js';
import { perturbationRadii, type RadiusRow } from '../../src/solver/radius.js';
import { readVector } from '../../src/lm/vector_file.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveResult, SolverOptions } from '../../src/solver/types.js';
import { Prng, deriveSeed } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { SHIPPED_M, corpusStories } from '../helpers/fixtures.js';

const N = 8;
const stories = corpusStories(2);

describe('perturbation radius (stories260k, fixed m)', () => {
  let model: LoadedModel;
  let m: Float32Array;
  let first: RadiusRow[];
  let polished: RadiusRow[];
  before(async () => {
    model = await loadEmbeddedModel();
    m = await readVector(SHIPPED_M, 'm', 64, await model.fingerprint());
    const { targets } = prepareTargets(stories, model.tokenizer, N, 'corpus');
    const base: SolverOptions = {
      arrangement: 'e-m', m: { kind: 'fixed', vector: m, source: 'test' }, init: { kind: 'normal' }, adamw: PAPER_ADAMW,
      schedule: { kind: 'constant' }, maxSteps: 1500, batchSize: 4, restarts: 1, seed: 0, stopAccuracy: 1, patience: 0,
    };
    const solve = async (opts: Partial<SolverOptions>): Promise<RadiusRow[]> => {
      const out: SolveResult[] = [];
      await solveTexts(model.lm, targets, { ...base, ...opts }, { onResults: (r) => void out.push(...r) });
      assert.ok(out.every((r) => r.solved));
      return out.sort((a, b) => a.id.localeCompare(b.id)).map((r) => ({ e: r.e, m: null, ids: Int32Array.from(targets[r.targetIndex].ids) }));
    };
    first = await solve({});
    polished = await solve({ polish: { steps: 200, stopLoss: null, minMargin: null } });
  });
  after(() => model.lm.dispose());

  it('a polished row sits deeper than the same row at its first solve, and the radius keeps every sampled direction', async () => {
    const [a, b] = [await perturbationRadii(model.lm, 'e-m', m, first), await perturbationRadii(model.lm, 'e-m', m, polished)];
    a.forEach((r, i) => {
      assert.ok(!r.capped && !b[i].capped);
      assert.ok(b[i].radius > 0, `row ${i}: a polished solution has some room: ${b[i].radius}`);
      assert.ok(b[i].radius > r.radius, `row ${i}: polished ${b[i].radius} > first ${r.radius}`);
      assert.ok(Math.abs(r.relative - r.radius / Math.hypot(...first[i].e)) < 1e-9);
    });
    // Recompute: at the radius found, e + radius u reproduces the text for each of the 16 directions.
    const row = polished[0];
    const rng = new Prng(deriveSeed(0, 0));
    const dirs = rng.normals(16 * 64);
    const e = new Float32Array(16 * 64);
    for (let k = 0; k < 16; k++) {
      const u = dirs.subarray(k * 64, (k + 1) * 64);
      const n = Math.hypot(...u);
      for (let j = 0; j < 64; j++) e[k * 64 + j] = row.e[j] + (b[0].radius * u[j]) / n;
    }
    const full = tf.tidy(() => {
      const ids = tf.tensor2d(Int32Array.from({ length: 16 * N }, (_, i) => row.ids[i % N]), [16, N], 'int32');
      return tf.min(scoreRows(model.lm, layoutFor('e-m', N), ids, tf.tensor2d(e, [16, 64]), tf.tensor2d(m, [1, 64])).hits);
    });
    assert.equal((await full.data())[0], 1);
    full.dispose();
  });

  it('more directions can only shrink it; a non-solution has radius 0; no tensors leak', async () => {
    const [few, many] = [await perturbationRadii(model.lm, 'e-m', m, polished, { directions: 4 }), await perturbationRadii(model.lm, 'e-m', m, polished, { directions: 32 })];
    few.forEach((r, i) => assert.ok(many[i].radius <= r.radius, `row ${i}: 32 directions ${many[i].radius} <= 4 directions ${r.radius}`));
    const start = tf.memory().numTensors;
    const [wrong] = await perturbationRadii(model.lm, 'e-m', m, [{ ...first[0], ids: first[1].ids }]);
    assert.deepEqual(wrong, { radius: 0, relative: 0, capped: false });
    assert.equal(tf.memory().numTensors, start);
    await assert.rejects(perturbationRadii(model.lm, 'e-m', m, first, { directions: 0 }), /at least one direction.*\n.*--radius-directions/);
  });
});
