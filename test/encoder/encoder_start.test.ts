/**
 * Issue 17, defect 10: where a fresh encoder starts. Without a dataset, e_hat used to start at the
 * zero vector, where the LM's first normalisation divides by ~sqrt(eps): the gradient norm at step
 * 1 was ~1e13 (clipping hid it). The start is now a seeded vector at the scale of the LM's token
 * embeddings; with a dataset it stays the training mean.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LoadedModel } from '../../src/lm/load.js';
import { embeddingStd } from '../../src/lm/embeddings.js';
import { trainSchema } from '../../src/encoder/config.js';
import { openTrainingRun, trainRun } from '../../src/encoder/run.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { CORPUS, SHIPPED_M } from '../helpers/fixtures.js';
import { tempDir } from '../cli/run.js';

describe('the encoder\'s start without a dataset', () => {
  let model: LoadedModel;
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    model = await loadEmbeddedModel();
    ({ dir, cleanup } = await tempDir('prototoken-start-'));
    await writeFile(join(dir, 'texts.jsonl'), (await readFile(CORPUS, 'utf8')).split('\n').slice(0, 40).join('\n') + '\n');
  });
  after(async () => {
    model.lm.dispose();
    await cleanup();
  });

  const config = (name: string, clipNorm: number) => trainSchema.parse({
    name, checkpointsDir: join(dir, 'ck'), logdir: join(dir, 'logs', name), texts: [join(dir, 'texts.jsonl')], m: SHIPPED_M,
    window: 8, width: 32, layers: 1, heads: 2, batch: 16, maxTrain: 256, steps: 2000, stopAtStep: 24, logEvery: 1, valEvery: 0,
    checkpointEvery: 1000, warmupSteps: 10, workers: 1, clipNorm, backend: 'wasm',
  });

  /** grad_norm (before clipping) of every step. */
  const gradNorms = async (name: string, clipNorm: number): Promise<number[]> => {
    const run = await openTrainingRun(config(name, clipNorm), model);
    const norms: number[] = [];
    try {
      await trainRun(run, { onLog: (_step, s) => void norms.push(s.grad_norm) });
    } finally {
      await run.close();
    }
    return norms;
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  it('the gradient norm at step 1 is within a few times its values around step 20, with and without clipping', async () => {
    for (const clip of [1, 0]) {
      const g = await gradNorms(`clip${clip}`, clip);
      assert.equal(g.length, 24);
      const later = median(g.slice(16, 24));
      assert.ok(Number.isFinite(g[0]) && g[0] <= 5 * later, `clip ${clip}: step 1 grad norm ${g[0].toExponential(2)} vs ${later.toExponential(2)} around step 20 (${g.map((x) => x.toExponential(1)).join(' ')})`);
      assert.ok(g[0] < 1e4, `clip ${clip}: step 1 grad norm ${g[0].toExponential(2)}`);
    }
  });

  it('a fresh encoder outputs a seeded vector at the embeddings\' scale, not zero', async () => {
    const a = await openTrainingRun(config('a', 1), model);
    const b = await openTrainingRun(config('b', 1), model);
    try {
      const shift = (await a.encoder.variables.get('head.shift')?.data()) as Float32Array;
      const norm = Math.hypot(...shift);
      const scale = embeddingStd(model.lm) * Math.sqrt(shift.length);
      assert.ok(norm > 0.5 * scale && norm < 2 * scale, `||start|| ${norm} vs the embeddings' ${scale}`);
      assert.deepEqual(await b.encoder.variables.get('head.shift')?.data(), shift, 'the same seed, the same start');
      assert.ok(Math.abs(a.meta.stats.meanNorm - norm) < 1e-4, 'encoder.json records the start\'s norm');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
