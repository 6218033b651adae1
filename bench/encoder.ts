/**
 * `npm run bench:encoder`: throughput of encoder training and evaluation on the embedded model.
 * Not a test; it prints figures.
 *   node dist/bench/encoder.js [--lengths 8,16] [--batches 128,32] [--steps 8] [--backend wasm] [--threads K]
 *                              [--torch auto|off] [--torch-ref FILE] [--torch-steps 20] [--python CMD]
 *
 * train  windows/s of `trainLoop` itself (encoder forward, frozen LM one pass, recon loss, backward
 *        through both, clipped AdamW on the encoder), with the `train` command's default recipe and
 *        each architecture's defaults. lm-pool caches the LM's features of a window after first use
 *        (its default), so it is timed twice: "first epoch" (every window new: the LM runs twice per
 *        step, once for features, once for the loss) and "cached" (steady state of later epochs).
 *        The transformer also with --threads K (default one per core, at least 2) data-parallel
 *        threads (`train --workers K`), and the ratio of the two; then, for the same cells, K
 *        independent single-thread processes timed at once (--ceiling off skips it): what the
 *        machine gives K copies of this step, so the ceiling for the pool's ratio on this machine.
 * lm     forward+backward of `encoderLoss` (recon) with respect to e alone: the LM's share of a
 *        training step, and what the PyTorch probe's ~430 windows/s at N=8, B=128 measured.
 * eval   texts/s of `encodeAll` + `onePass` (what `prototoken eval` runs per method) on windows the
 *        encoder has never seen, also through a retrieval gate (4,096 reference windows), and of
 *        `onePass` alone (the LM's share).
 * With --torch auto (default) and python3 with torch importable, the reference solver's `bench`
 * (fwd+bwd of the same LM, 1 thread) runs right after our LM-only step, for a same-load ratio.
 *
 * Each figure is the median over --steps timed steps after 3 warm-up steps. The machine may be
 * shared: the load average is printed at the start and the end.
 */
import * as tf from '@tensorflow/tfjs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg } from 'node:os';
import { initBackend } from '../src/backend/index.js';
import { loadModelDir } from '../src/lm/load.js';
import { readTexts } from '../src/texts/text_file.js';
import { windowTexts } from '../src/texts/windows.js';
import type { EncoderExample } from '../src/encoder/batch.js';
import type { EncoderContext } from '../src/encoder/context.js';
import { embeddingStd } from '../src/lm/embeddings.js';
import { encodeAll } from '../src/encoder/encode.js';
import { type GateRule, applyGate } from '../src/encoder/gate.js';
import { fallbackStats } from '../src/encoder/head.js';
import { LOSS_DEFAULTS, type LossOptions, encoderLoss } from '../src/encoder/losses.js';
import { onePass } from '../src/encoder/onepass.js';
import { EncoderOptimizer } from '../src/encoder/optimizer.js';
import { buildEncoder, encoderSpec } from '../src/encoder/spec.js';
import { trainLoop } from '../src/encoder/train.js';
import { GradientPool } from '../src/encoder/grad_pool.js';
import type { EncoderKind, ReferenceSet } from '../src/encoder/types.js';
import { Prng } from '../src/util/prng.js';
import { trainSchema } from '../src/encoder/config.js';
import { CORPUS_FILE, EMBEDDED_MODEL_DIR, ROOT, arg, timeSteps } from './common.js';

const lengths = arg('lengths', '8,16').split(',').map(Number);
const batches = arg('batches', '128,32').split(',').map(Number);
const STEPS = Number(arg('steps', '8'));
/** Threads of the data-parallel training row (`train --workers K`): default one per core. */
const THREADS = Number(arg('threads', String(Math.max(2, availableParallelism()))));
/** timeSteps' warm-up count, used for the training loop too so that all rows are alike. */
const WARMUP = 3;
/** The PyTorch probe's LM-only figure at N=8, B=128, 1 thread (../shared/reference/README.md, beside the checkout). */
const PROBE_WINDOWS_PER_SEC = 430;
const TORCH_REF = arg('torch-ref', process.env.PROTOTOKEN_TORCH_REF ?? join(ROOT, '..', 'shared', 'reference', 'ref_solver_torch.py'));

