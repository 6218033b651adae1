/**
 * `npm run bench:encoder`: throughput of encoder training and evaluation on the embedded model.
 * Not a test; it prints figures.
 *   node dist/bench/encoder.js [--lengths 8,16] [--batches 128,32] [--steps 8] [--backend wasm]
 *                              [--torch auto|off] [--torch-ref FILE] [--torch-steps 20] [--python CMD]
 *
 * train  windows/s of `trainLoop` itself (encoder forward, frozen LM one pass, recon loss, backward
 *        through both, clipped AdamW on the encoder), with the `train` command's default recipe and
 *        each architecture's defaults. lm-pool caches the LM's features of a window after first use
 *        (its default), so it is timed twice: "first epoch" (every window new: the LM runs twice per
 *        step, once for features, once for the loss) and "cached" (steady state of later epochs).
 * lm     forward+backward of `encoderLoss` (recon) with respect to e alone: the LM's share of a
 *        training step, and what the PyTorch probe's ~430 windows/s at N=8, B=128 measured.
 * eval   texts/s of `encodeAll` + `onePass` (what `prototoken eval` runs per method) on windows the
 *        encoder has never seen, and of `onePass` alone (the LM's share).
 * With --torch auto (default) and python3 with torch importable, the reference solver's `bench`
 * (fwd+bwd of the same LM, 1 thread) runs right after our LM-only step, for a same-load ratio.
 *
 * Each figure is the median over --steps timed steps after 3 warm-up steps. The machine may be
 * shared: the load average is printed at the start and the end.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { initBackend } from '../src/backend/index.js';
import { loadModelDir } from '../src/lm/load.js';
import { readTexts } from '../src/datasets/texts.js';
import { windowTexts } from '../src/datasets/windows.js';
import type { EncoderExample } from '../src/encoder/batch.js';
import { type EncoderContext, embeddingStd, embeddingTable } from '../src/encoder/context.js';
import { encodeAll } from '../src/encoder/encode.js';
import { fallbackStats } from '../src/encoder/head.js';
import { LOSS_DEFAULTS, type LossOptions, encoderLoss } from '../src/encoder/losses.js';
import { onePass } from '../src/encoder/onepass.js';
import { EncoderOptimizer } from '../src/encoder/optimizer.js';
import { buildEncoder, encoderSpec } from '../src/encoder/spec.js';
import { trainLoop } from '../src/encoder/train.js';
import type { EncoderKind } from '../src/encoder/types.js';
import { trainSchema } from '../src/cli/train_config.js';
import { CORPUS_FILE, EMBEDDED_MODEL_DIR, arg, timeSteps } from './common.js';

const lengths = arg('lengths', '8,16').split(',').map(Number);
const batches = arg('batches', '128,32').split(',').map(Number);
const STEPS = Number(arg('steps', '8'));
/** timeSteps' warm-up count, used for the training loop too so that all rows are alike. */
const WARMUP = 3;
/** The PyTorch probe's LM-only figure at N=8, B=128, 1 thread (shared/reference/README.md). */
const PROBE_WINDOWS_PER_SEC = 430;
const TORCH_REF = arg('torch-ref', process.env.PROTOTOKEN_TORCH_REF ?? '/work/shared/reference/ref_solver_torch.py');

const backend = await initBackend(arg('backend', 'wasm') as 'wasm', { quiet: true });
const model = await loadModelDir(EMBEDDED_MODEL_DIR);
const { lm } = model;
const d = lm.config.hiddenSize;
// The train command's defaults (no preset): optimiser, schedule and loss exactly as a user gets them.
const recipe = trainSchema.parse({ name: 'bench-encoder' });
const loss: LossOptions = { kind: 'recon', ...LOSS_DEFAULTS };
// Without a solution dataset `train` starts the output head from these statistics; so do we.
const embStd = embeddingStd(embeddingTable(lm));
const ctx: EncoderContext = { lm, bosId: model.tokenizer.bosId, stats: fallbackStats(d, embStd) };
// m's values do not change the cost of a step; a fixed seeded draw at the embeddings' scale.
const mHost = tf.tidy(() => tf.randomNormal([d], 0, embStd, 'float32', 1).dataSync() as Float32Array);
const stories = await readTexts(CORPUS_FILE);

/** Real corpus windows of N tokens, as the encoder trains on them. */
function windowsOf(N: number): EncoderExample[] {
  return windowTexts(stories, model.tokenizer, { window: N }).windows.map((w) => ({ id: w.id, ids: Int32Array.from(w.ids), e: null }));
}

/** `count` windows starting at `from`, wrapping around (only if the corpus is too small). */
function take(all: readonly EncoderExample[], from: number, count: number): EncoderExample[] {
  return Array.from({ length: count }, (_, i) => all[(from + i) % all.length]);
}

