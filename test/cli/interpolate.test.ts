/**
 * End-to-end `prototoken interpolate`: on two real solutions of one text (solve --m --restarts 2
 * --keep-all-restarts) it writes result.json, config.json and a curves.arrow that apache-arrow
 * reads; bad inputs are refused with a message naming the file and the fix, and nothing is written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import type { InterpolateResult } from '../../src/analysis/results.js';
import { openDatasetWriter } from '../../src/datasets/index.js';
import { testOptions } from '../datasets/helpers.js';
import { keepAll, row, writeFixedM } from '../analysis/helpers.js';
import { SHIPPED_M } from '../helpers/fixtures.js';
import { CORPUS, assertOk, assertUserError, describeRun, lastJson, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];

let dir = '';
let cleanup: () => Promise<void> = async () => {};
/** Two solutions of the first corpus text at N=4 with the shipped m. */
let solved = '';

describe('interpolate', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    solved = join(dir, 'solved');
    const r = await runCli(['solve', '--texts', CORPUS, '--length', '4', '--limit', '1', '--restarts', '2', '--keep-all-restarts', '--m', SHIPPED_M, '--preset', 'fast', '--out', solved, ...WASM]);
    assertOk(r);
  });
  after(() => cleanup());

  it('writes result.json, config.json and curves.arrow, and prints the table', async () => {
    const out = join(dir, 'out');
    const r = await runCli(['interpolate', solved, '--out', out, '--steps', '20', '--taus-per-step', '4', ...WASM]);
    assertOk(r);
    assert.match(r.stdout, /text_id\s+a\s+b\s+margins\s+distance\s+line min acc\s+bezier min acc\s+cubic min acc\s+length ratio/, describeRun(r));
    assert.match(r.stdout, /1 pairs of 1 texts at N=4 \| line: [01]\/1 connected/, describeRun(r));
    assert.match(r.stdout, /\| any path: [01]\/1 \|/, describeRun(r));
    assert.match(r.stdout, /^localized: 2 solutions of 1 texts \| distance same text [\d.]+ vs other texts n\/a/m, describeRun(r));

    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as InterpolateResult;
    assert.equal(result.kind, 'interpolate');
    assert.equal(result.version, 1);
    assert.equal(result.dataset, solved);
    assert.equal(result.taus.length, 65);
    assert.equal(result.curvesFile, 'curves.arrow');
    assert.equal(result.summary.pairs, 1);
    const [p] = result.pairs;
    assert.deepEqual([p.restartA, p.restartB, p.N], [0, 1, 4]);
    for (const acc of [p.lineAccuracy, p.bezierAccuracy]) assert.deepEqual([acc[0], acc[64]], [1, 1], 'both ends decode the text');
    assert.ok(p.lengthRatio >= 1);
    assert.ok((p.marginA as number) > 0 && p.polishStepsA === 0, 'the endpoints\' margins and polishing, from the dataset');
    // The two-bend fallback: trained exactly when the Bezier curve dips.
    assert.equal(p.cubicAccuracy === null, p.bezierMinAccuracy >= 1);

    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { datasets: string[]; steps: number; tausPerStep: number };
    assert.deepEqual([config.datasets, config.steps, config.tausPerStep], [[solved], 20, 4]);

    const curves = tableFromIPC(await readFile(join(out, 'curves.arrow')));
    assert.equal(curves.numRows, (p.cubicAccuracy ? 3 : 2) * 65);
    assert.deepEqual(curves.schema.fields.map((f) => f.name), ['pair', 'text_id', 'restart_a', 'restart_b', 'path', 'tau', 'accuracy', 'loss']);
    const rows = curves.toArray().map((x) => x.toJSON() as { text_id: string; path: string; tau: number; accuracy: number; loss: number });
    assert.deepEqual(rows.filter((x) => x.path === 'bezier').map((x) => x.accuracy), p.bezierAccuracy);
    assert.deepEqual(rows.filter((x) => x.path === 'line').map((x) => x.tau), result.taus);
    assert.ok(rows.every((x) => x.text_id === p.textId && Number.isFinite(x.loss)));
  });

  it('--json prints the summary; --steps 0 leaves the curve on the line', async () => {
    const out = join(dir, 'out0');
    const r = await runCli(['interpolate', solved, '--out', out, '--steps', '0', '--json', ...WASM]);
    assertOk(r);
    const s = lastJson<{ out: string; pairs: number; steps: number; line_connected: number; bezier_connected: number }>(r);
    assert.deepEqual([s.out, s.pairs, s.steps], [out, 1, 0]);
    assert.equal(s.bezier_connected, s.line_connected);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as InterpolateResult;
    assert.deepEqual(result.pairs[0].bezierAccuracy, result.pairs[0].lineAccuracy);
    assert.ok(Math.abs(result.pairs[0].lengthRatio - 1) < 1e-5);
  });

  it('refuses bad inputs with the file and the fix, writing nothing', async () => {
    const perText = join(dir, 'per-text');
    const w = await openDatasetWriter(perText, testOptions({ length: 5, ...keepAll(2) }));
    await w.append([0, 1].map((r) => ({ ...row(0, r), m: new Float32Array(8) })));
    await w.close();
    const single = await writeFixedM(join(dir, 'single'), [row(0, 0), row(1, 0)]);
    const pair = await writeFixedM(join(dir, 'pair'), [row(0, 0), row(0, 1)], keepAll(2));
    const otherM = await writeFixedM(join(dir, 'other-m'), [row(0, 2)], { m: new Float32Array(8).fill(1) });
    const otherN = await writeFixedM(join(dir, 'other-n'), [{ ...row(0, 2), tokenIds: Int32Array.from([1, 2, 3]) }], { length: 3 });
    const cases: [string[], RegExp[]][] = [
      [[join(dir, 'missing')], [/missing: no such dataset folder/, /Fix: pass the --out folder/]],
      [[pair, perText], [/per-text: its m \(per-text\) differs from that of .*pair \(sha256/, /Fix: solve every dataset with the same --m FILE/]],
      [[single], [/no text has two or more solved solutions/, /Fix: solve with `--restarts 2 --keep-all-restarts`/]],
      [[pair, otherM], [/other-m: its m \(sha256 [0-9a-f]{12}…\) differs/, /Fix: solve every dataset with the same --m FILE/]],
      [[pair, otherN], [/other-n: its N \(3\) differs from that of .*pair \(5\)/]],
      // Synthetic rows were "solved" with other weights: refused once the model is loaded.
      [[pair], [/pair: the dataset was solved with other model weights/, /Fix: pass --model test\/tiny/]],
      [[], [/no dataset given/]],
    ];
    for (const [datasets, patterns] of cases) {
      const out = join(dir, 'refused');
      const r = await runCli(['interpolate', ...datasets, '--out', out, ...WASM]);
      assertUserError(r, ...patterns);
      assert.equal(existsSync(out), false, `nothing written for ${datasets.join(' ')}`);
    }
  });

  it('--print-config shows the layered config; unknown config keys and --taus below 65 are errors', async () => {
    const cfg = join(dir, 'cfg.yaml');
    await writeFile(cfg, 'steps: 7\ntaus_per_step: 3\ndatasets: [from-config]\n');
    const shown = await runCli(['interpolate', 'a', 'b', '--out', 'x', '--config', cfg, '--lr', '0.5', '--print-config']);
    assertOk(shown);
    const c = JSON.parse(shown.stdout) as { datasets: string[]; steps: number; taus_per_step: number; lr: number; taus: number; pairs: number };
    assert.deepEqual([c.datasets, c.steps, c.taus_per_step, c.lr, c.taus, c.pairs], [['a', 'b'], 7, 3, 0.5, 65, 16]);
    await writeFile(cfg, 'stepz: 7\n');
    assertUserError(await runCli(['interpolate', 'a', '--out', 'x', '--config', cfg]), /unknown config key "stepz"/);
    assertUserError(await runCli(['interpolate', 'a', '--out', 'x', '--taus', '33']), /bad value for "taus"/);
    assertUserError(await runCli(['interpolate', 'a', '--out', 'x', '--cubic', 'twice']), /bad value for "cubic"/);
  });
});
