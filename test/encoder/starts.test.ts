/** The LM picks each text's start: a candidate whose one pass reproduces the text, else the lowest loss. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { layoutFor } from '../../src/solver/arrangements.js';
import { scoreRows } from '../../src/solver/step.js';
import { solveTexts } from '../../src/solver/solve.js';
import { prepareTargets } from '../../src/texts/targets.js';
import { bestOfStarts } from '../../src/encoder/starts.js';
import { onePass } from '../../src/encoder/onepass.js';
import { Prng } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { corpusStories } from '../helpers/fixtures.js';

describe('bestOfStarts', () => {
  let model: LoadedModel;
  const m = new Prng(7).normals(64, 0.3);
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  it('keeps, per text, the candidate one LM pass judges best, and counts the choices', async () => {
    const N = 4;
    const targets = prepareTargets(corpusStories(4), model.tokenizer, N, 'corpus').targets;
    const n = targets.length;
    const d = 64;
    // Candidate "solved": the solver's e for the first two texts, random for the others.
    const solved = new Prng(1).normals(n * d, 1);
    await solveTexts(model.lm, targets.slice(0, 2), {
      arrangement: 'e-m', m: { kind: 'fixed', vector: m, source: 'test' }, init: { kind: 'normal' }, adamw: { ...PAPER_ADAMW, lr: 0.05 },
      schedule: { kind: 'constant' }, maxSteps: 400, batchSize: 2, restarts: 1, seed: 0, stopAccuracy: 1, patience: 0,
    }, { onResults: (rs) => rs.forEach((r) => r.solved && solved.set(r.e, r.targetIndex * d)) });
    const other = new Prng(2).normals(n * d, 1);
    const ids = new Int32Array(n * N);
    targets.forEach((t, i) => ids.set(t.ids, i * N));
    const [a, b] = await Promise.all([onePass(model.lm, other, m, ids, N), onePass(model.lm, solved, m, ids, N)]);
    assert.ok(b[0].exact && b[1].exact, 'the first two texts are solved in the "solved" candidate');
    const before = tf.memory().numTensors;
    const best = await bestOfStarts(model.lm, m, targets, [{ name: 'other', e: other }, { name: 'solved', e: solved }], 3);
    assert.equal(tf.memory().numTensors, before);
    // Each candidate's summed cross-entropy per text, from the solver's scoring pass.
    const lossOf = async (e: Float32Array): Promise<Float32Array> => {
      const nll = tf.tidy(() => tf.sum(scoreRows(model.lm, layoutFor('e-m', N), tf.tensor2d(ids, [n, N], 'int32'), tf.tensor2d(e, [n, d]), tf.tensor2d(m, [1, d])).nll, 1));
      const out = (await nll.data()) as Float32Array;
      nll.dispose();
      return out;
    };
    const [la, lb] = [await lossOf(other), await lossOf(solved)];
    targets.forEach((t, i) => {
      const pick = best.e.get(t.id) as Float32Array;
      const want = b[i].exact !== a[i].exact ? (b[i].exact ? solved : other) : lb[i] < la[i] ? solved : la[i] < lb[i] ? other : null;
      if (want) assert.deepEqual(pick, want.slice(i * d, (i + 1) * d), `text ${i}`);
    });
    assert.equal(best.chosen.other + best.chosen.solved, n);
    assert.ok(best.chosen.solved >= 2);
  });
});
