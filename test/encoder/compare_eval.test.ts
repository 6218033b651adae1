/** compare: cosine / L2 on hand-made vectors, summary statistics, and the one-pass columns on stories260k. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { compareToOptimized, comparison, renderComparison, vectorDistances, type CompareRow } from '../../src/encoder/compare.js';
import { onePass } from '../../src/encoder/onepass.js';
import { Prng } from '../../src/util/prng.js';
import { useBackend } from '../helpers/backend.js';
import { fixtureDir } from '../helpers/fixtures.js';

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-9, msg ?? `${a} vs ${b}`);

describe('vector distances and summaries', () => {
  it('cosine and L2 per row, 0 cosine for a zero vector', () => {
    const a = Float32Array.from([1, 0, 0, 3, 4, 0, 0, 0, 0, 1, 2, 2]);
    const b = Float32Array.from([0, 1, 0, 6, 8, 0, 1, 1, 1, -1, -2, -2]);
    const { cosine, l2 } = vectorDistances(a, b, 3);
    [0, 1, 0, -1].forEach((v, i) => close(cosine[i], v));
    [Math.SQRT2, 5, Math.sqrt(3), 6].forEach((v, i) => close(l2[i], v));
    assert.throws(() => vectorDistances(a, b.subarray(3), 3), /do not pair up/);
  });

  it('mean, median and std of each column; exact rates', () => {
    const rows: CompareRow[] = [0.2, 0.4, 0.9].map((c, i) => ({ id: `t${i}`, N: 4, cosine: c, l2: i + 1, accuracy_hat: i / 4, accuracy_opt: 1, exact_hat: i === 2, exact_opt: true }));
    const c = comparison(rows);
    assert.equal(c.texts, 3);
    close(c.summary.cosine.mean, 0.5);
    close(c.summary.cosine.median, 0.4);
    close(c.summary.cosine.std, Math.sqrt((0.09 + 0.01 + 0.16) / 3));
    assert.deepEqual(c.summary.l2, { mean: 2, median: 2, std: Math.sqrt(2 / 3) });
    assert.deepEqual(c.summary.accuracy_opt, { mean: 1, median: 1, std: 0 });
    close(c.summary.exact_hat, 1 / 3);
    assert.equal(c.summary.exact_opt, 1);
    const text = renderComparison(c, { perText: true });
    assert.match(text, /cosine\s+0\.5000\s+0\.4000\s+0\.2944/);
    assert.match(text, /t2\s+4\s+0\.9000\s+3\.000\s+0\.5000\s+1\.0000/);
    assert.ok(!renderComparison(c).includes('t2'));
    assert.equal(comparison([]).summary.cosine.mean, 0);
  });
});

describe('compareToOptimized on stories260k', () => {
  let model: LoadedModel;
  before(async () => {
    await useBackend('wasm');
    model = await loadModelDir(fixtureDir('stories260k'));
  });
  after(() => model.lm.dispose());

  it('per-text accuracies are the one-pass ones of each vector, in text order; no tensor leaks', async () => {
    const rng = new Prng(2);
    const m = rng.normals(64, 0.3);
    const texts = [
      { id: 'a', ids: Int32Array.from([300, 301, 302, 303]) },
      { id: 'b', ids: Int32Array.from([400, 401, 402, 403, 404, 405]) },
      { id: 'c', ids: Int32Array.from([310, 311, 312, 313]) },
    ];
    const eOpt = rng.normals(3 * 64);
    const eHat = Float32Array.from(eOpt, (v, i) => (i < 64 ? v : -v)); // text a: the same vector; b, c: its negation
    await compareToOptimized(model.lm, m, texts, eHat, eOpt); // the LM builds its per-length position tables once
    const before = tf.memory().numTensors;
    const c = await compareToOptimized(model.lm, m, texts, eHat, eOpt);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.deepEqual(c.rows.map((r) => [r.id, r.N]), [['a', 4], ['b', 6], ['c', 4]]);
    close(c.rows[0].cosine, 1, 'same vector');
    assert.ok(c.rows[0].l2 < 1e-6);
    close(c.rows[1].cosine, -1, 'negated vector');
    assert.equal(c.rows[0].accuracy_hat, c.rows[0].accuracy_opt);
    const single = await onePass(model.lm, eHat.slice(64, 128), m, texts[1].ids, 6);
    assert.equal(c.rows[1].accuracy_hat, single[0].accuracy, 'the row is the one-pass result of its own vector');
    const optC = await onePass(model.lm, eOpt.slice(128), m, texts[2].ids, 4);
    assert.equal(c.rows[2].accuracy_opt, optC[0].accuracy);
  });
});
