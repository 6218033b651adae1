// BatchMatMul gradient (no transposed operands, broadcast-aware) and the wasm forward wrapper.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../src/util/prng.js';
import * as tf from '@tensorflow/tfjs';
import { initBackend, installPatches, uninstallPatches } from '../../src/backend/index.js';

const COMBOS: readonly [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

interface Case {
  name: string;
  aBatch: number[];
  bBatch: number[];
}

// m, k, n all differ so any transposition slip changes a shape or a value.
const M = 3;
const K = 4;
const N = 5;
const CASES: Case[] = [
  { name: '2-D', aBatch: [], bBatch: [] },
  { name: 'batched both', aBatch: [3], bBatch: [3] },
  { name: 'single right operand (folded)', aBatch: [2, 3], bBatch: [] },
  { name: 'right operand batch 1', aBatch: [4], bBatch: [1] },
  { name: '2-D left, right batch 1', aBatch: [], bBatch: [1] },
  { name: 'partial broadcast', aBatch: [2, 3], bBatch: [3] },
  { name: 'left operand broadcast', aBatch: [1], bBatch: [4] },
  { name: '2-D left, batched right', aBatch: [], bBatch: [4] },
];

interface Data {
  a: number[];
  aShape: number[];
  b: number[];
  bShape: number[];
  w: number[];
  outShape: number[];
}

/** Deterministic uniform [0, 1) from the project's seeded PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.uniform();
}

function makeData(c: Case, tA: boolean, tB: boolean, seed: number): Data {
  const r = rng(seed);
  const fill = (shape: number[]): number[] => Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => r() * 2 - 1);
  const aShape = [...c.aBatch, ...(tA ? [K, M] : [M, K])];
  const bShape = [...c.bBatch, ...(tB ? [N, K] : [K, N])];
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(c.aBatch, c.bBatch), M, N];
  // A random upstream gradient: with all-ones dy, some transposition mistakes cancel out.
  return { a: fill(aShape), aShape, b: fill(bShape), bShape, w: fill(outShape), outShape };
}

interface Result {
  y: number[];
  ga: number[];
  gb: number[];
}

/** Forward value and gradients of sum(matMul(a, b) * w), on the active backend with current patches. */
function run(d: Data, tA: boolean, tB: boolean, broadcastExplicitly: boolean): Result {
  return tf.tidy(() => {
    const a = tf.tensor(d.a, d.aShape);
    const b = tf.tensor(d.b, d.bShape);
    const w = tf.tensor(d.w, d.outShape);
    const batch = d.outShape.slice(0, -2);
    const f = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => {
      // The stock gradient cannot handle broadcast batch dims; broadcasting the operands first makes
      // the reference a plain batched product (broadcastTo's own gradient does the summing).
      const xx = broadcastExplicitly ? tf.broadcastTo(x, [...batch, ...d.aShape.slice(-2)]) : x;
      const yy = broadcastExplicitly ? tf.broadcastTo(y, [...batch, ...d.bShape.slice(-2)]) : y;
      return tf.matMul(xx, yy, tA, tB);
    };
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), w)))([a, b]);
    const y = f(a, b);
    assert.deepEqual(y.shape, d.outShape);
    assert.deepEqual(ga.shape, d.aShape);
    assert.deepEqual(gb.shape, d.bShape);
    return { y: Array.from(y.dataSync()), ga: Array.from(ga.dataSync()), gb: Array.from(gb.dataSync()) };
  });
}

function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-5 * Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Record the transpose flags and operand ranks of every BatchMatMul the active backend runs. */
function spyMatMul(backend: string): { calls: { tA: boolean; tB: boolean; ranks: number[] }[]; restore: () => void } {
  const original = tf.getKernel('BatchMatMul', backend);
  const calls: { tA: boolean; tB: boolean; ranks: number[] }[] = [];
  tf.unregisterKernel('BatchMatMul', backend);
  tf.registerKernel({
    ...original,
    kernelFunc: (params) => {
      const ranks = [params.inputs.a?.shape.length ?? -1, params.inputs.b?.shape.length ?? -1];
      calls.push({ tA: params.attrs?.transposeA === true, tB: params.attrs?.transposeB === true, ranks });
      return original.kernelFunc(params);
    },
  });
  return {
    calls,
    restore: () => {
      tf.unregisterKernel('BatchMatMul', backend);
      tf.registerKernel(original);
    },
  };
}

