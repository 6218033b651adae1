/**
 * `npm run bench:datasets`: a solution dataset at the scale of a real model. Writes 200,000 rows at
 * d = 4096 (3.3 GB of e) as 16 shard parts, then merges, inspects, verifies and streams it once
 * through the encoder loader, each step in its own process so that its peak RSS
 * (`process.resourceUsage().maxRSS`) is its own. Also times plain `cp` of the parts on the same
 * disk for the merge ratio. Everything is written under a temporary folder that is removed at the
 * end. Options: --rows R --d D --shards S --batch B --dir PARENT.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectDataset, mergeDataset, openDatasetWriter, openSolutionLoader, verifyDataset, type SolutionBatch } from '../src/datasets/index.js';
import { shardOf } from '../src/jobs/shard.js';
import { Prng } from '../src/util/prng.js';
import { arg } from './common.js';

const ROWS = Number(arg('rows', '200000'));
const D = Number(arg('d', '4096'));
const SHARDS = Number(arg('shards', '16'));
/** Rows per appended batch: one solver group of a GPU run. */
const BATCH = Number(arg('batch', '64'));
const N = 16;

interface StepResult {
  step: string;
  seconds: number;
  rows: number;
  maxRssMiB: number;
  note?: string;
}

/** The synthetic rows of shard `s`: every value a function of the row index. */
async function writeStep(dir: string): Promise<StepResult> {
  const pool = new Prng(7).normals(1 << 20);
  const t0 = performance.now();
  const ids = Array.from({ length: ROWS }, (_, i) => `text-${i}`);
  const byShard: number[][] = Array.from({ length: SHARDS }, () => []);
  for (let i = 0; i < ROWS; i++) byShard[shardOf(ids[i], SHARDS)].push(i);
  for (let s = 0; s < SHARDS; s++) {
    const w = await openDatasetWriter(dir, {
      model: { id: 'bench/llama-3.1-8b-shaped', fingerprint: 'b'.repeat(64), tokenizerHash: 't'.repeat(64), dModel: D },
      arrangement: 'e-m', length: N, init: 'scaled', m: new Float32Array(D).fill(0.01),
      solverConfig: { preset: 'bench' }, source: { name: 'synthetic', license: 'mit' }, shard: { index: s, count: SHARDS }, mergeOnClose: false,
    });
    const mine = byShard[s];
    for (let k = 0; k < mine.length; k += BATCH) {
      const rows = mine.slice(k, k + BATCH);
      const e = new Float32Array(rows.length * D);
      rows.forEach((i, r) => e.set(pool.subarray((i * 131) % (pool.length - D), ((i * 131) % (pool.length - D)) + D), r * D));
      const batch: SolutionBatch = {
        textId: rows.map((i) => ids[i]),
        text: rows.map((i) => `synthetic text number ${i}, sixteen tokens long`),
        tokenIds: rows.map((i) => Int32Array.from({ length: N }, (_, j) => (i * 31 + j) % 128000)),
        e,
        seed: rows, steps: rows.map((i) => 100 + (i % 400)), accuracy: rows.map((i) => (i % 10 === 0 ? 0.9375 : 1)),
        cTokens: rows.map((i) => (i % 10 === 0 ? 15 : 16)), prefixLen: rows.map((i) => (i % 10 === 0 ? 3 : 16)), loss: rows.map(() => 0.1),
        hLmNats: rows.map((i) => 20 + (i % 30)), solved: rows.map((i) => i % 10 !== 0), seconds: rows.map(() => 1.5),
      };
      await w.append(batch);
    }
    await w.close();
  }
  return result(`write (${SHARDS} shard writers, fsync per batch)`, t0, ROWS);
}

