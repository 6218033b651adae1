// UnsortedSegmentSum kernels (wasm added, cpu replaced) and the gather gradient that uses them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../src/util/prng.js';
import * as tf from '@tensorflow/tfjs';
import { initBackend, installPatches, uninstallPatches } from '../../src/backend/index.js';

const BACKENDS = ['wasm', 'cpu'] as const;

/** Deterministic uniform [0, 1) from the project's seeded PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.uniform();
}

/**
 * Reference deliberately shaped unlike the kernel: per segment, scan all rows (O(S*n)), sum in
 * float64. `ids` index the flattened leading dims of x.
 */
function reference(x: number[], ids: number[], numSegments: number): number[] {
  const inner = ids.length === 0 ? 0 : x.length / ids.length;
  const out: number[] = [];
  for (let s = 0; s < numSegments; s++) {
    for (let j = 0; j < inner; j++) {
      let acc = 0;
      ids.forEach((id, i) => {
        if (id === s) acc += x[i * inner + j];
      });
      out.push(acc);
    }
  }
  return out;
}

/** tf's op types ids as Tensor1D; TF semantics (and our kernels) also take the leading dims. */
function idsTensor(ids: number[], shape: number[]): tf.Tensor1D {
  const t: tf.Tensor = tf.tensor(ids, shape, 'int32');
  return t as tf.Tensor1D;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

interface Case {
  name: string;
  xShape: number[];
  idsShape: number[];
  numSegments: number;
  dtype: 'float32' | 'int32';
}

const CASES: Case[] = [
  // ids drawn from [-2, numSegments + 2): repeats, negatives and too-large ids; id 5 never occurs.
  { name: 'float32 rank 2', xShape: [50, 7], idsShape: [50], numSegments: 10, dtype: 'float32' },
  { name: 'int32 rank 2', xShape: [40, 3], idsShape: [40], numSegments: 9, dtype: 'int32' },
  { name: 'float32 rank 3', xShape: [6, 4, 3], idsShape: [6], numSegments: 8, dtype: 'float32' },
  { name: 'rank-2 ids (TF semantics)', xShape: [3, 4, 5], idsShape: [3, 4], numSegments: 7, dtype: 'float32' },
  { name: 'rank-1 x', xShape: [30], idsShape: [30], numSegments: 6, dtype: 'float32' },
  { name: 'zero segments', xShape: [5, 2], idsShape: [5], numSegments: 0, dtype: 'float32' },
];

function makeCase(c: Case, seed: number): { x: number[]; ids: number[] } {
  const r = rng(seed);
  const size = c.xShape.reduce((p, d) => p * d, 1);
  const rows = c.idsShape.reduce((p, d) => p * d, 1);
  const x = Array.from({ length: size }, () => (c.dtype === 'int32' ? Math.floor(r() * 201) - 100 : r() * 2 - 1));
  const ids = Array.from({ length: rows }, () => {
    const id = Math.floor(r() * (c.numSegments + 4)) - 2;
    return id === 5 ? 6 : id;
  });
  return { x, ids };
}

for (const backend of BACKENDS) {
  test(`unsortedSegmentSum equals a plain JS reference on ${backend}`, async () => {
    await initBackend(backend, { quiet: true });
    CASES.forEach((c, seed) => {
      const { x, ids } = makeCase(c, seed + 1);
      const out = tf.tidy(() =>
        tf.unsortedSegmentSum(tf.tensor(x, c.xShape, c.dtype), idsTensor(ids, c.idsShape), c.numSegments),
      );
      assert.deepEqual(out.shape, [c.numSegments, ...c.xShape.slice(c.idsShape.length)], `${c.name}: shape`);
      assert.equal(out.dtype, c.dtype, `${c.name}: dtype`);
      const expected = reference(x, ids, c.numSegments);
      if (c.dtype === 'int32') assert.deepEqual(Array.from(out.dataSync()), expected, c.name);
      else assertClose(out.dataSync(), expected, 1e-5, c.name);
      out.dispose();
    });
  });

  test(`unsortedSegmentSum rejects ids that are not a prefix of x's shape on ${backend}`, async () => {
    await initBackend(backend, { quiet: true });
    const x = tf.zeros([4, 3]);
    const ids = tf.tensor1d([0, 1, 2], 'int32');
    assert.throws(() => tf.unsortedSegmentSum(x, ids, 3), /segmentIds shape \[3\] must equal the leading dims/);
    tf.dispose([x, ids]);
  });

  test(`gather gradient into a [V, d] table equals scattered upstream grads on ${backend}`, async () => {
    await initBackend(backend, { quiet: true });
    const V = 20;
    const d = 8;
    const r = rng(7);
    const ids = [
      [1, 1, 3],
      [19, 0, 1],
    ];
    const w = Array.from({ length: 2 * 3 * d }, () => r() * 2 - 1);
    const table = tf.randomNormal([V, d]);
    const idsT = tf.tensor2d(ids, [2, 3], 'int32');
    const wT = tf.tensor3d(w, [2, 3, d]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idsT), wT)))(table); // [V, d]
    assert.deepEqual(g.shape, [V, d]);
    const expected = new Array<number>(V * d).fill(0);
    ids.flat().forEach((id, i) => {
      for (let j = 0; j < d; j++) expected[id * d + j] += w[i * d + j];
    });
    assertClose(g.dataSync(), expected, 1e-5, 'dTable');

    // axis 1: the gradient transposes around the segment sum.
    const x = tf.randomNormal([4, 10, 3]);
    const idx = tf.tensor1d([9, 2, 2], 'int32');
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, idx, 1)))(x); // [4, 10, 3]
    const gxv = gx.arraySync() as number[][][];
    for (const plane of gxv) {
      plane.forEach((row, v) => row.forEach((val) => assert.equal(val, v === 9 ? 1 : v === 2 ? 2 : 0)));
    }
    tf.dispose([g, table, idsT, wT, x, idx, gx]);
  });

  test(`gather gradient leaks no tensors over 20 calls on ${backend}`, async () => {
    await initBackend(backend, { quiet: true });
    const table = tf.randomNormal([50, 16]);
    const ids = tf.tensor1d([3, 4, 3, 49], 'int32');
    const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.gather(t, ids)));
    tf.grad(f)(table).dispose(); // warm-up: first calls may allocate caches
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 20; i++) tf.grad(f)(table).dispose();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), dataIds);
    tf.dispose([table, ids]);
  });
}

test('cpu kernel agrees with the stock cpu kernel and is O(n)', async () => {
  await initBackend('cpu', { quiet: true });
  const c = CASES[0];
  const { x, ids } = makeCase(c, 1);
  const run = (): Float32Array | Int32Array | Uint8Array =>
    tf.tidy(() => tf.unsortedSegmentSum(tf.tensor(x, c.xShape), idsTensor(ids, c.idsShape), c.numSegments)).dataSync();
  const ours = run();
  uninstallPatches();
  try {
    assertClose(ours, run(), 1e-6, 'ours vs stock');
  } finally {
    installPatches();
  }
  // Stock cost is ~5 ops per segment (seconds for 20k segments); ours is one pass over the data.
  const big = tf.randomNormal([256, 64]);
  const bigIds = tf.randomUniform([256], 0, 20000, 'int32') as tf.Tensor1D;
  const t0 = performance.now();
  const out = tf.unsortedSegmentSum(big, bigIds, 20000);
  out.dataSync();
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `20000 segments took ${ms.toFixed(0)} ms`);
  tf.dispose([big, bigIds, out]);
});
