import { initBackend } from '../src/backend/index.js';
import { loadModelDir } from '../src/lm/load.js';
import { solveTexts } from '../src/solver/solve.js';
import { PAPER_ADAMW } from '../src/solver/adamw.js';
import { readFileSync } from 'node:fs';

const B = Number(process.argv[2] ?? 32), N = Number(process.argv[3] ?? 16), count = Number(process.argv[4] ?? 32);
const maxSteps = Number(process.argv[5] ?? 5000);
const scale = Number(process.argv[6] ?? 0);
await initBackend((process.env.BACKEND ?? 'wasm') as 'wasm');
const model = await loadModelDir('models/stories260k');
const lines = readFileSync('data/tinystories/stories.jsonl', 'utf8').trim().split('\n').slice(0, count).map((l) => JSON.parse(l) as { id: string; text: string });
const targets = lines.map((l) => ({ id: l.id, ids: model.tokenizer.encode(l.text).slice(0, N) }));
let steps = 0;
const t0 = Date.now();
const res: { steps: number; solved: boolean }[] = [];
await solveTexts(model.lm, targets, {
  arrangement: 'e-m', m: { kind: 'per-text' }, init: scale ? { kind: 'scaled', scale } : { kind: 'normal' }, adamw: { ...PAPER_ADAMW, lr: Number(process.env.LR ?? 0.01) }, schedule: process.env.COS ? { kind: 'cosine', minFactor: 0.1 } : { kind: 'constant' },
  maxSteps, batchSize: B, restarts: 1, seed: 0, stopAccuracy: 1, patience: 0,
}, { onResults: (r) => { res.push(...r); }, onStep: () => { steps++; } });
const ms = Date.now() - t0;
const st = res.map((r) => r.steps).sort((a, b) => a - b);
console.log(JSON.stringify({ solved: res.filter((r) => r.solved).length, n: res.length, median: st[st.length >> 1], max: st[st.length - 1], poolSteps: steps, ms, msPerStep: ms / steps }));