function flat(examples: readonly EncoderExample[], N: number): Int32Array {
  const out = new Int32Array(examples.length * N);
  examples.forEach((x, r) => out.set(x.ids, r * N));
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Tensors left behind by a measurement (the LM's per-length constants are built beforehand, so any
 * count here is a leak of the code under test; it is reported, not hidden).
 */
function leakCheck(label: string, before: number, steps: number): void {
  const after = tf.memory().numTensors;
  if (after !== before) console.log(`  note: ${label} left ${after - before} tensors after ${steps} steps`);
}

/**
 * Median ms per step of `trainLoop` on `train` (batch B). The loop reports every step (logEvery 1)
 * and we time between reports; the per-step read-back of five scalars this adds is negligible next
 * to the step.
 */
async function trainMs(kind: EncoderKind, train: EncoderExample[], B: number): Promise<number> {
  const before = tf.memory().numTensors;
  const encoder = buildEncoder(encoderSpec(kind, {}), ctx);
  const optimizer = new EncoderOptimizer(encoder.variables, recipe);
  const total = WARMUP + STEPS;
  const stamps: number[] = [];
  try {
    await trainLoop(
      encoder,
      lm,
      mHost,
      { train, val: [] },
      optimizer,
      {
        loss,
        batchSize: B,
        steps: recipe.steps,
        stopAt: total,
        lr: recipe.lr,
        warmupSteps: recipe.warmupSteps,
        minLrFactor: recipe.minLrFactor,
        seed: 0,
        valEvery: 0,
        logEvery: 1,
        checkpointEvery: total + 1,
      },
      { save: async () => {}, onLog: () => void stamps.push(performance.now()) },
    );
  } finally {
    optimizer.dispose();
    encoder.dispose();
  }
  leakCheck(`training ${kind}`, before, total);
  // stamps[i] ends step i+1; the timed steps are WARMUP+1 .. total.
  return median(stamps.slice(WARMUP).map((t, i) => t - stamps[WARMUP - 1 + i]));
}

/** Median ms of fwd+bwd of the recon loss with respect to e [B, d] (no encoder). */
async function lmOnlyMs(windows: EncoderExample[], N: number, B: number): Promise<number> {
  const before = tf.memory().numTensors;
  const e = tf.randomNormal([B, d], 0, embStd, 'float32', 2) as tf.Tensor2D;
  const m = tf.tensor2d(mHost, [1, d]);
  const targets = tf.tensor2d(flat(take(windows, 0, B), N), [B, N], 'int32');
  const ms = await timeSteps(() => {
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => encoderLoss(x as tf.Tensor2D, { lm, m, targets, e: null }, loss).total)([e]);
    value.dataSync();
    tf.dispose([value, ...grads]);
  }, STEPS);
  tf.dispose([e, m, targets]);
  leakCheck('lm-only step', before, WARMUP + STEPS);
  return ms;
}

/**
 * Median ms to evaluate B texts: encodeAll + onePass, or onePass alone of a fixed e when `kind` is
 * null. Every call takes the next B windows, so lm-pool's feature cache never helps (as in `eval`).
 */
async function evalMs(kind: EncoderKind | null, windows: EncoderExample[], N: number, B: number): Promise<number> {
  const before = tf.memory().numTensors;
  const encoder = kind ? buildEncoder(encoderSpec(kind, {}), ctx) : null;
  const fixedE = new Float32Array(B * d).map((_, i) => ctx.stats.mean[i % d]);
  // Eval windows come from the end of the corpus, training windows from its start.
  let next = Math.max(0, windows.length - (WARMUP + STEPS) * B);
  try {
    return await timeSteps(async () => {
      const ids = flat(take(windows, next, B), N);
      next += B;
      const eHat = encoder ? await encodeAll(encoder, ids, N, B) : fixedE;
      await onePass(lm, eHat, mHost, ids, N, { batchSize: B });
    }, STEPS);
  } finally {
    encoder?.dispose();
    leakCheck(`eval ${kind ?? 'one-pass'}`, before, WARMUP + STEPS);
  }
}

/**
 * A python that can import torch: --python, else `python3` on PATH, else Debian's /usr/bin/python3
 * (where `apt-get install python3-torch` puts it; a pyenv python3 earlier on PATH lacks it).
 */