const backend = await initBackend(arg('backend', 'wasm') as 'wasm', { quiet: true });
const model = await loadModelDir(EMBEDDED_MODEL_DIR);
const { lm } = model;
const d = lm.config.hiddenSize;
// The train command's defaults (no preset): optimiser, schedule and loss exactly as a user gets them.
const recipe = trainSchema.parse({ name: 'bench-encoder' });
const loss: LossOptions = { kind: 'recon', ...LOSS_DEFAULTS };
// Without a solution dataset `train` starts the output head from these statistics; so do we.
const embStd = embeddingStd(lm);
const ctx: EncoderContext = { lm, bosId: model.tokenizer.bosId, stats: fallbackStats(d, embStd, 0) };
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

/** Per-step times of one measurement: the median, and the best step (nearest an idle machine). */
interface Timing {
  median: number;
  best: number;
}

function timingOf(ms: readonly number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[s.length >> 1], best: s[0] };
}

/** common.ts's protocol (3 warm-up calls, then n timed), keeping every timed step's duration. */
async function timeEach(step: () => void | Promise<void>): Promise<Timing> {
  const ms: number[] = [];
  await timeSteps(async () => {
    const t = performance.now();
    await step();
    ms.push(performance.now() - t);
  }, STEPS);
  return timingOf(ms.slice(-STEPS));
}

/** Leaks seen, by row: printed once under the table instead of inside it. */
const leaks = new Map<string, Set<string>>();

/**
 * Count tensors left behind by a measurement. The LM's per-length constants are built beforehand,
 * so any count here is a leak of the code under test: reported, not hidden.
 */
async function leakChecked<T>(label: string, steps: number, run: () => Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await run();
  const left = tf.memory().numTensors - before;
  if (left !== 0) leaks.set(label, (leaks.get(label) ?? new Set()).add(`${left} tensors after ${steps} steps`));
  return out;
}

/**
 * Per-step ms of `trainLoop` on `train` (batch B). The loop reports every step (logEvery 1) and we
 * time between reports; the read-back of five scalars this adds per step is negligible.
 */
function trainTiming(label: string, kind: EncoderKind, train: EncoderExample[], B: number, threads = 1): Promise<Timing> {
  const total = WARMUP + STEPS;
  return leakChecked(label, total, async () => {
    const spec = encoderSpec(kind, {});
    const encoder = buildEncoder(spec, ctx);
    const optimizer = new EncoderOptimizer(encoder.variables, recipe);
    const pool = threads > 1
      ? await GradientPool.open(encoder, lm, mHost, null, { threads, modelDir: EMBEDDED_MODEL_DIR, backend: backend.name === 'wasm' ? 'wasm' : 'auto', spec, context: { stats: ctx.stats, reference: null }, loss })
      : null;
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
          gradients: pool ?? undefined,
        },
        { save: async () => {}, onLog: () => void stamps.push(performance.now()) },
      );
    } finally {
      await pool?.close();
      optimizer.dispose();
      encoder.dispose();
    }
    // stamps[i] ends step i+1; the timed steps are WARMUP+1 .. total.
    return timingOf(stamps.slice(WARMUP).map((t, i) => t - stamps[WARMUP - 1 + i]));
  });
}

/** Fwd+bwd of the recon loss with respect to e [B, d] (no encoder). */
function lmOnlyTiming(label: string, windows: EncoderExample[], N: number, B: number): Promise<Timing> {
  return leakChecked(label, WARMUP + STEPS, async () => {
    const e = tf.randomNormal([B, d], 0, embStd, 'float32', 2) as tf.Tensor2D;
    const m = tf.tensor2d(mHost, [1, d]);
    const targets = tf.tensor2d(flat(take(windows, 0, B), N), [B, N], 'int32');
    try {
      return await timeEach(() => {
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => encoderLoss(x as tf.Tensor2D, { lm, m, targets, e: null }, loss).total)([e]);
        value.dataSync();
        tf.dispose([value, ...grads]);
      });
    } finally {
      tf.dispose([e, m, targets]);
    }
  });
}

/**
 * The retrieval gate's share of an eval: a reference set of the corpus's first REFERENCE_ROWS
 * windows (the training side; their e are random, only the lookup is timed) and the release-8 rule
 * (retrieve at >= 5 of 8 same positions, scaled to N).
 */
const REFERENCE_ROWS = 4096;
function benchGate(windows: readonly EncoderExample[], N: number): { gate: GateRule; reference: ReferenceSet } {
  const rows = take(windows, 0, REFERENCE_ROWS);
  const reference: ReferenceSet = { N, d, textIds: rows.map((w) => w.id), ids: flat(rows, N), e: new Prng(3).normals(REFERENCE_ROWS * d) };
  return { gate: { N, minSame: Math.ceil((5 * N) / 8) }, reference };
}

