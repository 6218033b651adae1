/**
 * Incremental decoding (`forwardCached` + KvCache) against the full `forward`: for every fixture
 * architecture (Llama with GQA, GPT-NeoX parallel and sequential with partial rotary), on wasm and
 * cpu, batch 1 and batch 3, the logits of prefill + one-position steps equal `forward`'s at every
 * position within the fixtures' tolerance; dropping rows keeps the others exact; the cached
 * samplers give the tokens a full-forward sampler gives; nothing leaks.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM } from '../../src/lm/load.js';
import type { CausalLM } from '../../src/lm/types.js';
import { KvCache } from '../../src/lm/kv_cache.js';
import { chooseToken, generate } from '../../src/lm/generate.js';
import { sampleBatch } from '../../src/lm/sample_batch.js';
import { Prng } from '../../src/util/prng.js';
import { useBackend, TEST_BACKENDS } from '../helpers/backend.js';
import { MODEL_FIXTURES, fixtureDir } from '../helpers/fixtures.js';

/** The fixtures' rule for float32 logits (1e-4 abs + 1e-4 rel). */
const ABS = 1e-4;
const REL = 1e-4;

/** Token sequences of length T, one per row, deterministic and distinct. */
function rowsOfIds(B: number, T: number, vocab: number): number[][] {
  const rng = new Prng(1234);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(0, vocab)));
}

/** Full-forward logits of B rows of ids: [B*T*V]. */
async function fullLogits(lm: CausalLM, rows: number[][]): Promise<Float32Array> {
  const logits = tf.tidy(() => lm.forward(lm.embed(tf.tensor2d(rows, undefined, 'int32'))));
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return data;
}

/**
 * Logits of the same rows decoded incrementally: a prefill of `prefill` positions, then one
 * position per step, reassembled as [B*T*V]. `dropAt` removes the last row after that step (its
 * later logits are then absent: NaN).
 */
async function cachedLogits(lm: CausalLM, rows: number[][], prefill: number, dropAt = -1): Promise<Float32Array> {
  const B = rows.length;
  const T = rows[0].length;
  const V = lm.config.vocabSize;
  const out = new Float32Array(B * T * V).fill(NaN);
  const cache = new KvCache(lm.config, T);
  let live = rows.map((_, b) => b);
  try {
    for (let start = 0; start < T; ) {
      const t = start === 0 ? prefill : 1;
      const ids = live.map((b) => rows[b].slice(start, start + t));
      const logits = tf.tidy(() => lm.forwardCached(lm.embed(tf.tensor2d(ids, [live.length, t], 'int32')), cache)); // [B', t, V]
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      live.forEach((b, i) => out.set(data.subarray(i * t * V, (i + 1) * t * V), (b * T + start) * V));
      start += t;
      assert.equal(cache.length, start);
      if (start - 1 === dropAt) {
        live = live.slice(0, -1);
        cache.keepRows(live);
      }
    }
  } finally {
    cache.dispose();
  }
  return out;
}

function assertClose(ours: Float32Array, ref: Float32Array, what: string): void {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ours[i])) continue; // a dropped row's later positions
    const err = Math.abs(ours[i] - ref[i]);
    worst = Math.max(worst, err);
    assert.ok(err <= ABS + REL * Math.abs(ref[i]), `${what}: entry ${i} = ${ours[i]} vs forward ${ref[i]}`);
  }
  assert.ok(worst < ABS, `${what}: max abs error ${worst}`);
}

/** Reference sampler: the whole prefix through `forward` for every token (the pre-cache algorithm). */
async function sampleByForward(lm: CausalLM, seed: number, prompt: number[], maxNew: number, stop: ReadonlySet<number>): Promise<number[]> {
  const rng = new Prng(seed);
  const seq = [...prompt];
  const V = lm.config.vocabSize;
  for (let n = 0; n < maxNew; n++) {
    const all = await fullLogits(lm, [seq]);
    const next = chooseToken(all.subarray((seq.length - 1) * V, seq.length * V), 1, rng, n < 1 ? stop : new Set());
    if (stop.has(next)) break;
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

for (const backend of TEST_BACKENDS) {
  for (const model of MODEL_FIXTURES) {
    describe(`incremental decoding of ${model} on ${backend}`, () => {
      let lm: CausalLM;
      before(async () => {
        await useBackend(backend);
        lm = await loadCausalLM(fixtureDir(model));
      });
      after(() => lm.dispose());

      for (const [B, T, prefill] of [
        [1, 24, 1],
        [1, 24, 5],
        [3, 24, 1],
        [3, 24, 7],
      ]) {
        it(`B=${B}, T=${T}, prefill ${prefill}: every position's logits equal forward's`, async () => {
          const rows = rowsOfIds(B, T, lm.config.vocabSize);
          assertClose(await cachedLogits(lm, rows, prefill), await fullLogits(lm, rows), `B=${B} prefill ${prefill}`);
        });
      }

      it('a row dropped mid-way leaves the others exact (keepRows)', async () => {
        const rows = rowsOfIds(3, 16, lm.config.vocabSize);
        assertClose(await cachedLogits(lm, rows, 2, 6), await fullLogits(lm, rows), 'after keepRows');
      });

      it('refuses steps it does not support and leaks no tensors', async () => {
        const rows = rowsOfIds(2, 8, lm.config.vocabSize);
        await cachedLogits(lm, rows, 3); // warm per-length caches
        const before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) await cachedLogits(lm, rows, 1 + i, i === 1 ? 4 : -1);
        await generate(lm, [1, 2], { maxNewTokens: 6 });
        await sampleBatch(lm, [1, 2, 3], { prompt: [1], maxNewTokens: 6, stopIds: [2, 5, 7], minNewTokens: 1 });
        const cache = new KvCache(lm.config, 4);
        const x = tf.tidy(() => lm.embed(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'))); // [2, 2, d]
        const step = (B: number, t: number): tf.Tensor3D => tf.tidy(() => lm.forwardCached(tf.slice(x, [0, 0, 0], [B, t, -1]), cache));
        tf.dispose(step(2, 2)); // prefill
        assert.throws(() => step(2, 2), /one position at a time/);
        assert.throws(() => step(1, 1), /holds 2 rows/);
        tf.dispose([step(2, 1), step(2, 1)]);
        assert.throws(() => step(2, 1), /exceed the capacity 4/);
        assert.throws(() => new KvCache(lm.config, lm.config.maxPositions + 1), /capacity must be/);
        cache.dispose();
        x.dispose();
        assert.equal(tf.memory().numTensors, before);
      });
    });
  }
}

describe('cached sampling gives the tokens of full-forward sampling (stories260k, wasm)', () => {
  let lm: CausalLM;
  before(async () => {
    await useBackend('wasm');
    lm = await loadCausalLM(fixtureDir('stories260k'));
  });
  after(() => lm.dispose());

  it('sampleBatch (4 rows in lockstep, BOS/EOS stop) equals one-row full-forward sampling per seed', async () => {
    const seeds = [11, 12, 13, 14];
    const stop = new Set([1, 2]);
    const batched = await sampleBatch(lm, seeds, { prompt: [1], maxNewTokens: 48, stopIds: [...stop], minNewTokens: 1 });
    for (const [i, seed] of seeds.entries()) assert.deepEqual(batched[i].ids, await sampleByForward(lm, seed, [1], 48, stop), `seed ${seed}`);
  });

  it('a long sequence (300 positions) still matches forward at every position', async () => {
    const rows = rowsOfIds(2, 300, lm.config.vocabSize);
    assertClose(await cachedLogits(lm, rows, 1), await fullLogits(lm, rows), 'T=300');
  });
});
