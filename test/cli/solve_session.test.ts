/**
 * End-to-end: `solve --print-config` layering, a solve -> inspect -> resume -> refuse -> merge
 * session, and `--workers 2` against a single process.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDataset } from '../../src/datasets/index.js';
import { EMBEDDED_MODEL } from '../../src/lm/model_name.js';
import { CORPUS, assertOk, assertUserError, describeRun, lastJson, runCli, sizeOf, tempDir, type CliResult } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];
const PART = 'part-00000-of-00001.arrows';

interface SolveJson {
  out: string;
  texts: number;
  solved: number;
  solved_rate: number;
  median_steps: number;
  max_steps: number;
  seconds: number;
  already_done: number;
  skipped_short: number;
  interrupted: boolean;
}

interface InspectJson {
  read_from: string;
  warnings: string[];
  kind: string;
  arrangement: string;
  length: number | null;
  rows: number;
  texts: number;
  solved_texts: number;
  solved_rate: number | null;
  m: { mode: string };
}

/** Ids of the first `k` corpus texts, in file order. */
async function corpusIds(k: number): Promise<string[]> {
  const lines = (await readFile(CORPUS, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.slice(0, k).map((l) => (JSON.parse(l) as { id: string }).id);
}

/** (text_id, token_ids, solved) of every row, sorted by id. */
async function rowKeys(dir: string): Promise<{ id: string; tokens: number[]; solved: boolean }[]> {
  const ds = await readDataset(dir);
  return ds
    .toRecords()
    .map((r) => ({ id: r.textId, tokens: [...r.tokenIds], solved: r.solved }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

let dir = '';
let cleanup: () => Promise<void> = async () => {};

const solveArgs = (out: string, ...extra: string[]): string[] =>
  ['solve', '--texts', CORPUS, '--length', '6', '--limit', '4', '--out', out, '--max-steps', '600', '--json', ...extra, ...WASM];

/** The first solve of the session, run once and shared (the workers test compares against it). */
let first: Promise<{ run: CliResult; keys: Awaited<ReturnType<typeof rowKeys>> }> | null = null;
function firstSolve(): Promise<{ run: CliResult; keys: Awaited<ReturnType<typeof rowKeys>> }> {
  first ??= (async () => {
    const run = await runCli(solveArgs(join(dir, 'D')));
    assertOk(run);
    return { run, keys: await rowKeys(join(dir, 'D')) };
  })();
  return first;
}

describe('solve', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('--print-config: config file beats preset, flag beats config file, nothing is written', async () => {
    const config = join(dir, 'lr.yaml');
    await writeFile(config, 'lr: 0.02\nmax_steps: 100\n');
    const out = join(dir, 'print-config-out');
    const r = await runCli(['solve', '--texts', CORPUS, '--length', '6', '--out', out, '--preset', 'paper', '--config', config, '--max-steps', '7', '--print-config']);
    assertOk(r);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(printed.lr, 0.02, 'config file over preset (the preset says 0.01)');
    assert.equal(printed.max_steps, 7, 'flag over config file (the file says 100)');
    assert.equal(printed.beta2, 0.9);
    assert.equal(printed.length, 6);
    assert.equal(printed.out, out);
    assert.equal(existsSync(out), false, '--print-config must not create --out');
  });

  describe('a session: solve -> inspect -> resume -> refuse -> merge', { concurrency: 1 }, () => {
    let D = '';
    let summary: SolveJson;
    let inspectJson: CliResult;
    let inspectHead: CliResult;
    before(async () => {
      D = join(dir, 'D');
      summary = lastJson<SolveJson>((await firstSolve()).run);
      // Both only read the dataset: run them side by side.
      [inspectJson, inspectHead] = await Promise.all([runCli(['inspect', D, '--json']), runCli(['inspect', D, '--head', '2'])]);
    });

    it('solve writes the dataset and reports texts, solved, median_steps, seconds', async () => {
      assert.equal(summary.texts, 4);
      assert.equal(summary.already_done, 0);
      assert.equal(summary.interrupted, false);
      assert.ok(summary.solved >= 0 && summary.solved <= 4);
      assert.ok(summary.median_steps > 0 && summary.median_steps <= 600, `median_steps ${summary.median_steps}`);
      assert.ok(summary.seconds > 0);
      assert.equal(summary.out, D);
      const files = await readdir(D);
      for (const f of [PART, 'data.arrow', 'dataset_info.json', 'README.md', 'part-00000-of-00001.config.json']) {
        assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
      }
      const config = JSON.parse(await readFile(join(D, 'part-00000-of-00001.config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(config.length, 6);
      assert.equal(config.limit, 4);
      assert.equal(config.maxSteps, 600);
      assert.equal(config.texts, CORPUS);
      const info = JSON.parse(await readFile(join(D, 'dataset_info.json'), 'utf8')) as { length: number; kind: string; counts: unknown; model: { id: string } };
      assert.equal(info.length, 6);
      assert.equal(info.kind, 'solve');
      // The embedded model by its place in the package, not this machine's path to it (the card is shared).
      assert.equal(info.model.id, 'models/stories260k');
      assert.equal(config.model, 'models/stories260k');
      assert.ok(!(await readFile(join(D, 'README.md'), 'utf8')).includes(EMBEDDED_MODEL), 'the card names no path of this machine');
    });

    it('inspect --json counts the rows and the solved rate', async () => {
      const r = inspectJson;
      assertOk(r);
      const s = lastJson<InspectJson>(r);
      assert.equal(s.rows, 4);
      assert.equal(s.texts, 4);
      assert.equal(s.kind, 'solve');
      assert.equal(s.length, 6);
      assert.equal(s.arrangement, 'e-m');
      assert.equal(s.m.mode, 'per-text');
      assert.equal(s.read_from, 'data.arrow');
      assert.deepEqual(s.warnings, []);
      assert.equal(s.solved_texts, summary.solved);
      assert.equal(s.solved_rate, summary.solved / 4);
      if (summary.solved === 4) assert.equal(s.solved_rate, 1);
    });

    it('inspect --head 2 lists two of the four texts', async () => {
      const r = inspectHead;
      assertOk(r);
      assert.match(r.stdout, /rows\s+4 for 4 texts/);
      const at = r.stdout.indexOf('first rows');
      assert.ok(at >= 0, r.stdout);
      const listed = r.stdout.slice(at).split('\n').slice(2).filter((l) => l.trim() !== '');
      assert.equal(listed.length, 2, r.stdout.slice(at));
      const ids = await corpusIds(4);
      for (const line of listed) {
        const [id, n] = line.trim().split(/\s+/);
        assert.ok(ids.includes(id), `${id} is not one of ${ids.join(', ')}`);
        assert.equal(n, '6');
      }
    });

    it('rerunning the same solve skips every done text (resume)', async () => {
      const sizeBefore = await sizeOf(join(D, PART));
      const r = await runCli(solveArgs(D));
      assertOk(r);
      const s = lastJson<SolveJson>(r);
      assert.equal(s.already_done, 4);
      assert.equal(s.texts, 0);
      const ds = await readDataset(D);
      assert.equal(ds.numRows, 4);
      assert.ok(((await sizeOf(join(D, PART))) ?? 0) >= (sizeBefore ?? 0));
    });

    it('rerunning with --length 7 is refused, naming length, and leaves the rows alone', async () => {
      const r = await runCli(solveArgs(D).map((a, i, all) => (all[i - 1] === '--length' ? '7' : a)));
      assertUserError(r, /length/, /6 vs 7/, /\nFix: /);
      assert.equal((await readDataset(D)).numRows, 4);
    });

    it('merge succeeds', async () => {
      const r = await runCli(['merge', D]);
      assertOk(r);
      assert.match(r.stdout, /^merged /);
      assert.match(r.stdout, /\b4 rows\b|"rows": 4\b/);
      assert.doesNotMatch(r.stdout, /missing shards: \S/i);
      const ds = await readDataset(D);
      assert.equal(ds.readFrom, 'data.arrow');
      assert.deepEqual(ds.warnings, []);
      assert.equal(ds.numRows, 4);
    });
  });

  describe('--workers 2', { concurrency: 1 }, () => {
    let W = '';
    before(() => {
      W = join(dir, 'W');
    });

    it('gives the same (text_id, token_ids, solved) rows as one process', async () => {
      const [workers, single] = await Promise.all([runCli(solveArgs(W, '--workers', '2')), firstSolve()]);
      assertOk(workers);
      const w = lastJson<{ workers: number; merge: { rows: number; parts: { file: string }[] } }>(workers);
      assert.equal(w.workers, 2, describeRun(workers));
      assert.equal(w.merge.rows, 4);
      assert.deepEqual(w.merge.parts.map((p) => p.file).sort(), ['part-00000-of-00002.arrows', 'part-00001-of-00002.arrows']);
      const keys = await rowKeys(W);
      assert.equal(keys.length, 4);
      assert.deepEqual(keys.map((k) => k.id), [...(await corpusIds(4))].sort((a, b) => a.localeCompare(b)));
      assert.deepEqual(keys, single.keys);
    });

    it('rerunning it when every shard is done succeeds and adds nothing', async () => {
      const r = await runCli(solveArgs(W, '--workers', '2'));
      assertOk(r);
      assert.equal(lastJson<{ merge: { rows: number } }>(r).merge.rows, 4);
      assert.equal((await readDataset(W)).numRows, 4);
    });
  });
});