/**
 * Evaluating B texts: encodeAll + onePass, or onePass alone of a fixed e when `kind` is null; with
 * `gated`, e_hat goes through the retrieval gate first. Every call takes the next B windows, so
 * lm-pool's feature cache never helps (as in `eval`).
 */
function evalTiming(label: string, kind: EncoderKind | null, windows: EncoderExample[], N: number, B: number, gated = false): Promise<Timing> {
  return leakChecked(label, WARMUP + STEPS, async () => {
    const encoder = kind ? buildEncoder(encoderSpec(kind, {}), ctx) : null;
    const gate = gated ? benchGate(windows, N) : null;
    const fixedE = new Float32Array(B * d).map((_, i) => ctx.stats.mean[i % d]);
    // Eval windows come from the end of the corpus, training windows from its start.
    let next = Math.max(0, windows.length - (WARMUP + STEPS) * B);
    try {
      return await timeEach(async () => {
        const ids = flat(take(windows, next, B), N);
        next += B;
        const eNet = encoder ? await encodeAll(encoder, ids, N, B) : fixedE;
        const eHat = gate ? applyGate(gate.gate, gate.reference, ids, N, eNet).e : eNet;
        await onePass(lm, eHat, mHost, ids, N, { batchSize: B });
      });
    } finally {
      encoder?.dispose();
    }
  });
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

/** One table cell: a length, a batch size and the corpus windows of that length. */
interface Cell {
  N: number;
  B: number;
  w: EncoderExample[];
}
interface Row {
  label: string;
  timing: (label: string, c: Cell) => Promise<Timing>;
}
const fresh = ({ w, B }: Cell): EncoderExample[] => take(w, 0, (WARMUP + STEPS) * B);
const rows: Row[] = [
  { label: 'train transformer', timing: (l, c) => trainTiming(l, 'transformer', fresh(c), c.B) },
  { label: `train transformer, ${THREADS} threads`, timing: (l, c) => trainTiming(l, 'transformer', fresh(c), c.B, THREADS) },
  { label: 'train lm-pool, first epoch', timing: (l, c) => trainTiming(l, 'lm-pool', fresh(c), c.B) },
  // B windows: the first step fills the cache, so every timed step reads features from it.
  { label: 'train lm-pool, cached', timing: (l, c) => trainTiming(l, 'lm-pool', take(c.w, 0, c.B), c.B) },
  { label: 'lm only (recon fwd+bwd wrt e)', timing: (l, c) => lmOnlyTiming(l, c.w, c.N, c.B) },
  { label: 'eval transformer', timing: (l, c) => evalTiming(l, 'transformer', c.w, c.N, c.B) },
  { label: 'eval transformer + retrieval gate', timing: (l, c) => evalTiming(l, 'transformer', c.w, c.N, c.B, true) },
  { label: 'eval lm-pool', timing: (l, c) => evalTiming(l, 'lm-pool', c.w, c.N, c.B) },
  { label: 'eval one-pass only (no encoder)', timing: (l, c) => evalTiming(l, null, c.w, c.N, c.B) },
];

// A child of the ceiling measurement: one thread's training rate per cell, printed as JSON, and stop.
if (process.argv.includes('--solo-train')) {
  const rates: number[] = [];
  for (const c of cols) rates.push((c.B * 1000) / (await trainTiming('solo', 'transformer', fresh({ ...c, w: windows.get(c.N) ?? [] }), c.B)).median);
  console.log(JSON.stringify({ rates }));
  process.exit(0);
}

/**
 * Windows/s per cell of `k` single-thread training processes timed at the same time (summed): on
 * a machine whose cores share caches, memory bandwidth or a hypervisor's time, less than k times
 * one process's rate, and the most any in-process pool can reach.
 */
async function independentRates(k: number): Promise<number[] | string> {
  const args = [fileURLToPath(import.meta.url), '--solo-train', '--lengths', lengths.join(','), '--batches', batches.join(','), '--steps', String(STEPS), '--backend', arg('backend', 'wasm')];
  const runs = Array.from({ length: k }, () => new Promise<number[] | string>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      resolve(code === 0 && line.startsWith('{') ? (JSON.parse(line) as { rates: number[] }).rates : `a process failed (${code}): ${err.trim().split('\n').pop() ?? ''}`);
    });
  }));
  const all = await Promise.all(runs);
  const failed = all.find((r): r is string => typeof r === 'string');
  return failed ?? cols.map((_, i) => all.reduce((sum, r) => sum + (r as number[])[i], 0));
}