function torchPython(): string | null {
  const given = arg('python', '');
  for (const py of given ? [given] : ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

/** The reference solver's `bench` on the same model: windows/s, or why it was skipped. */
function torchWindowsPerSec(N: number, B: number): { rate: number } | { skipped: string } {
  if (arg('torch', 'auto') === 'off') return { skipped: '--torch off' };
  if (!existsSync(TORCH_REF)) return { skipped: `${TORCH_REF} not found (--torch-ref FILE)` };
  const py = torchPython();
  if (!py) return { skipped: 'no python3 can import torch (apt-get install python3-torch python3-numpy, or --python CMD)' };
  const steps = arg('torch-steps', '20');
  const r = spawnSync(py, [TORCH_REF, 'bench', '--model', EMBEDDED_MODEL_DIR, '--n', String(N), '--batch', String(B), '--steps', steps, '--threads', '1'], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return { skipped: `reference bench failed: ${(r.stderr || line).trim().split('\n').pop()}` };
  const out = JSON.parse(line) as { batch: number; s_per_step: number };
  return { rate: out.batch / out.s_per_step };
}

// ---- run ----
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const cols = lengths.flatMap((N) => batches.map((B) => ({ N, B })));
const windows = new Map(lengths.map((N) => [N, windowsOf(N)]));
// The LM keeps rotary tables and masks per sequence length (N for the loss, N+1 for lm-pool's
// [BOS]+text features) once first used; build them now so that they do not count as leaks.
tf.tidy(() => lengths.flatMap((N) => [N, N + 1]).forEach((T) => lm.forward(tf.zeros([1, T, d]) as tf.Tensor3D)));
console.log(`backend ${backend.detail} | ${EMBEDDED_MODEL_DIR.split('/').slice(-2).join('/')}: d=${d}, ${lm.config.numLayers} layers, V=${lm.config.vocabSize}`);
console.log(`windows in the corpus: ${lengths.map((N) => `N=${N} ${windows.get(N)?.length}`).join(', ')} | median of ${STEPS} steps after ${WARMUP} warm-up`);
console.log(`recipe: train defaults (AdamW lr ${recipe.lr}, betas ${recipe.beta1}/${recipe.beta2}, wd ${recipe.weightDecay}, clip ${recipe.clipNorm}), recon loss`);
console.log(`load average at start: ${load()} (${availableParallelism()} cores)`);

type Row = { label: string; unit: string; ms: (N: number, B: number) => Promise<number> };
const rows: Row[] = [
  { label: 'train transformer', unit: 'windows/s', ms: (N, B) => trainMs('transformer', take(windows.get(N) ?? [], 0, (WARMUP + STEPS) * B), B) },
  { label: 'train lm-pool, first epoch', unit: 'windows/s', ms: (N, B) => trainMs('lm-pool', take(windows.get(N) ?? [], 0, (WARMUP + STEPS) * B), B) },
  // B windows: the first step fills the cache, so every timed step reads features from it.
  { label: 'train lm-pool, cached', unit: 'windows/s', ms: (N, B) => trainMs('lm-pool', take(windows.get(N) ?? [], 0, B), B) },
  { label: 'lm only: recon fwd+bwd wrt e', unit: 'windows/s', ms: (N, B) => lmOnlyMs(windows.get(N) ?? [], N, B) },
  { label: 'eval transformer', unit: 'texts/s', ms: (N, B) => evalMs('transformer', windows.get(N) ?? [], N, B) },
  { label: 'eval lm-pool', unit: 'texts/s', ms: (N, B) => evalMs('lm-pool', windows.get(N) ?? [], N, B) },
  { label: 'eval one-pass only (no encoder)', unit: 'texts/s', ms: (N, B) => evalMs(null, windows.get(N) ?? [], N, B) },
];

const W = 20;
console.log(`\n${'per second (ms per step)'.padEnd(32)}${cols.map(({ N, B }) => `N=${N} B=${B}`.padStart(W)).join('')}`);
let lmRef: number | null = null;
let torch: ReturnType<typeof torchWindowsPerSec> | null = null;
for (const row of rows) {
  const cells: string[] = [];
  for (const { N, B } of cols) {
    const ms = await row.ms(N, B);
    cells.push(`${((B * 1000) / ms).toFixed(0)} (${ms.toFixed(0)} ms)`.padStart(W));
    if (row.label.startsWith('lm only') && N === 8 && B === 128) {
      lmRef = (B * 1000) / ms;
      // Right after our own LM step, so both see the same load.
      torch = torchWindowsPerSec(N, B);
    }
  }
  console.log(`${`${row.label} [${row.unit}]`.padEnd(32)}${cells.join('')}`);
}

console.log('');
if (lmRef !== null) {
  console.log(`lm only, N=8 B=128: ${lmRef.toFixed(0)} windows/s = ${(lmRef / PROBE_WINDOWS_PER_SEC).toFixed(2)}x the PyTorch probe's ${PROBE_WINDOWS_PER_SEC} windows/s (1 thread, another run)`);
  if (torch && 'rate' in torch) {
    console.log(`same run, reference ref_solver_torch.py bench (1 thread, fwd+bwd wrt e and m + AdamW): ${torch.rate.toFixed(0)} windows/s -> ours / torch = ${(lmRef / torch.rate).toFixed(2)}`);
  } else if (torch) {
    console.log(`same-run torch ratio skipped: ${torch.skipped}`);
  }
} else {
  console.log('lm only at N=8 B=128 not in this run (needs --lengths 8 --batches 128): no ratio to the PyTorch probe');
}
console.log(`load average at end: ${load()}`);
lm.dispose();
