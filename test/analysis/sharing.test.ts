/**
 * Sharing one e (m per text) or one m (e per text) within groups, on the real stories260k model:
 * the shared solver itself, then `prototoken sharing` end to end.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lm/load.js';
import { solverSchema, solverOptionsOf } from '../../src/solver/config.js';
import { readConfigFile, resolveConfig } from '../../src/util/config.js';
import { presetFile } from '../../src/util/package.js';
import { arrange, layoutFor } from '../../src/solver/arrangements.js';
import { argmaxHits } from '../../src/lm/cross_entropy.js';
import { type SharedSolveOptions, solveShared } from '../../src/solver/shared_m.js';
import { prepareTargets } from '../../src/texts/targets.js';
import type { SolveTarget } from '../../src/solver/types.js';
import type { SharingResult } from '../../src/analysis/results.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { CORPUS, corpusStories } from '../helpers/fixtures.js';
import { assertOk, assertUserError, lastJson, runCli, tempDir } from '../cli/run.js';

/** The real `--preset fast` recipe (configs/solver-fast.yaml), through the commands' own config path. */
const fast = resolveConfig(solverSchema, [readConfigFile(presetFile('solver', 'fast'))]);
const FAST: SharedSolveOptions = { ...solverOptionsOf({ ...fast, seed: 0 }, { kind: 'scaled', scale: fast.initScale }, { kind: 'per-text' }), maxSteps: 400, batchSize: 8 };

const stories = corpusStories(4);

describe('the shared solver', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  const targetsOf = (n: number, N: number): SolveTarget[] => prepareTargets(stories.slice(0, n), model.tokenizer, N, 'corpus').targets;

  /** Token accuracy of (e, m) on a target, by one real forward pass. */
  async function accuracyOf(e: Float32Array, m: Float32Array, t: SolveTarget): Promise<number> {
    const N = t.ids.length;
    const acc = tf.tidy(() => {
      const x = arrange(tf.tensor2d(e, [1, e.length]), tf.tensor2d(m, [1, m.length]), layoutFor('e-m', N)); // [1, N, d]
      return tf.mean(argmaxHits(model.lm.forward(x), tf.tensor2d([Array.from(t.ids)], [1, N], 'int32')));
    });
    const v = (await acc.data())[0];
    acc.dispose();
    return v;
  }

  it('sharing e in groups of 1 is the per-text problem: each text gets its own e and m and is solved', async () => {
    const targets = targetsOf(2, 4);
    const run = await solveShared(model.lm, targets, { ...FAST, share: 'e', groupSize: 1 });
    assert.equal(run.shared.length, 2, 'one group per text');
    assert.equal(run.allSolved, true);
    for (const [i, r] of run.results.entries()) {
      assert.equal(r.id, targets[i].id);
      assert.equal(r.accuracy, 1);
      assert.deepEqual(r.e, run.shared[i], 'the text e is its group e');
      assert.ok(r.m, 'm is per text');
      assert.equal(await accuracyOf(r.e, r.m, targets[i]), 1, `${r.id} is emitted by its own e and m`);
    }
    assert.notDeepEqual(run.results[0].e, run.results[1].e);
  });

  it('sharing e in a group of 2 trains one e for both texts, leaks no tensors, and reports the pass it returns', async () => {
    const targets = targetsOf(2, 3);
    const opts: SharedSolveOptions = { ...FAST, share: 'e', groupSize: 2, maxSteps: 40 };
    await solveShared(model.lm, targets, { ...opts, maxSteps: 2 }); // build the per-length tables first
    const before = tf.memory().numTensors;
    const run = await solveShared(model.lm, targets, opts);
    const again = await solveShared(model.lm, targets, { ...opts, seed: 1 });
    assert.equal(tf.memory().numTensors, before, 'repeated shared steps leak no tensors');
    for (const x of [run, again]) {
      assert.equal(x.shared.length, 1);
      const [a, b] = x.results;
      assert.deepEqual(a.e, b.e, 'both texts carry the same e');
      assert.deepEqual(a.e, x.shared[0]);
      assert.ok(a.m && b.m);
      assert.notDeepEqual(a.m, b.m, 'm stays per text');
      assert.equal(a.steps, b.steps, 'the group moves together');
      for (const [i, r] of x.results.entries()) {
        const acc = await accuracyOf(r.e, r.m as Float32Array, targets[i]);
        assert.ok(Math.abs(acc - r.accuracy) < 1e-6, `returned vectors are those of the reported pass: ${acc} vs ${r.accuracy}`);
      }
    }
    assert.notDeepEqual(run.shared[0], again.shared[0], 'another seed, another e');
  });

  it('groups batched together and chunked across groups match the same group solved alone', async () => {
    const targets = targetsOf(4, 3);
    const together = await solveShared(model.lm, targets, { ...FAST, share: 'm', groupSize: 2, batchSize: 3, maxSteps: 60 });
    const alone = await solveShared(model.lm, targets.slice(0, 2), { ...FAST, share: 'm', maxSteps: 60 });
    assert.equal(together.shared.length, 2);
    for (let i = 0; i < 2; i++) {
      const [t, a] = [together.results[i], alone.results[i]];
      assert.equal(t.steps, a.steps);
      assert.equal(t.accuracy, a.accuracy);
      const diff = Math.max(...t.e.map((v, k) => Math.abs(v - a.e[k])));
      assert.ok(diff < 1e-3, `e of ${t.id} differs by ${diff}`);
    }
    const mDiff = Math.max(...together.shared[0].map((v, k) => Math.abs(v - alone.shared[0][k])));
    assert.ok(mDiff < 1e-3, `the group m differs by ${mDiff}`);
  });
});

