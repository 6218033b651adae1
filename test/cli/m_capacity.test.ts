/** End-to-end: `fit-m` then `solve --m`, a wrong-sized m, and `capacity` with `inspect`. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDataset } from '../../src/datasets/index.js';
import { SafetensorsFile, writeSafetensors } from '../../src/lm/safetensors.js';
import { CORPUS, assertOk, assertUserError, lastJson, re, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];
const D_MODEL = 64;

let dir = '';
let cleanup: () => Promise<void> = async () => {};

interface CapacityJson {
  out: string;
  table: { source: string; m: string; texts: number; capacity_mean: number; capacity_max: number; h_lm_mean: number }[];
  texts: { source: string; m: string; id: string; capacity: number; h_lm_nats: number }[];
  interrupted: boolean;
}

async function readM(file: string): Promise<{ shape: number[]; data: Float32Array; metadata: Record<string, string> }> {
  const st = await SafetensorsFile.open(file);
  try {
    assert.deepEqual(st.names(), ['m'], `tensors of ${file}`);
    return { shape: st.info('m').shape, data: await st.read('m'), metadata: { ...st.metadata } };
  } finally {
    await st.close();
  }
}

describe('m and capacity', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('fit-m writes M.safetensors and M.config.json; solve --m stores it as the shared m', async () => {
    const M = join(dir, 'M.safetensors');
    const fit = await runCli(['fit-m', '--texts', CORPUS, '--length', '5', '--limit', '4', '--out', M, '--max-steps', '600', '--json', ...WASM]);
    assertOk(fit);
    const summary = lastJson<{ out: string; texts: number; steps: number; interrupted: boolean }>(fit);
    assert.equal(summary.out, M);
    assert.equal(summary.texts, 4);
    assert.ok(summary.steps > 0 && summary.steps <= 600);
    assert.equal(summary.interrupted, false);
    const m = await readM(M);
    assert.deepEqual(m.shape, [D_MODEL]);
    assert.ok(m.data.some((x) => x !== 0), 'm is not all zeros');
    assert.match(m.metadata.model_fingerprint ?? '', /^[0-9a-f]{64}$/);
    const config = JSON.parse(await readFile(join(dir, 'M.config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.length, 5);
    assert.equal(config.out, M);
    assert.equal(config.fitted_on, 4);

    const DM = join(dir, 'DM');
    const solve = await runCli(['solve', '--texts', CORPUS, '--length', '5', '--limit', '4', '--out', DM, '--m', M, '--max-steps', '600', '--json', ...WASM]);
    assertOk(solve);
    assert.equal(lastJson<{ texts: number }>(solve).texts, 4);
    assert.ok((await readdir(DM)).includes('m.safetensors'));
    const info = JSON.parse(await readFile(join(DM, 'dataset_info.json'), 'utf8')) as { m: { mode: string; file?: string } };
    assert.equal(info.m.mode, 'shared');
    assert.equal(info.m.file, 'm.safetensors');
    const ds = await readDataset(DM);
    assert.equal(ds.numRows, 4);
    assert.equal(ds.perTextM, false);
    assert.deepEqual([...((await ds.sharedM()) ?? [])], [...m.data], 'the dataset holds the fitted m unchanged');
  });

  it('solve --m with a vector of the wrong size is refused before anything is written', async () => {
    const bad = join(dir, 'm32.safetensors');
    await writeSafetensors(bad, { m: { shape: [32], data: new Float32Array(32).fill(0.5) } });
    const out = join(dir, 'D-bad-m');
    const r = await runCli(['solve', '--texts', CORPUS, '--length', '5', '--limit', '2', '--out', out, '--m', bad, '--max-steps', '50', ...WASM]);
    assertUserError(r, re(bad), /\[32\]/, new RegExp(`\\[${D_MODEL}\\]`), /\nFix: /);
    assert.equal(existsSync(out), false, 'no dataset folder for a refused run');
  });

  it('capacity: one table row (natural, m per text), two capacities on the grid; inspect shows the table', async () => {
    const C = join(dir, 'C');
    const r = await runCli(['capacity', '--texts', CORPUS, '--limit', '2', '--grid', '4,5,8', '--max-steps', '400', '--out', C, '--json', ...WASM]);
    assertOk(r);
    const cap = lastJson<CapacityJson>(r);
    assert.equal(cap.interrupted, false);
    assert.equal(cap.table.length, 1);
    const [row] = cap.table;
    assert.equal(row.source, 'natural');
    assert.equal(row.m, 'per-text');
    assert.equal(row.texts, 2);
    assert.equal(cap.texts.length, 2);
    assert.equal(new Set(cap.texts.map((t) => t.id)).size, 2);
    for (const t of cap.texts) {
      assert.ok([0, 4, 5, 8].includes(t.capacity), `capacity ${t.capacity} of ${t.id}`);
      assert.equal(t.source, 'natural');
      assert.ok(t.h_lm_nats > 0);
    }
    const caps = cap.texts.map((t) => t.capacity);
    assert.equal(row.capacity_max, Math.max(...caps));
    assert.ok(Math.abs(row.capacity_mean - (caps[0] + caps[1]) / 2) < 1e-9);

    const ins = await runCli(['inspect', C, '--json']);
    assertOk(ins);
    const s = lastJson<{ kind: string; rows: number; length: number | null; capacity: { source: string; texts: number; capacity: { max: number } }[] | null }>(ins);
    assert.equal(s.kind, 'capacity');
    assert.equal(s.rows, 2);
    assert.equal(s.length, null);
    assert.ok(s.capacity, 'a capacity table');
    assert.equal(s.capacity.length, 1);
    assert.equal(s.capacity[0].texts, 2);
    assert.ok(s.capacity[0].capacity.max <= 8);
    if (caps.every((c) => c > 0)) assert.equal(s.capacity[0].capacity.max, Math.max(...caps));
  });
});
