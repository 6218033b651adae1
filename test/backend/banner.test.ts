// The cpu backend's "running TensorFlow.js in Node.js ... install tfjs-node" banner is silenced.
// A file of its own: the banner fires once per backend instance, so this must be the first cpu use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';

const BANNER = /running TensorFlow\.js in\s+Node\.js/;

/** Run `f` with console.warn / console.log captured; returns what they were given. */
function capture(f: () => void): string[] {
  const seen: string[] = [];
  const { warn, log } = console;
  console.warn = (...args: unknown[]) => void seen.push(args.map(String).join(' '));
  console.log = console.warn;
  try {
    f();
  } finally {
    console.warn = warn;
    console.log = log;
  }
  return seen;
}

test('initBackend silences the cpu banner', async () => {
  await initBackend('cpu', { quiet: true });
  const seen = capture(() => {
    tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync());
  });
  assert.ok(!seen.some((s) => BANNER.test(s)), seen.join('\n'));
});

test('control: a fresh cpu backend instance does print the banner', () => {
  const seen = capture(() => {
    new tf.MathBackendCPU().write(new Float32Array(1), [1], 'float32');
  });
  assert.ok(seen.some((s) => BANNER.test(s)), 'banner not seen: the check above proves nothing');
});
