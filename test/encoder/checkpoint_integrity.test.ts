/**
 * Issue 17, defects 3 and 8 (checkpoints): every file of a snapshot has its sha256 in encoder.json,
 * checked on load and by `prototoken verify`; a damaged or missing file is named, with the fix;
 * an older checkpoint without the hashes is read with a warning; the shipped checkpoints carry the
 * hashes.
 */
import assert from 'node:assert/strict';
import { open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSnapshot } from '../../src/encoder/checkpoint.js';
import { verifyCheckpoint } from '../../src/encoder/checkpoint_verify.js';
import { loadEncoder } from '../../src/encoder/load.js';
import { encoderStarts } from '../../src/encoder/starts.js';
import { PrototokenError } from '../../src/util/errors.js';
import { CORPUS, ROOT } from '../helpers/fixtures.js';
import { assertUserError, describeRun, runCli } from '../cli/run.js';
import { SHIPPED, shippedCopies } from './shipped_copies.js';


/** Overwrite `length` bytes of `file` at `offset` with `byte`. */
async function clobber(file: string, offset: number, length: number, byte = 0xff): Promise<void> {
  const h = await open(file, 'r+');
  try {
    await h.write(Buffer.alloc(length, byte), 0, length, offset);
  } finally {
    await h.close();
  }
}

