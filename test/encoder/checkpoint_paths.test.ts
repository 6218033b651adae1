/**
 * Issue 17, defect 8 (last part): nothing written for sharing holds a path of the machine that
 * wrote it. A checkpoint names its model by the weights' sha256 and a portable name; a mismatch
 * suggests --model only in a form that works here.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadModelDir } from '../../src/lm/load.js';
import { loadEncoder } from '../../src/encoder/load.js';
import { PrototokenError } from '../../src/util/errors.js';
import { ROOT, fixtureDir } from '../helpers/fixtures.js';
import { SHIPPED, shippedCopies } from './shipped_copies.js';


describe('checkpoints name their model portably', () => {
  const { model: m, copy } = shippedCopies('prototoken-ckpt-paths-');

  it('a checkpoint for other weights names the mismatch without suggesting a path of another machine', async () => {
    // Only the fingerprint differs: the checkpoint pretends it was trained on other weights, somewhere else.
    const ck = await copy('other-weights');
    const metaFile = join(ck, 'best', 'encoder.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as Record<string, unknown>;
    meta.modelFingerprint = 'f'.repeat(64);
    meta.model = '/home/someone/models/mine';
    await writeFile(metaFile, JSON.stringify(meta, null, 2));
    await assert.rejects(loadEncoder(ck, m()), (err: unknown) => {
      assert.ok(err instanceof PrototokenError);
      assert.match(err.message, /model weights: checkpoint ffffffffffff… \(\/home\/someone\/models\/mine\)/);
      assert.doesNotMatch(err.message, /--model \//, 'no --model pointing at a path that is not here');
      assert.match(err.message, /the model whose weights have sha256 ffffffffffff…/);
      return true;
    });
  });

  it('the shipped checkpoints name the embedded model portably; a mismatch suggests dropping --model', async () => {
    for (const ck of SHIPPED) {
      for (const f of ['encoder.json', 'config.json']) {
        const text = await readFile(join(ck, 'best', f), 'utf8');
        assert.doesNotMatch(text, /"\/|\/work\//, `${ck}/best/${f} holds an absolute path`);
        assert.match(text, /"model": "models\/stories260k"/);
      }
    }
    // The gated checkpoints' gate.json records how each was chosen: relative paths only.
    for (const [name, source] of [['stories260k-n8-v8', 'stories260k-n8-v7'], ['stories260k-n16-v2', 'stories260k-n16']]) {
      const gate = await readFile(join(ROOT, 'checkpoints', name, 'best', 'gate.json'), 'utf8');
      assert.doesNotMatch(gate, /"\/|\/work\//);
      assert.match(gate, new RegExp(`"checkpoint": "checkpoints/${source}"`));
    }
    const neox = await loadModelDir(fixtureDir('tiny-random-neox'));
    try {
      await assert.rejects(loadEncoder(SHIPPED[0], neox), (err: unknown) => {
        assert.ok(err instanceof PrototokenError);
        assert.match(err.message, /the embedded model \(drop --model\)/);
        assert.doesNotMatch(err.message, /--model \//);
        return true;
      });
    } finally {
      neox.lm.dispose();
    }
  });
});
