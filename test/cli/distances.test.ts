/** End-to-end: `prototoken distances` on hand-made datasets, its errors, and on the real pipeline that makes its inputs. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DISTANCE_PAIR_TYPES, RESULT_VERSION, type DistancesResult } from '../../src/analysis/results.js';
import { handMadeFolder, handMadeRows, writeSolutions } from '../analysis/distance_fixtures.js';
import { CORPUS, assertOk, assertUserError, lastJson, runCli, sizeOf } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];

async function readResult(dir: string): Promise<DistancesResult> {
  return JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as DistancesResult;
}

/** What every result.json must satisfy, whatever its data. */
function assertValidResult(r: DistancesResult, maxPairs: number): void {
  assert.equal(r.kind, 'distances');
  assert.equal(r.version, RESULT_VERSION);
  assert.ok(!Number.isNaN(Date.parse(r.created)), r.created);
  assert.deepEqual(r.groups.map((g) => g.type), [...DISTANCE_PAIR_TYPES]);
  for (const g of r.groups) {
    assert.ok(g.pairs <= maxPairs);
    assert.equal(g.cosineValues.length, g.pairs);
    assert.equal(g.tfidfValues.length, g.pairs);
    for (const v of [...g.cosineValues, ...g.tfidfValues]) assert.ok(v >= 0 && v <= 2, `${g.type}: ${v}`);
    if (g.pairs > 0) {
      const mean = g.cosineValues.reduce((a, b) => a + b, 0) / g.pairs;
      assert.ok(Math.abs((g.cosine.mean ?? NaN) - mean) < 1e-12);
    }
  }
}

describe('prototoken distances', () => {
  const at = handMadeFolder();

  it('writes result.json and config.json, prints the table, and reproduces its draw from --seed', async () => {
    const args = ['distances', at('seed0'), at('seed1'), '--max-pairs', '20', '--seed', '3'];
    const r = await runCli([...args, '--out', at('out1'), '--json']);
    assertOk(r);
    const summary = lastJson<{ result: string; solutions: number; texts: number; contexts: number; groups: { type: string; pairs: number }[] }>(r);
    assert.equal(summary.result, join(at('out1'), 'result.json'));
    assert.deepEqual([summary.solutions, summary.texts, summary.contexts], [18, 9, 3]);
    assert.deepEqual(summary.groups.map((g) => g.pairs), [9, 20, 20]);
    const result = await readResult(at('out1'));
    assertValidResult(result, 20);
    assert.equal(result.model, 'test/tiny');
    const means = result.groups.map((g) => g.cosine.mean ?? NaN);
    assert.ok(means[0] < means[1] && means[1] < means[2], `${means}`);
    const config = JSON.parse(await readFile(join(at('out1'), 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config, { datasets: [at('seed0'), at('seed1')], out: at('out1'), seed: 3, maxPairs: 20, includeUnsolved: false });

    const again = await runCli([...args, '--out', at('out2')]);
    assertOk(again);
    assert.match(again.stdout, /18 solutions of 9 texts in 3 contexts, from 2 dataset\(s\) \(N=4, d=8\)/);
    assert.match(again.stdout, /same-context\s+20\s+0\.\d{4} ± 0\.\d{4}/);
    assert.deepEqual((await readResult(at('out2'))).groups, result.groups);
  });

  it('--print-config shows the datasets and writes nothing', async () => {
    const r = await runCli(['distances', at('seed0'), '--out', at('never'), '--print-config']);
    assertOk(r);
    assert.deepEqual((JSON.parse(r.stdout) as { datasets: string[] }).datasets, [at('seed0')]);
    assert.equal(await sizeOf(at('never')), null);
  });

  it('errors are one clear message naming the input and the fix', async () => {
    await writeSolutions(at('n6'), [{ ...handMadeRows(0)[0], tokens: [1, 2, 3, 4, 5, 6] }], { length: 6 });
    assertUserError(await runCli(['distances', at('seed0'), at('n6'), '--out', at('x')]), /n6: not comparable with .*seed0: N=6 vs N=4/, /Fix: .*--length/);
    assertUserError(await runCli(['distances', '--out', at('x')]), /no dataset given/, /Fix: /);
    assertUserError(await runCli(['distances', at('seed0')]), /missing required setting "out"/, /--out/);
    assert.equal(await sizeOf(join(at('x'), 'result.json')), null);
  });

  it('on its real inputs: fit-m, generated continuations solved under two seeds, then distances', { timeout: 120_000 }, async () => {
    const m = at('m.safetensors');
    assertOk(await runCli(['fit-m', '--texts', CORPUS, '--length', '5', '--limit', '4', '--max-steps', '2', '--out', m, ...WASM]));
    const solve = (seed: string, out: string): string[] => [
      'solve', '--kind', 'generated', '--texts', CORPUS, '--continuations', '2', '--limit', '2', '--length', '5',
      '--m', m, '--max-steps', '3', '--seed', seed, '--text-seed', '0', '--out', out, ...WASM,
    ];
    assertOk(await runCli(solve('1', at('g1'))));
    assertOk(await runCli(solve('2', at('g2'))));
    // Three steps solve nothing; unsolved rows still show that the pairing works on real datasets.
    const r = await runCli(['distances', at('g1'), at('g2'), '--out', at('g'), '--include-unsolved', '--json']);
    assertOk(r);
    const result = await readResult(at('g'));
    assertValidResult(result, 2000);
    // 2 prompts x 2 continuations = 4 texts, each solved twice: 4 same-text, 2 x (C(4,2) - 2) = 8 same-context, 16 different.
    assert.deepEqual(result.groups.map((g) => g.pairs), [4, 8, 16]);
    assert.deepEqual(result.groups[0].tfidfValues, [0, 0, 0, 0]);
  });
});
