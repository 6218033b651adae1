/**
 * Solutions with a margin: the stopping rules after a row's first solved pass (polish K steps,
 * a loss target, a margin target), on the real stories260k model with the shipped fixed m, and the
 * margin the solver reports against one computed from the logits here.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { solveTexts } from '../../src/solver/solve.js';
import { solveShared } from '../../src/solver/shared_m.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { arrange, layoutFor } from '../../src/solver/arrangements.js';
import { scoreRows } from '../../src/solver/step.js';
import { logitMargins } from '../../src/lm/cross_entropy.js';
import { readVector } from '../../src/lm/vector_file.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveResult, SolverOptions } from '../../src/solver/types.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { SHIPPED_M, corpusStories } from '../helpers/fixtures.js';

const N = 8;
const stories = corpusStories(2);

describe('polishing solved rows (stories260k, fixed m)', () => {
  let model: LoadedModel;
  let m: Float32Array;
  let base: SolverOptions;
  before(async () => {
    model = await loadEmbeddedModel();
    m = await readVector(SHIPPED_M, 'm', 64, await model.fingerprint());
    base = {
      arrangement: 'e-m', m: { kind: 'fixed', vector: m, source: 'test' }, init: { kind: 'normal' }, adamw: PAPER_ADAMW,
      schedule: { kind: 'constant' }, maxSteps: 1500, batchSize: 4, restarts: 1, seed: 0, stopAccuracy: 1, patience: 0,
    };
  });
  after(() => model.lm.dispose());

  async function run(opts: Partial<SolverOptions>): Promise<SolveResult[]> {
    const { targets } = prepareTargets(stories, model.tokenizer, N, 'corpus');
    const out: SolveResult[] = [];
    await solveTexts(model.lm, targets, { ...base, ...opts }, { onResults: (r) => void out.push(...r) });
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The smallest logit margin of e under the fixed m, from one forward pass computed here. */
  async function marginOf(r: SolveResult): Promise<number> {
    const { targets } = prepareTargets(stories.filter((s) => s.id === r.id), model.tokenizer, N, 'corpus');
    const v = tf.tidy(() => {
      const x = arrange(tf.tensor2d(r.e, [1, 64]), tf.tensor2d(m, [1, 64]), layoutFor('e-m', N));
      return tf.min(logitMargins(model.lm.forward(x), tf.tensor2d([Array.from(targets[0].ids)], undefined, 'int32')));
    });
    const out = (await v.data())[0];
    v.dispose();
    return out;
  }

  it('--polish-steps K: K more steps than the first solve, the same text still reproduced, a larger margin', async () => {
    const first = await run({});
    const polished = await run({ polish: { steps: 40, stopLoss: null, minMargin: null } });
    assert.equal(polished.length, first.length);
    first.forEach((a, i) => {
      const b = polished[i];
      assert.equal(a.solved, true);
      assert.equal(a.polishSteps, 0, 'no polishing: it leaves at its first solved pass');
      assert.ok((a.margin as number) > 0, `a solved row has a positive margin: ${a.margin}`);
      assert.equal(b.solved, true);
      // The rows are the same seeded trajectories up to the first solve.
      assert.equal(b.steps, a.steps + 40, `${b.id}: ${a.steps} steps to solve, then 40 more`);
      assert.equal(b.polishSteps, 40);
      assert.ok((b.margin as number) > (a.margin as number), `${b.id}: margin ${a.margin} -> ${b.margin}`);
      assert.ok(b.loss < a.loss, `${b.id}: loss ${a.loss} -> ${b.loss}`);
    });
    for (const r of [...first, ...polished]) assert.ok(Math.abs((await marginOf(r)) - (r.margin as number)) < 1e-3, `${r.id}: the reported margin is the pass's`);
  });

  it('--min-margin X stops at the first solved pass with margin >= X; --stop-loss X at the first with loss <= X', async () => {
    const first = await run({});
    const target = Math.max(...first.map((r) => r.margin as number)) + 0.5;
    const byMargin = await run({ polish: { steps: 0, stopLoss: null, minMargin: target } });
    for (const r of byMargin) {
      assert.ok(r.solved && (r.margin as number) >= target, `${r.id}: margin ${r.margin} >= ${target}`);
      assert.ok((r.polishSteps as number) > 0);
    }
    // One step fewer did not reach it: the rule stopped at the first pass that did.
    const shorter = await run({ polish: { steps: (byMargin[0].polishSteps as number) - 1, stopLoss: null, minMargin: null } });
    assert.ok((shorter[0].margin as number) < target, `one step earlier the margin was ${shorter[0].margin}`);

    const lossTarget = Math.min(...first.map((r) => r.loss)) / 2;
    const byLoss = await run({ polish: { steps: 0, stopLoss: lossTarget, minMargin: null } });
    for (const r of byLoss) assert.ok(r.solved && r.loss <= lossTarget && (r.polishSteps as number) > 0, `${r.id}: loss ${r.loss} <= ${lossTarget}`);
    const earlier = await run({ polish: { steps: (byLoss[0].polishSteps as number) - 1, stopLoss: null, minMargin: null } });
    assert.ok(earlier[0].loss > lossTarget, `one step earlier the loss was ${earlier[0].loss}`);
  });

  it('a polishing row that loses its text again and runs out of budget reports its last solved pass', async () => {
    // lr 0.5 makes polishing noisy enough that a solved row can drop a token between passes.
    const { targets } = prepareTargets(corpusStories(4), model.tokenizer, N, 'corpus');
    const out: SolveResult[] = [];
    const opts: SolverOptions = {
      ...base, adamw: { ...PAPER_ADAMW, lr: 0.5 }, maxSteps: 300, restarts: 2, keepAllRestarts: true, polish: { steps: 0, stopLoss: null, minMargin: 1000 },
    };
    await solveTexts(model.lm, targets, opts, { onResults: (r) => void out.push(...r) });
    assert.equal(out.length, 8);
    assert.ok(out.every((r) => r.solved), `every row solved once stays reported solved: ${out.map((r) => `${r.id}:${r.restart} ${r.steps} ${r.accuracy}`)}`);
    const earlier = out.filter((r) => r.steps < 300);
    assert.ok(earlier.length > 0, 'a row whose final pass had lost the text (this seed has one)');
    for (const r of earlier) {
      assert.ok((r.polishSteps as number) > 0 && (r.polishSteps as number) < r.steps);
      // The reported e is that pass's: it reproduces the text.
      const ids = targets[r.targetIndex].ids;
      const full = tf.tidy(() => tf.min(scoreRows(model.lm, layoutFor('e-m', N), tf.tensor2d([Array.from(ids)], undefined, 'int32'), tf.tensor2d(r.e, [1, 64]), tf.tensor2d(m, [1, 64])).hits));
      assert.equal((await full.data())[0], 1, `${r.id}:${r.restart} at step ${r.steps}`);
      full.dispose();
    }
  });

  it('an unreachable target ends at the step budget, and the shared solver refuses polishing', async () => {
    const [r] = await run({ maxSteps: 300, polish: { steps: 0, stopLoss: null, minMargin: 1e6 } });
    assert.equal(r.steps, 300);
    assert.ok((r.margin as number) < 1e6);
    const { targets } = prepareTargets(stories, model.tokenizer, N, 'corpus');
    const { m: _m, restarts: _r, ...shared } = base;
    await assert.rejects(
      solveShared(model.lm, targets, { ...shared, polish: { steps: 5, stopLoss: null, minMargin: null } }),
      /polishing \(--polish-steps, --stop-loss, --min-margin\) is for texts solved with m per text or a fixed m/,
    );
  });
});
