/**
 * Streamed training data: the head's statistics from one pass equal the in-memory ones, the caps
 * hold, a streamed run stopped and resumed from its saved data position gives the same next-step
 * loss and final weights as an uninterrupted one, and --stream with --texts is one clear error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { openDatasetWriter, readDataset, type SolutionRecord } from '../../src/datasets/index.js';
import type { LoadedModel } from '../../src/lm/load.js';
import { loadStreamData } from '../../src/encoder/data.js';
import { usableRow } from '../../src/encoder/data_rows.js';
import { eStats, fallbackStats } from '../../src/encoder/head.js';
import { buildEncoder, encoderSpec } from '../../src/encoder/spec.js';
import { EncoderOptimizer } from '../../src/encoder/optimizer.js';
import { LOSS_DEFAULTS } from '../../src/encoder/losses.js';
import { openStreamSource } from '../../src/encoder/train_feed.js';
import { type TrainLoopOptions, trainLoop } from '../../src/encoder/train.js';
import type { TrainState } from '../../src/encoder/checkpoint.js';
import { Prng } from '../../src/util/prng.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { assertUserError, runCli } from '../cli/run.js';
import { recipeDifferences } from '../../src/encoder/config.js';
import { tempDir, testOptions } from '../datasets/helpers.js';

const D = 64; // the embedded model's width
const N = 4;
const ROWS = 60;

/** Row i: N in-vocabulary tokens, a pseudo-random e; every fifth row unsolved (the loader must skip it). */
function rowOf(i: number): SolutionRecord {
  return {
    textId: `s${i}`, text: `row ${i}`, tokenIds: Int32Array.from({ length: N }, (_, j) => 3 + ((i * 37 + j * 11) % 400)),
    e: new Prng(100 + i).normals(D, 0.5), seed: i, steps: 10, accuracy: 1, cTokens: N, prefixLen: N, loss: 0.1, hLmNats: 1, solved: i % 5 !== 4, seconds: 0.1,
  };
}

const OPTS: TrainLoopOptions = {
  loss: { kind: 'distill', ...LOSS_DEFAULTS }, batchSize: 8, steps: 14, stopAt: 14, lr: 0.003, warmupSteps: 2, minLrFactor: 0.1,
  seed: 3, valEvery: 0, logEvery: 1, checkpointEvery: 100,
};

