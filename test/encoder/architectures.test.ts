/** Both encoder architectures on the real stories260k LM: batch invariance, start at the mean, no leaks. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { buildEncoder, encoderSpec } from '../../src/encoder/spec.js';
import { eStats } from '../../src/encoder/head.js';
import { EncoderOptimizer } from '../../src/encoder/optimizer.js';
import { encoderLoss, LOSS_DEFAULTS } from '../../src/encoder/losses.js';
import type { ProtoEncoder, ReferenceSet } from '../../src/encoder/types.js';
import { baselineE } from '../../src/encoder/baselines.js';
import { Prng } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';

const SPECS = [
  encoderSpec('transformer', { width: 32, layers: 2, heads: 4, maxLength: 16, seed: 3 }),
  encoderSpec('transformer', { width: 32, layers: 1, heads: 2, poolQueries: 3, freezeEmbeddings: true, maxLength: 16, seed: 4 }),
  encoderSpec('lm-pool', { lmLayer: 3, poolQueries: 2, mlpHidden: 32, maxLength: 16, seed: 5 }),
  encoderSpec('lm-pool', { lmLayer: null, cacheFeatures: false, maxLength: 16, seed: 6 }),
  encoderSpec('retrieve-edit', { width: 32, layers: 1, heads: 4, poolQueries: 2, maxLength: 16, seed: 7 }),
];

describe('encoder architectures', () => {
  let model: LoadedModel;
  let d: number;
  const rng = new Prng(11);
  const solved = (n: number): Float32Array => rng.normals(n * 64, 0.7).map((x, i) => x + (i % 64) * 0.01);
  before(async () => {
    model = await loadEmbeddedModel();
    d = model.lm.config.hiddenSize;
  });
  after(() => model.lm.dispose());

  const reference = solved(50);
  // 50 solved windows of 8 tokens (ids 3..502), for the encoder that retrieves from them.
  const refSet: ReferenceSet = {
    N: 8,
    d: 64,
    textIds: Array.from({ length: 50 }, (_, r) => `ref${r}`),
    ids: Int32Array.from({ length: 400 }, (_, i) => 3 + ((i * 53 + (i >> 3)) % 500)),
    e: reference,
  };
  const build = (i: number): ProtoEncoder => buildEncoder(SPECS[i], { lm: model.lm, bosId: model.tokenizer.bosId, stats: eStats(reference, d), reference: refSet });
  /** One optimiser step of `loss` on targets x (and solved e for mixed). */
  const trainStep = (enc: ProtoEncoder, opt: EncoderOptimizer, x: tf.Tensor2D, m: tf.Tensor2D, e: tf.Tensor2D | null): void => {
    const trainable = [...enc.variables.values()].filter((v) => v.trainable);
    const names = new Map([...enc.variables].map(([n, v]) => [v.name, n]));
    const loss = e ? { kind: 'mixed' as const, ...LOSS_DEFAULTS, normPenalty: 0.1 } : { kind: 'recon' as const, ...LOSS_DEFAULTS };
    const { grads, value } = tf.variableGrads(() => encoderLoss(enc.apply(x, true), { lm: model.lm, m, targets: x, e }, loss).total, trainable);
    value.dispose();
    opt.apply(new Map(Object.entries(grads).map(([k, g]) => [names.get(k) as string, g])), 0.01).dispose();
  };
  const ids = (B: number, N: number): tf.Tensor2D => tf.tensor2d(Int32Array.from({ length: B * N }, (_, i) => 3 + ((i * 37) % 500)), [B, N], 'int32');

  for (const [i, spec] of SPECS.entries()) {
    describe(`${spec.kind} #${i}`, () => {
      // The baseline a fresh encoder starts at: the constant mean e, or for retrieve-edit the nearest window's e.
      const start = spec.kind === 'retrieve-edit' ? 'the nn-tokens e' : 'exactly the training mean (the constant-start baseline)';
      it(`a fresh encoder outputs ${start}`, () => {
        const enc = build(i);
        const x = ids(3, 8);
        const want = spec.kind === 'retrieve-edit' ? baselineE('nn-tokens', refSet, x.dataSync() as Int32Array) : null;
        const mean = eStats(reference, d).mean;
        const out = tf.tidy(() => enc.apply(x).arraySync());
        out.forEach((row, r) => row.forEach((v, j) => {
          const w = want ? want[r * d + j] : mean[j];
          assert.ok(Math.abs(v - w) < 1e-5, `row ${r} coord ${j}: ${v} vs ${w}`);
        }));
        x.dispose();
        enc.dispose();
      });

      it('batch of 5 equals five batches of 1 (after training moved the weights)', () => {
        const enc = build(i);
        const opt = new EncoderOptimizer(enc.variables, { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 });
        const m = tf.tensor2d(solved(1), [1, d]);
        const x = ids(5, 6);
        for (let s = 0; s < 3; s++) trainStep(enc, opt, x, m, null);
        const all = tf.tidy(() => enc.apply(x).arraySync());
        for (let r = 0; r < 5; r++) {
          const one = tf.tidy(() => enc.apply(tf.slice(x, [r, 0], [1, 6])).arraySync()[0]);
          one.forEach((v, j) => assert.ok(Math.abs(v - all[r][j]) <= 1e-4 + 1e-4 * Math.abs(v), `row ${r} coord ${j}: ${v} vs ${all[r][j]}`));
        }
        assert.ok(all[0].some((v, j) => Math.abs(v - all[1][j]) > 1e-4), 'different texts give different e_hat after training');
        tf.dispose([m, x]);
        opt.dispose();
        enc.dispose();
      });

      it('repeated training steps leave the tensor count unchanged', () => {
        const enc = build(i);
        const opt = new EncoderOptimizer(enc.variables, { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 });
        const m = tf.tensor2d(solved(1), [1, d]);
        const x = ids(4, 5);
        const e = tf.tensor2d(solved(4), [4, d]);
        const step = (): void => trainStep(enc, opt, x, m, e);
        step(); // warm-up: per-length caches (masks, positions) are created once
        const before = tf.memory().numTensors;
        for (let s = 0; s < 5; s++) step();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([m, x, e]);
        opt.dispose();
        enc.dispose();
      });
    });
  }

  it('a text longer than the encoder accepts is refused with a clear message', () => {
    const enc = build(0);
    assert.throws(() => tf.tidy(() => enc.apply(ids(1, 17))), /17 tokens does not fit this encoder \(at most 16\)/);
    enc.dispose();
  });

  it('disposing an encoder frees every tensor it made', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < SPECS.length; i++) {
      const enc = build(i);
      tf.tidy(() => enc.apply(ids(2, 4)));
      enc.dispose();
    }
    // Only the LM's per-length position tables (kept across calls by design) may remain.
    const lmCached = tf.memory().numTensors - before;
    assert.ok(lmCached <= 12, `${lmCached} tensors left`);
  });
});

