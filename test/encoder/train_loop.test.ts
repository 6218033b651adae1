/** trainLoop on the real LM: no tensor left behind per step, validation and snapshots at their steps, same seed same run. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { buildEncoder, encoderSpec } from '../../src/encoder/spec.js';
import { fallbackStats } from '../../src/encoder/head.js';
import { EncoderOptimizer } from '../../src/encoder/optimizer.js';
import { type TrainLoopOptions, curriculumLength, trainLoop } from '../../src/encoder/train.js';
import type { CausalLM } from '../../src/lm/types.js';
import type { EncoderExample } from '../../src/encoder/batch.js';
import { LOSS_DEFAULTS } from '../../src/encoder/losses.js';
import { EpochSampler } from '../../src/encoder/sampler.js';
import { Prng } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';

const OPTS: TrainLoopOptions = {
  loss: { kind: 'recon', ...LOSS_DEFAULTS }, batchSize: 4, steps: 12, stopAt: 12, lr: 0.003, warmupSteps: 2, minLrFactor: 0.1,
  seed: 1, valEvery: 5, logEvery: 3, checkpointEvery: 4,
};

describe('trainLoop', () => {
  let model: LoadedModel;
  const examples: EncoderExample[] = Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, ids: Int32Array.from({ length: 5 }, (_, j) => 3 + ((i * 31 + j * 7) % 400)), e: null }));
  const m = new Prng(2).normals(64, 0.3);
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  const run = async (): Promise<{ losses: number[]; saves: string[]; vals: number[]; weights: Float32Array; leaked: number }> => {
    const enc = buildEncoder(encoderSpec('transformer', { width: 16, layers: 1, heads: 2, maxLength: 8 }), { lm: model.lm, bosId: model.tokenizer.bosId, stats: fallbackStats(64, 0.5) });
    const opt = new EncoderOptimizer(enc.variables, { lr: 0.003, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 });
    const losses: number[] = [];
    const saves: string[] = [];
    const vals: number[] = [];
    // Warm the LM's per-length constants, then count.
    await trainLoop(enc, model.lm, m, { train: examples, val: examples.slice(0, 2) }, opt, { ...OPTS, stopAt: 1, steps: 1, valEvery: 0 }, { save: async () => undefined });
    opt.step = 0;
    const before = tf.memory().numTensors;
    await trainLoop(enc, model.lm, m, { train: examples, val: examples.slice(0, 3) }, opt, OPTS, {
      onLog: (step, s) => void losses.push(step, s.loss),
      onValidate: (step) => void vals.push(step),
      save: async (kind, st) => void saves.push(`${kind}@${st.step}`),
    });
    const leaked = tf.memory().numTensors - before;
    const weights = (await (enc.variables.get('head.proj.weight') as tf.Variable).data()) as Float32Array;
    opt.dispose();
    enc.dispose();
    return { losses, saves, vals, weights, leaked };
  };

  it('leaves no tensor behind, validates and saves on schedule, and is reproducible', async () => {
    const a = await run();
    assert.equal(a.leaked, 0);
    assert.deepEqual(a.vals, [5, 10, 12]);
    assert.deepEqual(a.losses.filter((_, i) => i % 2 === 0), [3, 6, 9, 12]);
    assert.ok(a.saves.includes('last@4') && a.saves.includes('last@8') && a.saves.includes('last@12'), a.saves.join(' '));
    assert.ok(a.saves.some((s) => s.startsWith('best@')));
    const b = await run();
    assert.deepEqual(b.losses, a.losses);
    assert.deepEqual(b.weights, a.weights);
  });

  it('the epoch sampler resumes exactly and covers every example once per epoch', () => {
    const whole = new EpochSampler(7, 3);
    const seq = Array.from({ length: 5 }, () => whole.next(3));
    const first = new EpochSampler(7, 3);
    first.next(3);
    first.next(3);
    const resumed = new EpochSampler(7, 3, first.state());
    assert.deepEqual([seq[0], seq[1], resumed.next(3), resumed.next(3), resumed.next(3)], seq);
    const epoch0 = seq.flat().slice(0, 7).sort();
    assert.deepEqual(epoch0, [0, 1, 2, 3, 4, 5, 6]);
  });

  it('an N curriculum feeds window prefixes until each stage ends, then whole windows', async () => {
    const stages = [{ n: 2, until: 3 }, { n: 4, until: 5 }];
    assert.deepEqual([0, 2, 3, 4, 5, 9].map((s) => curriculumLength(stages, s, 5)), [2, 2, 4, 4, 5, 5]);
    assert.equal(curriculumLength([{ n: 9, until: 3 }], 0, 5), 5, 'a stage longer than the window is the window');
    // Count the lengths the frozen LM is run at: training steps only (no validation).
    const lengths: number[] = [];
    const lm: CausalLM = Object.create(model.lm, {
      forward: { value: (x: tf.Tensor3D) => (lengths.push(x.shape[1]), model.lm.forward(x)) },
    }) as CausalLM;
    const enc = buildEncoder(encoderSpec('transformer', { width: 16, layers: 1, heads: 2, maxLength: 8 }), { lm: model.lm, bosId: model.tokenizer.bosId, stats: fallbackStats(64, 0.5) });
    const opt = new EncoderOptimizer(enc.variables, { lr: 0.003, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 });
    await trainLoop(enc, lm, m, { train: examples, val: [] }, opt, { ...OPTS, steps: 7, stopAt: 7, valEvery: 0, curriculum: stages }, { save: async () => undefined });
    assert.deepEqual(lengths, [2, 2, 2, 4, 4, 5, 5]);
    opt.dispose();
    enc.dispose();
  });
});
