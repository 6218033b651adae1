/**
 * Kernel benchmark: ms per forward+backward of a small LM-shaped chain, stock tfjs vs our patches
 * (src/backend/patches.ts), on wasm and cpu. Not a test: it prints figures.
 *
 *   npx tsc -p . && node dist/bench/kernels.js [--quick]
 *
 * The chain has every op shape the solver leans on:
 *   ids [B, T] -> gather(E) [B, T, d]           (its gradient is UnsortedSegmentSum over V rows)
 *   -> relu(x @ W1) [B, T, h] -> @ W2 [B, T, d] (batched activations @ single weight matrix)
 *   -> softmax(h2 @ h2^T) @ h2 [B, T, d]        (attention-like: batched @ batched, transposeB)
 *   -> c @ E^T [B, T, V]                        (tied output head, transposeB)
 *   -> softmax cross-entropy -> grads for E, W1, W2.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type PatchOptions } from '../src/backend/index.js';
import { errorMessage } from '../src/util/errors.js';

const QUICK = process.argv.includes('--quick');

/** Model and batch sizes (a toy LM: a tenth of a small model's width, a short sequence). */
const SIZE = QUICK ? { V: 1024, d: 64, h: 256, B: 2, T: 16 } : { V: 4096, d: 256, h: 1024, B: 4, T: 32 };
/** Stop timing a configuration after this many ms or MAX_ITERS iterations, whichever is first. */
const BUDGET_MS = QUICK ? 400 : 3000;
const MAX_ITERS = 20;

interface Config {
  name: string;
  patches: PatchOptions;
}

const NONE: PatchOptions = { segmentSum: false, matMulGrad: false, matMulKernel: false };
const CONFIGS: Config[] = [
  { name: 'stock', patches: NONE },
  { name: '+segmentSum', patches: { ...NONE, segmentSum: true } },
  { name: '+segmentSum +matMulGrad', patches: { ...NONE, segmentSum: true, matMulGrad: true } },
  { name: 'all patches', patches: {} },
];

interface Params {
  E: tf.Tensor2D; // [V, d]
  W1: tf.Tensor2D; // [d, h]
  W2: tf.Tensor2D; // [h, d]
  ids: tf.Tensor2D; // [B, T] int32
  targets: tf.Tensor2D; // [B, T] one-hot flattened later
}

function makeParams(): Params {
  const { V, d, h, B, T } = SIZE;
  return tf.tidy(() => {
    const rand = (shape: [number, number], scale: number): tf.Tensor2D =>
      tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), scale) as tf.Tensor2D;
    return {
      E: rand([V, d], 0.02),
      W1: rand([d, h], 1 / Math.sqrt(d)),
      W2: rand([h, d], 1 / Math.sqrt(h)),
      ids: tf.randomUniform([B, T], 0, V, 'int32', 2) as tf.Tensor2D,
      targets: tf.randomUniform([B, T], 0, V, 'int32', 3) as tf.Tensor2D,
    };
  });
}

/**
 * The chain, returning the scalar loss. `linear3d`: linear layers take [B, T, d] activations
 * directly (a broadcast batch matMul, whose stock gradient throws); otherwise they see [B*T, d].
 */
function loss(p: Params, E: tf.Tensor, W1: tf.Tensor, W2: tf.Tensor, linear3d: boolean): tf.Scalar {
  const { V, d, B, T } = SIZE;
  const x = tf.gather(E, p.ids); //                                   [B, T, d]
  const rows = linear3d ? x : tf.reshape(x, [B * T, d]); //           [B, T, d] | [B*T, d]
  const h1 = tf.relu(tf.matMul(rows, W1)); //                         [.., h]
  const h2 = tf.reshape(tf.matMul(h1, W2), [B, T, d]); //             [B, T, d]
  const att = tf.softmax(tf.mul(tf.matMul(h2, h2, false, true), 1 / Math.sqrt(d))); // [B, T, T]
  const c = tf.add(tf.matMul(att, h2), x); //                         [B, T, d]
  const logits = tf.matMul(linear3d ? c : tf.reshape(c, [B * T, d]), E, false, true); // [.., V]
  const onehot = tf.oneHot(tf.reshape(p.targets, [-1]), V); //        [B*T, V]
  return tf.losses.softmaxCrossEntropy(onehot, tf.reshape(logits, [-1, V])) as tf.Scalar;
}

/** One forward+backward; blocks until the gradients are computed. */
function step(p: Params, linear3d: boolean): void {
  const g = tf.grads((E: tf.Tensor, W1: tf.Tensor, W2: tf.Tensor) => loss(p, E, W1, W2, linear3d));
  const grads = g([p.E, p.W1, p.W2]);
  for (const t of grads) t.dataSync();
  tf.dispose(grads);
}

