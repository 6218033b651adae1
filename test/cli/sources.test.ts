/** End-to-end: `solve --kind random|generated` store the exact target ids they made. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDataset } from '../../src/datasets/index.js';
import { CORPUS, assertOk, assertUserError, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];

describe('solve on random and generated texts', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('--kind random writes one row per random text, ids in the vocabulary, reproducible from the seed', async () => {
    const runOnce = async (out: string): Promise<number[][]> => {
      assertOk(await runCli(['solve', '--kind', 'random', '--length', '5', '--limit', '3', '--max-steps', '3', '--seed', '4', '--out', out, ...WASM]));
      const ds = await readDataset(out);
      return ds.toRecords().sort((a, b) => a.textId.localeCompare(b.textId)).map((r) => Array.from(r.tokenIds));
    };
    const a = await runOnce(join(dir, 'r1'));
    const b = await runOnce(join(dir, 'r2'));
    assert.equal(a.length, 3);
    assert.deepEqual(a, b);
    for (const ids of a) {
      assert.equal(ids.length, 5);
      assert.ok(ids.every((id) => id >= 3 && id < 512), `${ids}`);
    }
  });

  it('--kind generated needs --texts, and stores the model continuations as targets', async () => {
    assertUserError(await runCli(['solve', '--kind', 'generated', '--length', '5', '--out', join(dir, 'g0'), ...WASM]), /need a corpus file/, /--texts/);
    const out = join(dir, 'g1');
    assertOk(await runCli(['solve', '--kind', 'generated', '--texts', CORPUS, '--length', '6', '--limit', '2', '--max-steps', '5', '--out', out, ...WASM]));
    const ds = await readDataset(out);
    assert.deepEqual(ds.toRecords().map((r) => r.textId).sort(), ['generated-validation-0', 'generated-validation-1']);
    assert.ok(ds.toRecords().every((r) => r.nTokens === 6));
  });

  it('--continuations K groups K generated texts per prompt, and needs --kind generated', async () => {
    assertUserError(await runCli(['solve', '--texts', CORPUS, '--continuations', '2', '--length', '5', '--out', join(dir, 'c0'), ...WASM]), /--kind is natural/, /--kind generated/);
    const out = join(dir, 'c1');
    assertOk(await runCli(['solve', '--kind', 'generated', '--texts', CORPUS, '--continuations', '2', '--limit', '2', '--length', '5', '--max-steps', '2', '--out', out, ...WASM]));
    const ids = (await readDataset(out)).toRecords().map((r) => r.textId).sort();
    assert.equal(ids.length, 4);
    assert.deepEqual(ids.slice(0, 2), ['generated-validation-0#0', 'generated-validation-0#1']);
    assert.match(ids[2], /^generated-validation-\d+#0$/);
    // Other texts under the same ids must not join the dataset on resume.
    assertUserError(
      await runCli(['solve', '--kind', 'generated', '--texts', CORPUS, '--continuations', '2', '--limit', '2', '--length', '5', '--max-steps', '2', '--text-seed', '5', '--out', out, ...WASM]),
      /textSeed/,
    );
  });
});
