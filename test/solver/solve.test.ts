/** The solver on the real stories260k model: solving, reproducibility, fixed m, early leave, errors. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { solveTexts } from '../../src/solver/solve.js';
import { solveShared } from '../../src/solver/shared_m.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { layoutFor, arrange } from '../../src/solver/arrangements.js';
import { argmaxHits } from '../../src/lm/cross_entropy.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveResult, SolverOptions } from '../../src/solver/types.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { corpusStories } from '../helpers/fixtures.js';

const paper: SolverOptions = {
  arrangement: 'e-m',
  m: { kind: 'per-text' },
  init: { kind: 'normal' },
  adamw: PAPER_ADAMW,
  schedule: { kind: 'constant' },
  maxSteps: 1000,
  batchSize: 8,
  restarts: 1,
  seed: 0,
  stopAccuracy: 1,
  patience: 0,
};

const stories = corpusStories(4);

describe('solver on stories260k', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  async function run(N: number, opts: Partial<SolverOptions>, n = 1): Promise<SolveResult[]> {
    const { targets } = prepareTargets(stories.slice(0, n), model.tokenizer, N, 'corpus');
    const out: SolveResult[] = [];
    await solveTexts(model.lm, targets, { ...paper, ...opts }, { onResults: (r) => void out.push(...r) });
    return out;
  }

  /** Token accuracy of e (and m) by one real forward pass. */
  async function accuracyOf(r: SolveResult, N: number, m: Float32Array | null): Promise<number> {
    const ids = model.tokenizer.encode(stories.find((s) => s.id === r.id)!.text).slice(0, N);
    const acc = tf.tidy(() => {
      const x = arrange(tf.tensor2d(r.e, [1, r.e.length]), m ? tf.tensor2d(m, [1, m.length]) : null, layoutFor('e-m', N));
      return tf.mean(argmaxHits(model.lm.forward(x), tf.tensor2d([ids], undefined, 'int32')));
    });
    const v = (await acc.data())[0];
    acc.dispose();
    return v;
  }

  it('solves a corpus text of N=8 to 100% within 1000 steps, and the result really emits it', async () => {
    tf.tidy(() => model.lm.forward(tf.zeros([1, 8, 64]) as tf.Tensor3D)); // build the per-length tables first
    const before = tf.memory().numTensors;
    const [r] = await run(8, {});
    assert.equal(r.solved, true);
    assert.equal(r.accuracy, 1);
    assert.equal(r.cTokens, 8);
    assert.equal(r.prefixLen, 8);
    assert.ok(r.steps <= 1000);
    assert.equal(await accuracyOf(r, 8, r.m), 1);
    assert.equal(tf.memory().numTensors, before, 'the solver leaks no tensors');
  });

  it('the same seed gives the same e; another seed gives another e', async () => {
    const [a] = await run(8, { seed: 3, maxSteps: 30 });
    const [b] = await run(8, { seed: 3, maxSteps: 30 });
    const [c] = await run(8, { seed: 4, maxSteps: 30 });
    assert.deepEqual(Array.from(a.e), Array.from(b.e));
    assert.notDeepEqual(Array.from(a.e), Array.from(c.e));
  });

  it('a finished text leaves the batch with the e that solved it while others go on', async () => {
    const results = await run(8, { batchSize: 4, maxSteps: 1000 }, 4);
    assert.equal(results.length, 4);
    const steps = results.map((r) => r.steps);
    assert.ok(new Set(steps).size > 1, `texts finished at different steps: ${steps}`);
    for (const r of results) assert.equal(await accuracyOf(r, 8, r.m), 1, `${r.id} still emits its text`);
  });

  it('a fixed m is never changed', async () => {
    const m = new Float32Array(64).map((_, i) => Math.sin(i));
    const copy = Float32Array.from(m);
    const [r] = await run(8, { m: { kind: 'fixed', vector: m, source: 'test' }, maxSteps: 40 });
    assert.deepEqual(Buffer.from(m.buffer), Buffer.from(copy.buffer));
    assert.equal(r.m, null);
    assert.equal(r.steps, 40);
  });

  it('restarts keep the best and stop once one solves', async () => {
    const [r] = await run(8, { restarts: 3, maxSteps: 1000 });
    assert.equal(r.solved, true);
    assert.ok(r.restart >= 0 && r.restart < 3);
  });

  it('keepAllRestarts: every restart runs to its own end and is reported; a subset of restarts reproduces them', async () => {
    const all = await run(4, { restarts: 2, keepAllRestarts: true, maxSteps: 600 });
    assert.deepEqual(all.map((r) => r.restart).sort(), [0, 1]);
    for (const r of all) {
      assert.equal(r.solved, true, `restart ${r.restart} solved`);
      assert.equal(await accuracyOf(r, 4, r.m), 1);
    }
    assert.notDeepEqual(Array.from(all[0].e), Array.from(all[1].e), 'two different solutions');
    // A resumed run that only misses restart 1 finds the very same row.
    const { targets } = prepareTargets(stories.slice(0, 1), model.tokenizer, 4, 'corpus');
    const only: SolveResult[] = [];
    await solveTexts(model.lm, [{ ...targets[0], restarts: [1] }], { ...paper, restarts: 2, keepAllRestarts: true, maxSteps: 600 }, { onResults: (r) => void only.push(...r) });
    assert.equal(only.length, 1);
    assert.deepEqual(Array.from(only[0].e), Array.from(all.find((r) => r.restart === 1)!.e));
  });

  it('a shared m is learned jointly and the group stays together', async () => {
    const { targets } = prepareTargets(stories.slice(0, 3), model.tokenizer, 5, 'corpus');
    const { init, adamw, schedule, seed, stopAccuracy, patience, arrangement } = paper;
    const run = await solveShared(model.lm, targets, { init, adamw, schedule, seed, stopAccuracy, patience, arrangement, maxSteps: 600, batchSize: 2 });
    assert.equal(run.shared.length, 1);
    assert.equal(run.shared[0].length, 64);
    assert.ok(run.results.every((r) => r.steps === run.steps), 'every text reports the group step count');
    if (run.allSolved) for (const r of run.results) assert.equal(await accuracyOf(r, 5, run.shared[0]), 1);
  });

  it('N above the model positions and texts shorter than N give clear errors', async () => {
    await assert.rejects(run(600, {}), /no text has at least N=600 tokens/);
    const { targets } = prepareTargets(stories.slice(0, 1), model.tokenizer, 8, 'corpus');
    const long = [{ id: 'x', ids: new Int32Array(513).fill(300) }];
    await assert.rejects(solveTexts(model.lm, long, paper), /N=513 needs 513 input positions but the model allows 512/);
    const short = prepareTargets([...stories.slice(0, 1), { id: 'tiny', text: 'Hi.' }], model.tokenizer, 8, 'corpus');
    assert.deepEqual(short.tooShort.map((s) => s.id), ['tiny']);
    assert.equal(short.targets.length, targets.length);
  });
});