describe('prototoken sharing', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-sharing-'));
  });
  after(() => cleanup());

  const args = (out: string, ...extra: string[]): string[] => [
    'sharing', '--texts', CORPUS, '--length', '3', '--limit', '2', '--out', out, '--preset', 'fast', '--max-steps', '80', '--backend', 'wasm', '--quiet', ...extra,
  ];

  it('reports each (share, S_g) over the seeds, and a rerun reuses every cell', async () => {
    const out = join(dir, 'run');
    const r = await runCli(args(out, '--group-sizes', '1,2', '--share', 'e,m', '--seeds', '2', '--json'));
    assertOk(r);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as SharingResult;
    assert.equal(result.kind, 'sharing');
    assert.equal(result.N, 3);
    assert.deepEqual(result.rows.map((x) => `${x.shared}${x.groupSize}:${x.groups}`), ['e1:2', 'e2:1', 'm1:2', 'm2:1']);
    for (const row of result.rows) {
      assert.deepEqual(row.seeds, [0, 1]);
      assert.equal(row.accuracyBySeed.length, 2);
      for (const a of row.accuracyBySeed) assert.ok(a >= 0 && a <= 1);
      assert.equal(row.best, Math.max(...row.accuracyBySeed));
      assert.ok(Math.abs(row.mean - (row.accuracyBySeed[0] + row.accuracyBySeed[1]) / 2) < 1e-12);
      assert.ok(row.std >= 0);
    }
    const m1 = result.rows.find((x) => x.shared === 'm' && x.groupSize === 1);
    assert.equal(m1?.mean, 1, 'a group of one text with its own e and m is solved');
    const rerun = await runCli(args(out, '--group-sizes', '1,2', '--share', 'e,m', '--seeds', '2', '--json'));
    assertOk(rerun);
    const summary = lastJson<{ reused: number; cells: number; result: SharingResult }>(rerun);
    assert.equal(summary.reused, 8);
    assert.equal(summary.cells, 8);
    assert.deepEqual(summary.result.rows, result.rows);
  });

  it('a group larger than the texts, an unknown share and restarts are clear errors, and write nothing', async () => {
    const out = join(dir, 'bad');
    assertUserError(await runCli(args(out, '--group-sizes', '1,4')), /--group-sizes: a group of 4 texts needs at least that many texts, but there are 2/, /Fix: raise --limit to at least 4/);
    assertUserError(await runCli(args(out, '--share', 'x')), /share/);
    assertUserError(await runCli(args(out, '--restarts', '2')), /--restarts does not apply/, /--seeds/);
    assertUserError(await runCli(args(out, '--arrangement', 'e')), /arrangement "e" has no m/);
    assert.equal(existsSync(out), false);
  });
});