test('patched matMul forward and gradients equal the stock ones (cpu reference) on wasm and cpu', async () => {
  await initBackend('cpu', { quiet: true, patches: false });
  const expected = new Map<string, Result>();
  const data = new Map<string, Data>();
  CASES.forEach((c, ci) =>
    COMBOS.forEach(([tA, tB], k) => {
      const key = `${c.name} tA=${tA} tB=${tB}`;
      const d = makeData(c, tA, tB, 100 * ci + k + 1);
      data.set(key, d);
      expected.set(key, run(d, tA, tB, true));
    }),
  );
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend, { quiet: true, patches: true });
    for (const c of CASES) {
      for (const [tA, tB] of COMBOS) {
        const key = `${c.name} tA=${tA} tB=${tB}`;
        const got = run(data.get(key)!, tA, tB, false);
        const want = expected.get(key)!;
        assertClose(got.y, want.y, `${backend} ${key} y`);
        assertClose(got.ga, want.ga, `${backend} ${key} dA`);
        assertClose(got.gb, want.gb, `${backend} ${key} dB`);
      }
    }
  }
});

test('the gradient never asks matMul for a transposed operand (and folds single right operands)', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend, { quiet: true });
    for (const c of CASES) {
      for (const [tA, tB] of COMBOS) {
        const d = makeData(c, tA, tB, 1);
        const spy = spyMatMul(backend);
        try {
          run(d, tA, tB, false);
        } finally {
          spy.restore();
        }
        const what = `${backend} ${c.name} tA=${tA} tB=${tB}`;
        // run(): the forward inside tf.grads, dA, dB, then one more forward for the value.
        assert.equal(spy.calls.length, 4, what);
        const [fwd, gA, gB, fwd2] = spy.calls;
        assert.deepEqual([fwd.tA, fwd.tB, fwd2.tA, fwd2.tB], [tA, tB, tA, tB], `${what}: forward flags`);
        for (const g of [gA, gB]) assert.deepEqual([g.tA, g.tB], [false, false], `${what}: backward flags`);
        if (!tA && c.bBatch.every((x) => x === 1)) {
          for (const g of [gA, gB]) assert.deepEqual(g.ranks, [2, 2], `${what}: folded to 2-D`);
        }
      }
    }
  }
});

test('control: the stock gradient does ask for transposed operands (the spy can see them)', async () => {
  await initBackend('cpu', { quiet: true, patches: false });
  const spy = spyMatMul('cpu');
  try {
    run(makeData(CASES[0], false, false, 1), false, false, false);
  } finally {
    spy.restore();
    installPatches();
  }
  assert.ok(spy.calls.some((g) => g.tA || g.tB));
});

test('stock gradient fails on broadcast batch dims; the patched one does not', async () => {
  await initBackend('cpu', { quiet: true });
  const d = makeData(CASES[2], false, false, 3);
  uninstallPatches();
  try {
    assert.throws(() => run(d, false, false, false), /does not match the shape of the input/);
  } finally {
    installPatches();
  }
  assert.doesNotThrow(() => run(d, false, false, false));
});

test('matMul gradients leak no tensors or buffers over 20 calls', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend, { quiet: true });
    for (const c of [CASES[1], CASES[2], CASES[5]]) {
      for (const [tA, tB] of COMBOS) {
        const d = makeData(c, tA, tB, 5);
        const a = tf.tensor(d.a, d.aShape);
        const b = tf.tensor(d.b, d.bShape);
        const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y, tA, tB)));
        tf.dispose(g([a, b])); // warm-up
        const tensors = tf.memory().numTensors;
        const buffers = tf.engine().backend.numDataIds();
        for (let i = 0; i < 20; i++) tf.dispose(g([a, b]));
        const what = `${backend} ${c.name} tA=${tA} tB=${tB}`;
        assert.equal(tf.memory().numTensors, tensors, `${what}: tensors`);
        assert.equal(tf.engine().backend.numDataIds(), buffers, `${what}: backend buffers`);
        tf.dispose([a, b]);
      }
    }
  }
});
