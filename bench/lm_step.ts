/**
 * `npm run bench:lm`: forward+backward of the embedded model with respect to its input embeddings
 * (the solver's inner loop), ms per step and tokens/s, on wasm and cpu. Not a test.
 *   node dist/bench/lm_step.js [--backends wasm,cpu] [--steps 20] [--profile] [--compare-stock]
 * --compare-stock also times the same step with our kernel/gradient patches switched off.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { loadCausalLM } from '../src/lm/load.js';
import { tokenNll } from '../src/lm/cross_entropy.js';
import { EMBEDDED_MODEL_DIR, arg, timeSteps } from './common.js';

const backends = arg('backends', 'wasm,cpu').split(',');
const steps = Number(arg('steps', '20'));
const shapes: [number, number][] = [
  [32, 16],
  [8, 64],
];

const variants = process.argv.includes('--compare-stock') ? [true, false] : [true];
for (const backend of backends) for (const patched of variants) {
  await initBackend(backend as 'wasm' | 'cpu', { quiet: true, patches: patched });
  const lm = await loadCausalLM(EMBEDDED_MODEL_DIR);
  for (const [B, N] of shapes) {
    const x = tf.randomNormal([B, N, lm.config.hiddenSize]) as tf.Tensor3D;
    const targets = tf.randomUniform([B, N], 3, lm.config.vocabSize, 'int32') as tf.Tensor2D;
    const step = (): void => {
      const { value, grads } = tf.valueAndGrads((inp: tf.Tensor) => tf.sum(tokenNll(lm.forward(inp as tf.Tensor3D), targets)))([x]);
      value.dataSync();
      tf.dispose([value, ...grads]);
    };
    const n = backend === 'cpu' ? Math.max(3, Math.floor(steps / 5)) : steps;
    const ms = await timeSteps(step, n);
    console.log(`${(backend + (patched ? '' : ' stock')).padEnd(11)} B=${String(B).padStart(2)} N=${String(N).padStart(2)}  ${ms.toFixed(1).padStart(7)} ms/step  ${((B * N * 1000) / ms).toFixed(0).padStart(6)} tokens/s`);
    if (process.argv.includes('--profile')) {
      const prof = await tf.profile(step);
      const agg = new Map<string, { n: number; ms: number }>();
      for (const k of prof.kernels) {
        const a = agg.get(k.name) ?? { n: 0, ms: 0 };
        a.n++;
        a.ms += Number(k.kernelTimeMs);
        agg.set(k.name, a);
      }
      console.log(`  ${prof.kernels.length} kernels`);
      for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) console.log(`  ${k.padEnd(22)} ${String(v.n).padStart(4)} ${v.ms.toFixed(2).padStart(7)} ms`);
    }
    tf.dispose([x, targets]);
  }
  lm.dispose();
}
