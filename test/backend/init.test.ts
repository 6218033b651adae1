// initBackend: choice resolution, printing once, idempotence, errors, patch switching.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { currentBackend, initBackend, patchState } from '../../src/backend/index.js';
import { PrototokenError } from '../../src/util/errors.js';

function resolvable(spec: string): boolean {
  try {
    createRequire(import.meta.url).resolve(spec);
    return true;
  } catch {
    return false;
  }
}
const NATIVE = resolvable('@tensorflow/tfjs-node-gpu') || resolvable('@tensorflow/tfjs-node');

test('auto picks the best available backend and prints it once', async () => {
  const lines: string[] = [];
  const log = (line: string): void => void lines.push(line);
  const info = await initBackend('auto', { log });
  assert.equal(info.name, NATIVE ? 'tensorflow' : 'wasm');
  assert.equal(tf.getBackend(), info.name);
  if (!NATIVE) assert.match(info.detail, /^wasm \((no )?simd, \d+ threads?\)$/);
  assert.deepEqual(lines, [`backend: ${info.detail}`]);

  assert.deepEqual(await initBackend('auto', { log }), info);
  // Same backend through another choice: nothing new to say.
  if (!NATIVE) await initBackend('wasm', { log });
  await Promise.all([initBackend('auto', { log }), initBackend('auto', { log })]);
  assert.deepEqual(lines, [`backend: ${info.detail}`]);
  assert.deepEqual(currentBackend(), info);
});

test('switching backend announces the new one; quiet announces nothing', async () => {
  const lines: string[] = [];
  const log = (line: string): void => void lines.push(line);
  assert.deepEqual(await initBackend('cpu', { log }), { name: 'cpu', detail: 'cpu (pure JS)' });
  assert.equal(tf.getBackend(), 'cpu');
  await initBackend('wasm', { log, quiet: true });
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(lines, ['backend: cpu (pure JS)']);
});

test('--backend tensorflow without tfjs-node fails with an install hint and leaves the backend alone', { skip: NATIVE }, async () => {
  await initBackend('wasm', { quiet: true });
  await assert.rejects(initBackend('tensorflow', { quiet: true }), (err: unknown) => {
    assert.ok(err instanceof PrototokenError);
    assert.match(err.message, /npm i @tensorflow\/tfjs-node-gpu/);
    assert.match(err.message, /--backend wasm/);
    assert.match(err.message, /libtensorflow/);
    return true;
  });
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(currentBackend()?.name, 'wasm');
});

test('an unknown choice is a PrototokenError naming the valid ones', async () => {
  const bad = 'gpu' as unknown as 'auto';
  await assert.rejects(initBackend(bad), (err: unknown) => err instanceof PrototokenError && /auto, tensorflow, wasm, cpu/.test(err.message));
});

test('patches option switches the replacements on every call', async () => {
  await initBackend('wasm', { quiet: true, patches: false });
  assert.deepEqual(patchState(), { segmentSum: false, matMulGrad: false, matMulKernel: false });
  // Stock tfjs-backend-wasm has no such kernel.
  assert.throws(
    () => tf.tidy(() => tf.unsortedSegmentSum(tf.ones([2]), tf.tensor1d([0, 1], 'int32'), 2)),
    /Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'/,
  );
  await initBackend('cpu', { quiet: true, patches: { matMulKernel: false } });
  assert.deepEqual(patchState(), { segmentSum: true, matMulGrad: true, matMulKernel: false });
  await initBackend('wasm', { quiet: true });
  assert.deepEqual(patchState(), { segmentSum: true, matMulGrad: true, matMulKernel: true });
  const s = tf.tidy(() => tf.unsortedSegmentSum(tf.ones([2]), tf.tensor1d([0, 1], 'int32'), 2));
  assert.deepEqual(Array.from(s.dataSync()), [1, 1]);
  s.dispose();
});