function forwardOnly(p: Params, linear3d: boolean): void {
  const l = tf.tidy(() => loss(p, p.E, p.W1, p.W2, linear3d));
  l.dataSync();
  l.dispose();
}

/**
 * Median ms of `f` after one warm-up run. A warm-up slower than the whole budget (stock cpu runs
 * take tens of seconds) is itself the figure: JIT warm-up is noise at that scale.
 */
function time(f: () => void): number {
  const w0 = performance.now();
  f();
  const warm = performance.now() - w0;
  if (warm > BUDGET_MS) return warm;
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < MAX_ITERS && (samples.length < 3 || performance.now() - start < BUDGET_MS)) {
    const t0 = performance.now();
    f();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

interface Row {
  backend: string;
  chain: string;
  config: string;
  step: number | string;
  forward: number | string;
}

function attempt(f: () => void): number | string {
  try {
    return time(f);
  } catch (err) {
    return `fails: ${errorMessage(err).split('\n')[0].slice(0, 60)}`;
  }
}

/** The gather gradient alone (UnsortedSegmentSum into the [V, d] table). */
function gatherGradOnly(p: Params): void {
  const g = tf.grad((E: tf.Tensor) => tf.sum(tf.gather(E, p.ids)))(p.E);
  g.dataSync();
  g.dispose();
}

const CHAINS = [
  { name: '2-D linears', linear3d: false },
  { name: '3-D linears', linear3d: true },
];

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await initBackend(backend, { quiet: true });
    const p = makeParams();
    // matMulKernel only touches wasm; on cpu "all patches" equals "+segmentSum +matMulGrad".
    const configs = backend === 'wasm' ? CONFIGS : [CONFIGS[0], CONFIGS[1], CONFIGS[3]];
    for (const chain of CHAINS) {
      for (const c of configs) {
        await initBackend(backend, { quiet: true, patches: c.patches });
        const before = tf.memory().numTensors;
        const stepMs = attempt(() => step(p, chain.linear3d));
        const fwdMs = attempt(() => forwardOnly(p, chain.linear3d));
        rows.push({ backend, chain: chain.name, config: c.name, step: stepMs, forward: fwdMs });
        const leaked = tf.memory().numTensors - before;
        if (leaked !== 0 && typeof stepMs === 'number') console.warn(`warning: ${backend} ${c.name} leaked ${leaked} tensors`);
      }
    }
    for (const c of [CONFIGS[0], CONFIGS[1]]) {
      await initBackend(backend, { quiet: true, patches: c.patches });
      rows.push({ backend, chain: 'gather grad', config: c.name, step: attempt(() => gatherGradOnly(p)), forward: '' });
    }
    tf.dispose([p.E, p.W1, p.W2, p.ids, p.targets]);
  }
  await initBackend('wasm', { quiet: true });
  report(rows);
}

const fmt = (v: number | string): string => (typeof v === 'number' ? v.toFixed(1) : v);

function ratio(base: number | string | undefined, v: number | string | undefined): string {
  return typeof base === 'number' && typeof v === 'number' ? `${(base / v).toFixed(1)}x` : '-';
}

function report(rows: Row[]): void {
  const { V, d, h, B, T } = SIZE;
  console.log(`prototoken kernel bench: V=${V} d=${d} h=${h} B=${B} T=${T}${QUICK ? ' (--quick)' : ''}; median ms`);
  console.log(`tfjs ${tf.version.tfjs}, node ${process.version}; speedup is vs the first runnable row of the group\n`);
  console.log(`${'backend'.padEnd(8)}${'chain'.padEnd(13)}${'config'.padEnd(25)}${'fwd+bwd'.padStart(9)}${'fwd'.padStart(8)}  speedup`);
  let group = '';
  let base: number | string | undefined;
  for (const r of rows) {
    if (`${r.backend}/${r.chain}` !== group) {
      group = `${r.backend}/${r.chain}`;
      base = undefined;
      console.log('');
    }
    if (base === undefined && typeof r.step === 'number') base = r.step;
    const figures =
      typeof r.step === 'number' ? `${fmt(r.step).padStart(9)}${fmt(r.forward).padStart(8)}  ${ratio(base, r.step)}` : `  ${r.step}`;
    console.log(`${r.backend.padEnd(8)}${r.chain.padEnd(13)}${r.config.padEnd(25)}${figures}`);
  }
  const pick = (backend: string, config: string): number | string | undefined =>
    rows.find((r) => r.backend === backend && r.chain === CHAINS[0].name && r.config === config)?.step;
  console.log(`\n2-D linears, wasm all patches vs cpu stock: ${ratio(pick('cpu', 'stock'), pick('wasm', 'all patches'))}`);
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
