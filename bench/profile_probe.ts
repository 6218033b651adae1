import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { loadModelDir } from '../src/lm/load.js';
import { lossAndGrads } from '../src/solver/step.js';
import { layoutFor } from '../src/solver/arrangements.js';

const B = Number(process.argv[2] ?? 32), N = Number(process.argv[3] ?? 16);
await initBackend((process.env.BACKEND ?? 'wasm') as 'wasm');
const model = await loadModelDir('models/stories260k');
const layout = layoutFor('e-m', N);
const targets = tf.randomUniform([B, N], 3, 500, 'int32') as tf.Tensor2D;
const e = tf.randomNormal([B, 64]) as tf.Tensor2D, m = tf.randomNormal([B, 64]) as tf.Tensor2D;
const run = () => { const r = lossAndGrads(model.lm, layout, targets, e, m, true); r.rowLoss.dataSync(); tf.dispose([r.gradE, r.gradM!, r.rowLoss, r.hits]); };
for (let i = 0; i < 5; i++) run();
let t = performance.now(); for (let i = 0; i < 20; i++) run(); console.log('ms/step', (performance.now() - t) / 20);
const prof = await tf.profile(() => { run(); });
const agg = new Map<string, { n: number; ms: number }>();
for (const k of prof.kernels) { const a = agg.get(k.name) ?? { n: 0, ms: 0 }; a.n++; a.ms += k.kernelTimeMs as number; agg.set(k.name, a); }
console.log('kernels', prof.kernels.length, 'total ms', prof.kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0).toFixed(1));
for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(k.padEnd(24), v.n, v.ms.toFixed(2));
const mm = new Map<string, { n: number; ms: number }>();
for (const k of prof.kernels) if (k.name === 'BatchMatMul') { const key = JSON.stringify(k.inputShapes); const a = mm.get(key) ?? { n: 0, ms: 0 }; a.n++; a.ms += k.kernelTimeMs as number; mm.set(key, a); }
for (const [k, v] of [...mm].sort((a, b) => b[1].ms - a[1].ms)) console.log(k.padEnd(40), v.n, v.ms.toFixed(2));