describe('retrieve-edit', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());
  const spec = encoderSpec('retrieve-edit', { width: 16, layers: 1, heads: 2, maxLength: 8, seed: 1 });
  const e = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.floor(i / 64) + 1); // row r is all r+1
  const ref: ReferenceSet = { N: 4, d: 64, textIds: ['a', 'b', 'c'], ids: Int32Array.from([5, 6, 7, 8, 5, 6, 7, 9, 20, 21, 22, 23]), e };
  const stats = eStats(e, 64);

  it('a training text never retrieves its own solution, an unseen one takes the nearest', () => {
    const enc = buildEncoder(spec, { lm: model.lm, bosId: model.tokenizer.bosId, stats, reference: ref });
    const x = tf.tensor2d([5, 6, 7, 8, 5, 6, 7, 8], [2, 4], 'int32');
    // Row 0 is reference "a" itself (excluded: its next best is "b"); row 1 is an unseen copy of "a".
    const out = tf.tidy(() => enc.apply(x, true, ['a', 'unseen']).arraySync());
    assert.equal(out[0][0], 2);
    assert.equal(out[1][0], 1);
    x.dispose();
    enc.dispose();
  });

  it('without solved reference windows it is refused with a clear message', () => {
    assert.throws(() => buildEncoder(spec, { lm: model.lm, bosId: model.tokenizer.bosId, stats, reference: null }), /needs solved training windows.*\n.*--dataset/);
  });
});
