/** AdamW against a hand computation, and each arrangement's layout on shapes and a tiny case. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { PAPER_ADAMW, adamState, adamwUpdate, disposeState } from '../../src/solver/adamw.js';
import { arrange, layoutFor, parseArrangement } from '../../src/solver/arrangements.js';
import { useBackend } from '../helpers/backend.js';

describe('AdamW', () => {
  it('one step matches the hand computation (torch.optim.AdamW semantics)', async () => {
    await useBackend('cpu');
    const p0 = [0.5, -1.0, 2.0];
    const g = [0.1, -0.2, 0.0];
    const s = adamState(tf.tensor2d([p0]));
    const grad = tf.tensor2d([g]);
    const next = adamwUpdate(s, grad, [1], PAPER_ADAMW);
    const got = await next.param.data();
    const { lr, beta1, beta2, eps, weightDecay } = PAPER_ADAMW;
    p0.forEach((p, i) => {
      const m = (1 - beta1) * g[i];
      const v = (1 - beta2) * g[i] * g[i];
      const want = p * (1 - lr * weightDecay) - (lr / (1 - beta1)) * (m / (Math.sqrt(v) / Math.sqrt(1 - beta2) + eps));
      assert.ok(Math.abs(got[i] - want) < 1e-7, `coord ${i}: ${got[i]} vs ${want}`);
    });
    // At step 1 Adam moves every coordinate with a non-zero gradient by ~lr (plus decay).
    assert.ok(Math.abs(got[0] - (0.5 * (1 - 1e-4) - 0.01)) < 1e-6);
    disposeState(s);
    disposeState(next);
    grad.dispose();
  });

  it('second step uses per-row bias correction', async () => {
    const s = adamState(tf.tensor2d([[1], [1]]));
    const g = tf.tensor2d([[1], [1]]);
    const a = adamwUpdate(s, g, [1, 1], PAPER_ADAMW);
    const b = adamwUpdate(a, g, [2, 7], PAPER_ADAMW); // row 1 pretends to be at step 7
    const got = await b.param.data();
    const { lr, beta1, beta2, eps, weightDecay } = PAPER_ADAMW;
    const p1 = (1 - lr * weightDecay) - lr;
    const m = beta1 * (1 - beta1) + (1 - beta1);
    const v = beta2 * (1 - beta2) + (1 - beta2);
    const want = (t: number): number => p1 * (1 - lr * weightDecay) - (lr / (1 - beta1 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - beta2 ** t) + eps));
    assert.ok(Math.abs(got[0] - want(2)) < 1e-6);
    assert.ok(Math.abs(got[1] - want(7)) < 1e-6);
    [s, a, b].forEach(disposeState);
    g.dispose();
  });
});

describe('arrangements', () => {
  const N = 5;
  const cases: Record<string, { inputs: number; offset: number; pattern: string }> = {
    'e-m': { inputs: 5, offset: 0, pattern: 'emmmm' },
    'e-mN': { inputs: 6, offset: 1, pattern: 'emmmmm' },
    e: { inputs: 5, offset: 0, pattern: 'eeeee' },
    half: { inputs: 5, offset: 0, pattern: 'eeemm' },
    alt: { inputs: 5, offset: 0, pattern: 'ememe' },
  };
  for (const [name, want] of Object.entries(cases)) {
    it(`${name}: layout and inputs`, async () => {
      const layout = layoutFor(parseArrangement(name), N);
      assert.equal(layout.inputs, want.inputs);
      assert.equal(layout.offset, want.offset);
      assert.equal(Array.from(layout.isE).map((x) => (x ? 'e' : 'm')).join(''), want.pattern);
      // Tiny case: e = [1, 2], m = [10, 20] for row 0; row 1 negated.
      const e = tf.tensor2d([[1, 2], [-1, -2]]);
      const m = tf.tensor2d([[10, 20], [-10, -20]]);
      const x = arrange(e, layout.usesM ? m : null, layout);
      assert.deepEqual(x.shape, [2, want.inputs, 2]);
      const rows = (await x.array()) as number[][][];
      [...want.pattern].forEach((c, i) => {
        assert.deepEqual(rows[0][i], c === 'e' ? [1, 2] : [10, 20]);
        assert.deepEqual(rows[1][i], c === 'e' ? [-1, -2] : [-10, -20]);
      });
      tf.dispose([e, m, x]);
    });
  }
  it('a shared m [1, d] broadcasts over the batch', async () => {
    const layout = layoutFor('e-m', 3);
    const x = arrange(tf.tensor2d([[1], [2]]), tf.tensor2d([[7]]), layout);
    assert.deepEqual(await x.array(), [[[1], [7], [7]], [[2], [7], [7]]]);
  });
  it('rejects unknown names and bad lengths', () => {
    assert.throws(() => parseArrangement('m-e'), /unknown arrangement "m-e".*\n.*e-m, e-mN, e, half, alt/);
    assert.throws(() => layoutFor('e-m', 0), /positive integer/);
  });
});
