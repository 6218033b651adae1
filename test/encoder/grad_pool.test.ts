/** Data-parallel training: K threads equal one at the same global batch, leak nothing, and resume exactly. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { buildEncoder, encoderSpec } from '../../src/encoder/spec.js';
import { fallbackStats } from '../../src/encoder/head.js';
import { EncoderOptimizer } from '../../src/encoder/optimizer.js';
import { type TrainLoopOptions, trainLoop } from '../../src/encoder/train.js';
import type { TrainState } from '../../src/encoder/checkpoint.js';
import type { EncoderExample } from '../../src/encoder/batch.js';
import { LOSS_DEFAULTS } from '../../src/encoder/losses.js';
import { GradientPool, splitShares } from '../../src/encoder/grad_pool.js';
import { Prng } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { EMBEDDED_MODEL } from '../helpers/fixtures.js';

const OPTS: TrainLoopOptions = {
  loss: { kind: 'recon', ...LOSS_DEFAULTS }, batchSize: 7, steps: 6, stopAt: 6, lr: 0.01, warmupSteps: 1, minLrFactor: 0.1,
  seed: 3, valEvery: 0, logEvery: 1, checkpointEvery: 100,
};
const SPEC = encoderSpec('transformer', { width: 16, layers: 1, heads: 2, maxLength: 8, seed: 4 });

describe('data-parallel training (GradientPool)', () => {
  let model: LoadedModel;
  const examples: EncoderExample[] = Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, ids: Int32Array.from({ length: 6 }, (_, j) => 3 + ((i * 37 + j * 11) % 400)), e: null }));
  const m = new Prng(2).normals(64, 0.3);
  const stats = fallbackStats(64, 0.5);
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  /** Train `steps` steps with `threads` threads (1: no pool); optionally stop at `stopAt` and resume. */
  const run = async (threads: number, opts: { stopAt?: number } = {}): Promise<{ weights: Float32Array[]; losses: number[]; leakedMain: number; workerTensors: number[][] }> => {
    const enc = buildEncoder(SPEC, { lm: model.lm, bosId: model.tokenizer.bosId, stats });
    const opt = new EncoderOptimizer(enc.variables, { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 });
    const pool = threads > 1
      ? await GradientPool.open(enc, model.lm, m, null, { threads, modelDir: EMBEDDED_MODEL, backend: 'wasm', spec: SPEC, context: { stats, reference: null }, loss: OPTS.loss })
      : null;
    const losses: number[] = [];
    const workerTensors: number[][] = [];
    let last: TrainState | null = null;
    const hooks = {
      onLog: (_step: number, s: Record<string, number>) => {
        losses.push(s.loss);
        if (pool) workerTensors.push([...pool.workerTensors]);
      },
      save: async (kind: 'last' | 'best', st: TrainState) => {
        if (kind === 'last') last = st;
      },
    };
    const base = { ...OPTS, gradients: pool ?? undefined };
    // One step first, so the LM's per-length constants exist before counting.
    const before = tf.memory().numTensors;
    try {
      if (opts.stopAt) {
        await trainLoop(enc, model.lm, m, { train: examples, val: [] }, opt, { ...base, stopAt: opts.stopAt }, hooks);
        await trainLoop(enc, model.lm, m, { train: examples, val: [] }, opt, base, hooks, last);
      } else {
        await trainLoop(enc, model.lm, m, { train: examples, val: [] }, opt, base, hooks);
      }
    } finally {
      await pool?.close();
    }
    const leakedMain = tf.memory().numTensors - before;
    const weights = await Promise.all([...enc.variables.values()].map(async (v) => (await v.data()) as Float32Array));
    opt.dispose();
    enc.dispose();
    return { weights, losses, leakedMain, workerTensors };
  };

  it('splits a batch into contiguous shares that differ by at most one', () => {
    assert.deepEqual(splitShares([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2, 3], [4, 5], [6, 7]]);
    assert.deepEqual(splitShares([1], 2), [[1], []]);
  });

  it('2 and 3 threads train the same weights as 1 at the same global batch and seed, within float rounding', async () => {
    const one = await run(1);
    for (const threads of [2, 3]) {
      const k = await run(threads);
      one.losses.forEach((l, i) => assert.ok(Math.abs(l - k.losses[i]) < 1e-4 * Math.max(1, Math.abs(l)), `threads ${threads}, step ${i + 1}: loss ${k.losses[i]} vs ${l}`));
      let worst = 0;
      one.weights.forEach((w, i) => w.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - k.weights[i][j])))));
      assert.ok(worst < 1e-4, `threads ${threads}: weights differ by up to ${worst}`);
      assert.ok(one.weights.some((w, i) => w.some((x, j) => x !== 0 || k.weights[i][j] !== 0)), 'the weights moved');
    }
  });

  it('leaves no tensor behind per step, in the training thread or in any worker', async () => {
    const r = await run(3);
    assert.equal(r.leakedMain, 0);
    const after2 = r.workerTensors.slice(1);
    for (const counts of after2) assert.deepEqual(counts, r.workerTensors[1], `worker tensors per step: ${JSON.stringify(r.workerTensors)}`);
  });

  it('a run with workers stopped and resumed equals an uninterrupted one exactly', async () => {
    const straight = await run(2);
    const resumed = await run(2, { stopAt: 3 });
    assert.deepEqual(resumed.weights, straight.weights);
  });
});