const W = 18;
const LABEL = 33;
console.log('\nwindows/s (train, lm) or texts/s (eval) at the median step, (best step); ms per step at the median');
console.log(`${''.padEnd(LABEL)}${cols.map(({ N, B }) => `N=${N} B=${B}`.padStart(W)).join('')}`);
let lmRef: { before: number; after: number } | null = null;
/** Windows/s of the transformer's training with 1 and with THREADS threads, per cell. */
const parallel = new Map<string, { one: number; k: number }>();
let torch: ReturnType<typeof torchWindowsPerSec> | null = null;
for (const row of rows) {
  const rates: string[] = [];
  const times: string[] = [];
  for (const { N, B } of cols) {
    const t = await row.timing(row.label, { N, B, w: windows.get(N) ?? [] });
    rates.push(`${((B * 1000) / t.median).toFixed(0)} (${((B * 1000) / t.best).toFixed(0)})`.padStart(W));
    if (row.label.startsWith('train transformer')) {
      const cell = parallel.get(`N=${N} B=${B}`) ?? { one: 0, k: 0 };
      cell[row.label === 'train transformer' ? 'one' : 'k'] = (B * 1000) / t.median;
      parallel.set(`N=${N} B=${B}`, cell);
    }
    times.push(`${t.median.toFixed(0)} ms`.padStart(W));
    if (row.label.startsWith('lm only') && N === 8 && B === 128) {
      // The reference runs between two timings of our LM step, so that a change of the machine's
      // load during the three shows up as a gap between ours before and after.
      torch = torchWindowsPerSec(N, B);
      const after = 'rate' in torch ? await row.timing(row.label, { N, B, w: windows.get(N) ?? [] }) : t;
      lmRef = { before: (B * 1000) / t.median, after: (B * 1000) / after.median };
    }
  }
  console.log(`${row.label.padEnd(LABEL)}${rates.join('')}`);
  console.log(`${''.padEnd(LABEL)}${times.join('')}`);
}
for (const [label, notes] of leaks) console.log(`note: ${label} left ${[...notes].join(' / ')} (per cell)`);

console.log('');
const ceiling = arg('ceiling', 'on') === 'off' ? '--ceiling off' : await independentRates(THREADS);
for (const [i, [cell, r]] of [...parallel].entries()) {
  console.log(`data-parallel training, transformer ${cell}: ${r.one.toFixed(0)} windows/s with 1 thread, ${r.k.toFixed(0)} with ${THREADS} -> ${(r.k / r.one).toFixed(2)}x (${availableParallelism()} cores)`);
  if (typeof ceiling === 'string') console.log(`  machine ceiling not measured: ${ceiling}`);
  else console.log(`  machine ceiling: ${THREADS} independent 1-thread processes at once, ${ceiling[i].toFixed(0)} windows/s in all -> ${(ceiling[i] / r.one).toFixed(2)}x; the pool reaches ${((100 * r.k) / ceiling[i]).toFixed(0)}% of it`);
}
if (lmRef !== null) {
  const ours = (lmRef.before + lmRef.after) / 2;
  console.log(`lm only, N=8 B=128: ${lmRef.before.toFixed(0)} windows/s = ${(lmRef.before / PROBE_WINDOWS_PER_SEC).toFixed(2)}x the PyTorch probe's ${PROBE_WINDOWS_PER_SEC} windows/s (1 thread, another run)`);
  if (torch && 'rate' in torch) {
    console.log(
      `same run, ref_solver_torch.py bench (1 thread; fwd+bwd wrt e and m + AdamW): ${torch.rate.toFixed(0)} windows/s, between ours at ` +
        `${lmRef.before.toFixed(0)} (before) and ${lmRef.after.toFixed(0)} (after) -> ours / torch = ${(ours / torch.rate).toFixed(2)} (mean of ours)`,
    );
  } else if (torch) {
    console.log(`same-run torch ratio skipped: ${torch.skipped}`);
  }
} else {
  console.log('lm only at N=8 B=128 not in this run (needs 8 in --lengths and 128 in --batches): no ratio to the PyTorch probe');
}
console.log(`load average at end: ${load()}`);
lm.dispose();