async function runStep(step: string, dir: string): Promise<StepResult> {
  if (step === 'write') return writeStep(dir);
  const t0 = performance.now();
  if (step === 'merge') {
    const r = await mergeDataset(dir);
    return result('merge', t0, r.rows);
  }
  if (step === 'inspect') {
    const s = await inspectDataset(dir);
    return result('inspect', t0, s.rows);
  }
  if (step === 'verify') {
    const r = await verifyDataset(dir);
    if (!r.ok) throw new Error(`verify found damage: ${JSON.stringify(r.files.flatMap((f) => f.problems))}`);
    return result('verify (parts + data.arrow)', t0, r.files.reduce((n, f) => n + f.rows, 0));
  }
  if (step === 'load') {
    const loader = await openSolutionLoader(dir, { batchRows: 256, seed: 0, solvedOnly: false });
    let rows = 0;
    while (rows < loader.numRows) rows += (await loader.next()).textIds.length;
    await loader.close();
    return result('loader (one epoch, shuffled)', t0, rows);
  }
  throw new Error(`unknown step ${step}`);
}

function result(step: string, t0: number, rows: number): StepResult {
  return { step, seconds: (performance.now() - t0) / 1000, rows, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--step');
  if (child >= 0) {
    const r = await runStep(process.argv[child + 1], arg('dataset', ''));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const parent = await mkdtemp(path.join(arg('dir', tmpdir()), 'prototoken-bench-ds-'));
  const dir = path.join(parent, 'ds');
  const self = fileURLToPath(import.meta.url);
  const results: StepResult[] = [];
  try {
    console.log(`dataset: ${ROWS} rows, d = ${D}, ${SHARDS} shards, ${BATCH} rows per appended batch, under ${parent}`);
    for (const step of ['write', 'merge', 'inspect', 'verify', 'load']) {
      const p = spawnSync(process.execPath, [self, '--step', step, '--dataset', dir, '--rows', String(ROWS), '--d', String(D), '--shards', String(SHARDS), '--batch', String(BATCH)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
      if (p.status !== 0) throw new Error(`step ${step} failed (exit ${p.status})`);
      const r = JSON.parse(p.stdout.trim().split('\n').pop() ?? '{}') as StepResult;
      results.push(r);
      console.log(`${r.step.padEnd(42)} ${r.seconds.toFixed(1).padStart(7)} s  ${Math.round(r.rows / r.seconds).toLocaleString('en-US').padStart(9)} rows/s  peak RSS ${r.maxRssMiB.toFixed(0).padStart(5)} MiB`);
    }
    // Plain cp of the same part bytes on the same disk, synced like merge's fsync of data.arrow.
    const parts = (await readdir(dir)).filter((f) => f.endsWith('.arrows')).map((f) => path.join(dir, f));
    const partBytes = (await Promise.all(parts.map((p) => stat(p)))).reduce((n, s) => n + s.size, 0);
    const copyDir = path.join(parent, 'copy');
    const t0 = performance.now();
    const cp = spawnSync('sh', ['-c', `mkdir -p "${copyDir}" && cp ${parts.map((p) => `"${p}"`).join(' ')} "${copyDir}/" && sync -f "${copyDir}"`], { stdio: 'inherit' });
    if (cp.status !== 0) throw new Error('cp failed');
    const cpSeconds = (performance.now() - t0) / 1000;
    const merge = results.find((r) => r.step === 'merge')!;
    const dataBytes = (await stat(path.join(dir, 'data.arrow'))).size;
    console.log(`cp of the ${parts.length} parts (${(partBytes / 2 ** 30).toFixed(2)} GiB)             ${cpSeconds.toFixed(1).padStart(7)} s  ${(partBytes / 2 ** 20 / cpSeconds).toFixed(0)} MiB/s`);
    console.log(`data.arrow ${(dataBytes / 2 ** 30).toFixed(2)} GiB; merge / cp time ratio: ${(merge.seconds / cpSeconds).toFixed(2)} (goal <= 2)`);
    const worst = Math.max(...results.map((r) => r.maxRssMiB));
    console.log(`largest peak RSS of any step: ${worst.toFixed(0)} MiB (goal < 1024)`);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

await main();
