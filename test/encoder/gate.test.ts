/**
 * The retrieval gate: the threshold chosen on calibration windows, the gated e on hand-made
 * windows, and the real thing on the shipped N = 8 encoder: chosen on validation windows, written
 * as a new verified snapshot, read back by eval (gated row and network row) and refine, refused
 * when its gate.json is damaged; `prototoken gate` end to end.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { sha256File } from '../../src/lm/safetensors.js';
import { verifyCheckpoint } from '../../src/encoder/checkpoint_verify.js';
import { encodeOnePass } from '../../src/encoder/encode.js';
import { evaluateEncoder } from '../../src/encoder/evaluate.js';
import { nearestWindows } from '../../src/encoder/baselines.js';
import { type RetrievalGate, applyGate, chooseMinSame } from '../../src/encoder/gate.js';
import { checkGateOut, chooseGate, gateRunSchema, writeGatedCheckpoint } from '../../src/encoder/gate_run.js';
import { runTexts } from '../../src/encoder/inputs.js';
import { loadEncoder } from '../../src/encoder/load.js';
import { onePass } from '../../src/encoder/onepass.js';
import type { ReferenceSet } from '../../src/encoder/types.js';
import { PrototokenError } from '../../src/util/errors.js';
import { CORPUS, ROOT } from '../helpers/fixtures.js';
import { assertOk, assertUserError, describeRun, lastJson, runCli } from '../cli/run.js';
import { shippedCopies } from './shipped_copies.js';

const gateFor = (N: number, minSame: number): RetrievalGate => ({
  rule: 'nearest-if-same-positions',
  N,
  minSame,
  calibration: { source: 'hand', split: 'val', windows: 1, accuracyByMinSame: {}, network: 0, nearest: 0, createdAt: '', config: {} },
});

describe('retrieval gate: threshold and gated e', () => {
  it('picks the threshold with the best mean accuracy; ties go to retrieving less; N + 1 is the network alone', () => {
    // Window 0 shares 4 of 4 with its neighbour (neighbour better), window 1 shares 2 (network better).
    const c = chooseMinSame([0.5, 0.75], [1, 0.5], [4, 2], 4);
    assert.equal(c.minSame, 4, 'thresholds 3 and 4 tie at 0.875: the higher one (retrieve less) wins');
    assert.deepEqual(Object.keys(c.accuracyByMinSame).map(Number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
    assert.equal(c.accuracyByMinSame['5'], 0.625, 'N + 1: the network alone');
    assert.equal(c.accuracyByMinSame['0'], 0.75, '0: the neighbour alone');
    assert.equal(c.accuracyByMinSame['3'], 0.875);
    assert.equal(chooseMinSame([0.9, 0.9], [0.5, 0.25], [2, 1], 4).minSame, 5, 'a network better everywhere is used alone');
    assert.throws(() => chooseMinSame([], [], [], 4), /must not be empty/);
  });

  it('takes the neighbour\'s e exactly where enough positions agree, the network\'s elsewhere', () => {
    const reference: ReferenceSet = { N: 4, d: 2, textIds: ['r0', 'r1'], ids: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), e: Float32Array.from([10, 11, 20, 21]) };
    const ids = Int32Array.from([1, 2, 3, 9, 5, 0, 0, 8, 5, 6, 7, 8]); // 3 same as r0; 2 same as r1; a copy of r1
    const network = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    assert.deepEqual([...nearestWindows(reference, ids, 4).matches], [3, 2, 4]);
    const g = applyGate(gateFor(4, 3), reference, ids, 4, network);
    assert.deepEqual([...g.retrieved], [1, 0, 1]);
    assert.deepEqual(g.e, Float32Array.from([10, 11, 0.3, 0.4, 20, 21]));
    assert.deepEqual(network, Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 'the network\'s e_hat is not modified');
    assert.throws(() => applyGate(gateFor(4, 3), reference, ids.subarray(0, 9), 3, network.subarray(0, 6)), /chosen for N=4/);
  });
});

describe('retrieval gate on the shipped N = 8 encoder', () => {
  const { model, copy } = shippedCopies('prototoken-gate-');
  const configOf = (checkpoint: string, out: string) => gateRunSchema.parse({ checkpoint, texts: CORPUS, window: 8, windowsPerText: 2, split: 'val', limit: 48, out });

  it('is chosen on validation windows, written as a verified snapshot, and read back by eval with the network beside it', async () => {
    const src = await copy('src');
    const out = join(src, '..', 'gated', 'best');
    const config = configOf(src, out);
    await checkGateOut(config, src);
    const enc = await loadEncoder(src, model());
    let gated: Awaited<ReturnType<typeof loadEncoder>> | undefined;
    try {
      const run = await runTexts(config, model(), enc);
      const { gate, retrieved } = await chooseGate(model().lm, enc, run, config);
      assert.equal(gate.calibration.windows, 48);
      const best = Math.max(...Object.values(gate.calibration.accuracyByMinSame));
      assert.equal(gate.calibration.accuracyByMinSame[String(gate.minSame)], best);
      assert.ok(best >= gate.calibration.network && best >= gate.calibration.nearest);
      await writeGatedCheckpoint(enc, gate, out);
      const v = await verifyCheckpoint(out);
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.ok(v.snapshots[0].files.some((f) => f.file === 'gate.json' && f.state === 'ok'));
      for (const f of ['weights.safetensors', 'm.safetensors', 'reference.safetensors']) {
        assert.equal(await sha256File(join(out, f)), await sha256File(join(src, 'best', f)), `${f} is copied unchanged`);
      }
      gated = await loadEncoder(out, model());
      assert.deepEqual(gated.gate, gate);
      // The gated one-pass e: the neighbour's e where it was retrieved, else the network's; no tensor leaks.
      const ids = Int32Array.from(run.texts.flatMap((t) => [...t.ids]));
      await encodeOnePass(gated, ids, 8);
      const before = tf.memory().numTensors;
      const e = await encodeOnePass(gated, ids, 8);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(e.gated, true);
      assert.equal(e.retrieved.reduce((a, b) => a + b, 0), retrieved);
      // Scored by the LM, the gated e gives the calibration's figure for the chosen threshold.
      const rows = await onePass(model().lm, e.e, gated.m, ids, 8);
      const mean = rows.reduce((s, r) => s + r.accuracy, 0) / rows.length;
      assert.ok(Math.abs(mean - gate.calibration.accuracyByMinSame[String(gate.minSame)]) < 1e-9, `${mean}`);
      const { summary } = await evaluateEncoder(model().lm, gated, run, { baselines: ['nn-tokens'] });
      assert.deepEqual(summary.methods.map((mt) => mt.method), ['encoder (transformer + retrieval gate)', 'encoder network alone (transformer)', 'nn-tokens']);
      assert.ok(Math.abs(summary.methods[0].token_accuracy - mean) < 1e-9);
      assert.ok(Math.abs(summary.methods[1].token_accuracy - gate.calibration.network) < 1e-9);
      assert.ok(summary.notes.some((n) => n.includes(`${retrieved} of 48 texts took the nearest window's e`)), summary.notes.join('\n'));
      // At another N the gate does not apply: the network alone, and eval says so.
      const short = await runTexts({ ...config, window: 6 }, model(), gated);
      const s6 = await evaluateEncoder(model().lm, gated, short, { baselines: [] });
      assert.deepEqual(s6.summary.methods.map((mt) => mt.method), ['encoder (transformer)']);
      assert.ok(s6.summary.notes.some((n) => /not used, it was chosen for N=8/.test(n)));
    } finally {
      enc.encoder.dispose();
      gated?.encoder.dispose();
    }
    // --out: never the source, never a folder this command did not write, a gated one only with --overwrite.
    await assert.rejects(checkGateOut(configOf(src, join(src, 'best')), src), /never over it/);
    await assert.rejects(checkGateOut(configOf(src, join(src, 'best')), join(src, 'best')), /never over it/);
    await assert.rejects(checkGateOut(configOf(src, out), src), /a gated checkpoint is already here/);
    await checkGateOut(configOf(src, out), src, { overwrite: true });
    const other = join(src, '..', 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine');
    await assert.rejects(checkGateOut(configOf(src, other), src, { overwrite: true }), /not a gated checkpoint/);
  });

  it('a changed or invalid gate.json is refused by name', async () => {
    const src = await copy('src2');
    const out = join(src, '..', 'gated2');
    const enc = await loadEncoder(src, model());
    try {
      await writeGatedCheckpoint(enc, gateFor(8, 5), out);
    } finally {
      enc.encoder.dispose();
    }
    const file = join(out, 'gate.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"minSame": 5', '"minSame": 2'));
    await assert.rejects(loadEncoder(out, model()), /gate\.json: damaged: its sha256/);
    // Valid hashes but not a gate (as if sealed by hand): the schema names the problem.
    await writeFile(file, text.replace('"minSame": 5', '"minSame": "five"'));
    const metaFile = join(out, 'encoder.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { sha256: Record<string, string> };
    meta.sha256['gate.json'] = await sha256File(file);
    await writeFile(metaFile, JSON.stringify(meta));
    await assert.rejects(loadEncoder(out, model()), (err: unknown) => {
      assert.ok(err instanceof PrototokenError);
      assert.match(err.message, /gate\.json: not a retrieval gate: minSame/);
      assert.match(err.message, /prototoken gate/);
      return true;
    });
    assert.deepEqual((await readdir(out)).sort(), ['config.json', 'encoder.json', 'gate.json', 'm.safetensors', 'reference.safetensors', 'weights.safetensors']);
  });

  it('prototoken gate writes the gated checkpoint, refuses to replace it without --overwrite, and refine starts from it', async () => {
    const src = await copy('src3');
    const out = join(src, '..', 'cli-gated', 'best');
    const args = ['gate', '--checkpoint', src, '--texts', CORPUS, '--window', '8', '--windows-per-text', '2', '--limit', '32', '--out', out, '--backend', 'wasm', '--quiet'];
    const r = await runCli([...args, '--json']);
    assertOk(r);
    const j = lastJson<{ out: string; gate: { calibration: { split: string; windows: number } }; retrieved: number }>(r);
    assert.equal(j.gate.calibration.split, 'val', 'the validation split by default');
    assert.equal(j.gate.calibration.windows, 32);
    const again = await runCli(args);
    assertUserError(again, /a gated checkpoint is already here/, /--overwrite/);
    const refine = await runCli(['refine', '--checkpoint', out, '--texts', CORPUS, '--window', '8', '--windows-per-text', '1', '--split', 'test', '--limit', '3', '--starts', 'gated', '--max-steps', '3', '--workers', '1', '--backend', 'wasm', '--quiet', '--json']);
    assert.equal(refine.code, 0, describeRun(refine));
    const rj = lastJson<{ starts: { start: string }[] }>(refine);
    assert.deepEqual(rj.starts.map((s) => s.start), ['encoder one pass (retrieval gate)']);
    const plain = await runCli(['refine', '--checkpoint', src, '--texts', CORPUS, '--window', '8', '--windows-per-text', '1', '--limit', '2', '--starts', 'gated', '--max-steps', '2', '--workers', '1', '--backend', 'wasm', '--quiet']);
    assertUserError(plain, /has no retrieval gate for N=8/, /prototoken gate/);
  });

  // Release 8 at N = 8, and the gated N = 16 encoder: each committed gate.json is chosen again by its config.
  for (const [name, windows] of [['stories260k-n8-v8', 1599], ['stories260k-n16-v2', 788]] as const) {
    it(`the shipped ${name} is what its config makes: the committed gate.json is chosen again, the same threshold and figures`, async () => {
      const src = await copy(`again-${name}`);
      const out = join(src, '..', `again-${name}-out`, 'best');
      const shippedDir = join(ROOT, 'checkpoints', name, 'best');
      const config = join(ROOT, 'configs', `gate-${name}.yaml`);
      const printed = await runCli(['gate', '--config', config, '--print-config'], { cwd: ROOT });
      assertOk(printed);
      assert.match(printed.stdout, new RegExp(`checkpoints/${name}/best`));
      const r = await runCli(['gate', '--config', config, '--out', out, '--backend', 'wasm', '--quiet', '--json'], { cwd: ROOT, timeoutMs: 120_000 });
      assertOk(r);
      const shipped = JSON.parse(await readFile(join(shippedDir, 'gate.json'), 'utf8')) as RetrievalGate;
      // --json speaks snake_case, like every command's summary; gate.json keeps the checkpoint's camelCase.
      const again = lastJson<{ gate: { min_same: number; calibration: { accuracy_by_min_same: Record<string, number>; windows: number } } }>(r).gate;
      assert.equal(again.min_same, shipped.minSame);
      assert.deepEqual(again.calibration.accuracy_by_min_same, shipped.calibration.accuracyByMinSame);
      assert.equal(again.calibration.windows, windows);
      for (const f of ['weights.safetensors', 'reference.safetensors']) {
        assert.equal(await sha256File(join(out, f)), await sha256File(join(shippedDir, f)));
      }
    });
  }
});