describe('streamed encoder data', () => {
  let model: LoadedModel;
  let dir: string;
  let cleanup: () => Promise<void>;
  const m = new Prng(2).normals(D, 0.3);
  before(async () => {
    model = await loadEmbeddedModel();
    ({ dir, cleanup } = await tempDir());
    const w = await openDatasetWriter(dir, testOptions({ model: { id: 'test/tiny', fingerprint: 'f'.repeat(64), tokenizerHash: 't'.repeat(64), dModel: D }, length: N, m }));
    // Several record batches, so the loader's per-epoch shuffle has units to permute.
    for (let k = 0; k < ROWS; k += 7) await w.append(Array.from({ length: Math.min(7, ROWS - k) }, (_, j) => rowOf(k + j)));
    await w.close();
  });
  after(async () => {
    model.lm.dispose();
    await cleanup();
  });

  it('--reference-min-accuracy admits best-effort rows; by default only the solver\'s solved rows count', async () => {
    const records = (await readDataset(dir)).toRecords().filter((r) => r.split === 'train');
    const solved = records.filter((r) => r.solved).length;
    assert.ok(solved < records.length, 'the fixture has unsolved rows (accuracy 1 but not solved)');
    const strict = await loadStreamData({ dataset: dir, window: N, maxReference: 1000, maxVal: null }, D);
    const loose = await loadStreamData({ dataset: dir, window: N, maxReference: 1000, maxVal: null, referenceMinAccuracy: 0.5 }, D);
    assert.equal(strict.reference?.textIds.length, solved);
    assert.equal(loose.reference?.textIds.length, records.length);
    assert.deepEqual([usableRow(false, 0.7, 0.5), usableRow(false, 0.4, 0.5), usableRow(false, 1), usableRow(true, 0.2)], [true, false, false, true]);
  });

  it('takes the statistics of every solved training e in one pass, and caps reference and val', async () => {
    const ds = await readDataset(dir);
    const train = ds.toRecords().filter((r) => r.split === 'train' && r.solved);
    const valRows = ds.toRecords().filter((r) => r.split === 'val' && r.solved);
    assert.ok(train.length > 20 && valRows.length > 0, `${train.length} train, ${valRows.length} val`);
    const flat = new Float32Array(train.length * D);
    train.forEach((r, i) => flat.set(r.e, i * D));
    const want = eStats(flat, D);
    const got = await loadStreamData({ dataset: dir, window: N, maxReference: 5, maxVal: 1 }, D);
    assert.equal(got.trainRows, train.length);
    assert.equal(got.stats?.count, train.length);
    for (let j = 0; j < D; j++) {
      assert.ok(Math.abs((got.stats?.mean[j] ?? NaN) - want.mean[j]) < 1e-5, `mean[${j}]`);
      assert.ok(Math.abs((got.stats?.std[j] ?? NaN) - want.std[j]) < 1e-5, `std[${j}]`);
    }
    assert.ok(Math.abs((got.stats?.meanNorm ?? NaN) - want.meanNorm) < 1e-4);
    assert.deepEqual(got.reference?.textIds, train.slice(0, 5).map((r) => r.textId));
    assert.deepEqual([...(got.reference?.e ?? [])], train.slice(0, 5).flatMap((r) => [...r.e]));
    assert.deepEqual(got.val.map((v) => v.id), [valRows[0].textId]);
    assert.deepEqual(got.datasetM, m);
    await assert.rejects(loadStreamData({ dataset: dir, window: N + 1, maxReference: 5, maxVal: 1 }, D), /N=4 tokens but the encoder trains on windows of 5/);
  });

  it('a streamed run stopped and resumed from its data position equals an uninterrupted one', async () => {
    const data = await loadStreamData({ dataset: dir, window: N, maxReference: 100, maxVal: 4 }, D);
    const fresh = (): { enc: ReturnType<typeof buildEncoder>; opt: EncoderOptimizer } => {
      const enc = buildEncoder(encoderSpec('transformer', { width: 16, layers: 1, heads: 2, maxLength: 8 }), { lm: model.lm, bosId: model.tokenizer.bosId, stats: data.stats ?? fallbackStats(D, 0.5) });
      return { enc, opt: new EncoderOptimizer(enc.variables, { lr: 0.003, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 }) };
    };
    // 14 steps of 8 over ~38 rows: several epochs, each ending in a short batch; the stop is mid-epoch.
    const run = async (stops: number[]): Promise<{ losses: Map<number, number>; weights: Float32Array; leaked: number }> => {
      const before = tf.memory().numTensors;
      const { enc, opt } = fresh();
      const losses = new Map<number, number>();
      // Assigned in the save hook (a closure), so spelled out for the type checker.
      let state = null as TrainState | null;
      for (const stopAt of stops) {
        const source = await openStreamSource(dir, { batchRows: OPTS.batchSize, seed: OPTS.seed }, state?.data);
        try {
          await trainLoop(enc, model.lm, m, { train: source, val: data.val }, opt, { ...OPTS, stopAt }, {
            onLog: (step, s) => void losses.set(step, s.loss),
            save: async (kind, st) => {
              if (kind === 'last') state = JSON.parse(JSON.stringify(st)) as TrainState; // as train_state.json stores it
            },
          }, state);
        } finally {
          await source.close();
        }
      }
      const weights = (await (enc.variables.get('head.proj.weight') as tf.Variable).data()) as Float32Array;
      opt.dispose();
      enc.dispose();
      const leaked = tf.memory().numTensors - before;
      return { losses, weights, leaked };
    };
    const whole = await run([14]);
    const split = await run([6, 14]);
    assert.equal(whole.losses.size, 14);
    assert.equal(split.losses.get(7), whole.losses.get(7), 'the same next-step loss');
    assert.deepEqual([...split.losses], [...whole.losses]);
    assert.deepEqual(split.weights, whole.weights, 'the same final weights');
    assert.equal(split.leaked, 0, 'no tensor left behind (the first run warmed the LM\'s per-length constants)');
  });

  it('a run checkpointed before the stream keys existed resumes with their defaults, not with another one', () => {
    assert.deepEqual(recipeDifferences({ lr: 0.01 }, { lr: 0.01, stream: false, maxReference: 20000 }), []);
    assert.deepEqual(recipeDifferences({ lr: 0.01 }, { lr: 0.01, stream: true, maxReference: 20000 }), ['stream: saved false vs now true']);
  });

  it('refuses --stream with --texts, and --stream without --dataset, in one message each', async () => {
    const base = ['train', '--name', 'x', '--checkpoints-dir', `${dir}/ck`, '--window', String(N), '--stream', '--backend', 'wasm', '--quiet'];
    assertUserError(await runCli([...base, '--dataset', dir, '--texts', `${dir}/t.jsonl`]), /--texts cannot be combined with --stream/);
    assertUserError(await runCli(base), /--stream streams a solution dataset/, /--dataset/);
  });
});