describe('checkpoint integrity', () => {
  const { model: m, copy } = shippedCopies('prototoken-ckpt-');

  it('the shipped checkpoints record a sha256 for every file, and every file matches', async () => {
    for (const ck of SHIPPED) {
      const meta = JSON.parse(await readFile(join(ck, 'best', 'encoder.json'), 'utf8')) as { sha256?: Record<string, string> };
      const files = (await readdir(join(ck, 'best'))).filter((f) => f !== 'encoder.json').sort();
      assert.deepEqual(Object.keys(meta.sha256 ?? {}).sort(), files, ck);
      const r = await verifyCheckpoint(ck);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.snapshots.map((s) => s.name), ['best']);
      for (const f of r.snapshots[0].files) assert.equal(f.state, 'ok', `${ck}: ${f.file}`);
    }
  });

  it('the runs committed with best/ and last/ (release 2\'s first leg, releases 3 to 6, release 7 in progress) verify and name no path of this machine', async () => {
    for (const run of ['stories260k-n8-v2', 'stories260k-n8-v3', 'stories260k-n8-v4', 'stories260k-n8-v5', 'stories260k-n8-v6', 'stories260k-n8-v7']) {
      const ck = join(ROOT, 'checkpoints', run);
      const r = await verifyCheckpoint(ck);
      assert.deepEqual(r.snapshots.map((s) => s.name).sort(), ['best', 'last'], run);
      for (const snap of r.snapshots) for (const f of snap.files) assert.equal(f.state, 'ok', `${run}/${snap.name}/${f.file}`);
      for (const snap of ['best', 'last']) {
        for (const f of ['encoder.json', 'config.json']) {
          const text = await readFile(join(ck, snap, f), 'utf8');
          assert.doesNotMatch(text, /"\/|\/work\//, `${run}/${snap}/${f}`);
          assert.match(text, /"model": "models\/stories260k"/, `${run}/${snap}/${f} names the embedded model portably`);
        }
      }
    }
  });

  it('4 KB of 0xFF in weights.safetensors is refused on load, naming the file', async () => {
    const ck = await copy('ff');
    await clobber(join(ck, 'best', 'weights.safetensors'), 20_000, 4096);
    await assert.rejects(loadEncoder(ck, m()), (err: unknown) => {
      assert.ok(err instanceof PrototokenError, String(err));
      assert.match(err.message, /best\/weights\.safetensors: damaged: its sha256 .* does not match the one recorded in encoder\.json/);
      assert.match(err.message, /Fix: .*another snapshot/);
      return true;
    });
  });

  it('one changed finite value is refused too (it would give other accuracies silently)', async () => {
    const ck = await copy('finite');
    const file = join(ck, 'best', 'weights.safetensors');
    const bytes = await readFile(file);
    const at = bytes.length - 8; // inside the last tensor's data
    bytes.writeFloatLE(bytes.readFloatLE(at) + 0.5, at);
    await writeFile(file, bytes);
    await assert.rejects(readSnapshot(join(ck, 'best')), /weights\.safetensors: damaged/);
  });

  it('a missing m.safetensors says the checkpoint is incomplete (not "re-download the model folder")', async () => {
    const ck = await copy('no-m');
    await rm(join(ck, 'best', 'm.safetensors'));
    await assert.rejects(loadEncoder(ck, m()), (err: unknown) => {
      assert.ok(err instanceof PrototokenError);
      assert.match(err.message, /best\/m\.safetensors: the checkpoint is incomplete: m\.safetensors is missing/);
      assert.match(err.message, /another snapshot/);
      assert.doesNotMatch(err.message, /model folder/);
      return true;
    });
  });

  it('an older checkpoint without hashes is read with a warning that it is unverified', async () => {
    const ck = await copy('old');
    const metaFile = join(ck, 'best', 'encoder.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as Record<string, unknown>;
    delete meta.sha256;
    await writeFile(metaFile, JSON.stringify(meta, null, 2));
    const enc = await loadEncoder(ck, m());
    try {
      assert.equal(enc.warnings.length, 1);
      assert.match(enc.warnings[0], /encoder\.json records no sha256 for its files \(written by an older version\): not verified/);
    } finally {
      enc.encoder.dispose();
    }
    // solve --init encoder:CKPT passes the same warning on.
    const starts = await encoderStarts(ck, m(), [{ id: 'a', ids: [1, 2, 3, 4, 5, 6, 7, 8] }], null, 'e-m');
    assert.deepEqual(starts.warnings, enc.warnings);
    const r = await verifyCheckpoint(ck);
    assert.equal(r.ok, true);
    assert.ok(r.snapshots[0].files.every((f) => f.state === 'unverified'), JSON.stringify(r));
    // Without hashes, verify still catches values no training writes (NaN from 0xFF bytes).
    await clobber(join(ck, 'best', 'weights.safetensors'), 20_000, 4096);
    const bad = await verifyCheckpoint(ck);
    assert.equal(bad.ok, false);
    assert.match(bad.snapshots[0].files.find((f) => f.file === 'weights.safetensors')?.problem ?? '', /not finite/);
  });

});

describe('prototoken verify CHECKPOINT and eval of a damaged checkpoint (CLI)', () => {
  const { copy } = shippedCopies('prototoken-ckpt-cli-');

  it('verify reports every file of a shipped checkpoint as ok and exits 0', async () => {
    const r = await runCli(['verify', SHIPPED[0]]);
    assert.equal(r.code, 0, describeRun(r));
    for (const f of ['weights.safetensors', 'm.safetensors', 'reference.safetensors', 'config.json']) assert.match(r.stdout, new RegExp(`ok\\s+best/${f.replace('.', '\\.')}`));
    assert.match(r.stdout, /verified .*stories260k-n8: no damage found/);
  });

  it('verify names the damaged file and exits 1; eval refuses the checkpoint instead of scoring it 0', async () => {
    const ck = await copy('ck');
    await clobber(join(ck, 'best', 'weights.safetensors'), 20_000, 4096);
    const v = await runCli(['verify', ck]);
    assert.equal(v.code, 1, describeRun(v));
    assert.match(v.stdout, /DAMAGED\s+best\/weights\.safetensors/);
    assert.match(v.stdout, /ok\s+best\/m\.safetensors/);
    const e = await runCli(['eval', '--checkpoint', ck, '--texts', CORPUS, '--window', '8', '--limit', '4', '--backend', 'wasm', '--quiet']);
    assertUserError(e, /weights\.safetensors: damaged/, /another snapshot/);
  });
});
