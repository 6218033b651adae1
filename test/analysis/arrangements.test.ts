/**
 * End-to-end: `prototoken arrangements` on the real embedded model and solver: one row per
 * (arrangement, N), e-m solving short texts, resume after Ctrl-C skipping finished cells, a changed
 * recipe refused, and the input errors.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ArrangementsResult } from '../../src/analysis/results.js';
import { CORPUS, assertOk, assertUserError, describeRun, lastJson, re, runCli, startCli, tempDir, waitFor } from '../cli/run.js';

const FAST = ['--preset', 'fast', '--backend', 'wasm', '--quiet'];

let dir = '';
let cleanup: () => Promise<void> = async () => {};

interface Summary {
  out: string;
  cells: number;
  done: number;
  reused: number;
  interrupted: boolean;
  result?: ArrangementsResult;
}

const args = (out: string, ...extra: string[]): string[] => ['arrangements', '--texts', CORPUS, '--limit', '2', '--out', out, ...FAST, ...extra];

describe('prototoken arrangements', () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-arr-'));
  });
  after(() => cleanup());

  it('writes one row per (arrangement, N), accuracies in [0, 1], e-m solving the texts', async () => {
    const out = join(dir, 'grid');
    const r = await runCli(args(out, '--lengths', '2,3', '--arrangements', 'e-m,e', '--max-steps', '100', '--json'));
    assertOk(r);
    const summary = lastJson<Summary>(r);
    assert.equal(summary.interrupted, false);
    assert.equal(summary.cells, 4);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as ArrangementsResult;
    assert.deepEqual(summary.result, result, '--json prints the result that was written');
    assert.equal(result.kind, 'arrangements');
    assert.equal(result.version, 1);
    assert.deepEqual(result.rows.map((x) => `${x.arrangement}@${x.N}`), ['e-m@2', 'e-m@3', 'e@2', 'e@3']);
    for (const row of result.rows) {
      assert.equal(row.texts, 2);
      assert.ok(row.solved >= 0 && row.solved <= row.texts);
      for (const v of [row.accuracy.mean, row.accuracy.min, row.accuracy.max]) assert.ok(v !== null && v >= 0 && v <= 1, `${row.arrangement}@${row.N}: ${v}`);
      assert.ok(row.steps.max !== null && row.steps.max <= 100);
    }
    for (const row of result.rows.filter((x) => x.arrangement === 'e-m')) {
      assert.equal(row.solved, 2, `e-m solves both texts at N=${row.N}`);
      assert.equal(row.accuracy.mean, 1);
    }
    // With [e] at every input, equal inputs give equal outputs: N=3 cannot be fully right unless tokens repeat.
    const e3 = result.rows.find((x) => x.arrangement === 'e' && x.N === 3);
    assert.ok(e3 && (e3.accuracy.mean as number) < 1, 'the e arrangement is not trivially solved');
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.lengths, [2, 3]);
    assert.equal(config.maxSteps, 100);
  });

  it('Ctrl-C keeps the finished cells; a rerun skips them; another recipe is refused', async () => {
    const out = join(dir, 'resume');
    // e-m at N=3 finishes in a few dozen steps; e at N=3 cannot solve and would run all 3000.
    const run = startCli(args(out, '--lengths', '3', '--arrangements', 'e-m,e', '--max-steps', '3000'), { timeoutMs: 120_000 });
    const first = join(out, 'cells', 'e-m.N3.json');
    await waitFor('the first cell file', async () => {
      if (run.child.exitCode !== null) throw new Error(`ended early\n${run.stderr()}`);
      return existsSync(first) ? true : undefined;
    }, 60_000);
    run.child.kill('SIGINT');
    const stopped = await run.done;
    assert.equal(stopped.code, 130, describeRun(stopped));
    assert.ok(stopped.ms < 110_000, 'stopped long before the 3000 steps would have ended');
    assert.equal(existsSync(join(out, 'result.json')), false, 'no result.json for an unfinished run');
    assert.equal(existsSync(join(out, 'config.json')), false);
    assert.equal(existsSync(join(out, 'cells', 'e.N3.json')), false, 'the interrupted cell is not written');
    const cellBytes = await readFile(first, 'utf8');

    const again = await runCli(args(out, '--lengths', '3', '--arrangements', 'e-m', '--max-steps', '3000', '--json'));
    assertOk(again);
    const summary = lastJson<Summary>(again);
    assert.equal(summary.reused, 1);
    assert.equal(summary.result?.rows.length, 1);
    assert.equal(summary.result?.rows[0].accuracy.mean, 1);
    assert.equal(await readFile(first, 'utf8'), cellBytes, 'the finished cell was not computed again');

    const other = await runCli(args(out, '--lengths', '3', '--arrangements', 'e-m', '--max-steps', '2000'));
    assertUserError(other, re(first), /maxSteps differ/, /Fix: /);
  });

  it('an unknown arrangement, an N above the positions, --arrangement and an empty file are clear errors, and write nothing', async () => {
    const out = join(dir, 'bad');
    assertUserError(await runCli(args(out, '--lengths', '2', '--arrangements', 'e-m,zigzag')), /unknown arrangement "zigzag"/, /Fix: use one of: e-m, e-mN, e, half, alt/);
    assertUserError(await runCli(args(out, '--lengths', '2,600', '--arrangements', 'e-m,e-mN')), /--lengths: N=600 with arrangement e-m needs 600 input positions but the model allows 512/, /Fix: use lengths of at most 512/);
    assertUserError(await runCli(args(out, '--lengths', '2', '--arrangement', 'alt')), /--arrangements e-m,alt/);
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    const r = await runCli(['arrangements', '--texts', empty, '--lengths', '2', '--out', out, ...FAST]);
    assertUserError(r, re(empty), /holds no texts/, /Fix: /);
    assert.equal(existsSync(out), false, 'no output folder for a refused run');
  });
});
