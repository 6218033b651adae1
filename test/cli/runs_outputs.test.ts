/**
 * Issue 17, defect 4: every output path is checked before any work starts. Each refusal must come
 * before the work (the runs below would take minutes, or fail only at the end, without the early
 * check), name the path, say the fix, and leave what was there untouched.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SHIPPED_M } from '../helpers/fixtures.js';
import { CORPUS, assertOk, assertUserError, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];
/** A refusal must come before the work: a few seconds, not the minutes the work takes. */
const EARLY = { timeoutMs: 30_000 };

describe('every output path is checked before any work starts', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const p = (f: string): string => join(dir, f);
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-outputs-'));
    await writeFile(p('user-file.txt'), 'precious');
    await mkdir(p('a-folder'));
    assertOk(await runCli(['solve', '--texts', CORPUS, '--length', '4', '--limit', '2', '--m', SHIPPED_M, '--preset', 'fast', '--max-steps', '50', '--out', p('ds'), ...WASM], { timeoutMs: 120_000 }));
  });
  after(() => cleanup());

  const precious = async (): Promise<void> => assert.equal(await readFile(p('user-file.txt'), 'utf8'), 'precious');
  // A fit that would run for minutes: only an early refusal ends within EARLY.
  const longFit = ['fit-m', '--texts', CORPUS, '--length', '16', '--limit', '16', '--max-steps', '100000', ...WASM];

  it('fit-m --out in a missing folder, or over a user\'s file, is refused before the fit', async () => {
    assertUserError(await runCli([...longFit, '--out', p('missing-folder/m.safetensors')], EARLY), /missing-folder: this folder does not exist/, /mkdir -p/);
    await writeFile(p('m.safetensors'), 'precious');
    assertUserError(await runCli([...longFit, '--out', p('m.safetensors')], EARLY), /m\.safetensors: already exists/, /--overwrite/);
    assert.equal(await readFile(p('m.safetensors'), 'utf8'), 'precious');
    assertUserError(await runCli([...longFit, '--out', p('a-folder')], EARLY), /a-folder: /);
  });

  it('solve --out naming an existing file is refused, and the file kept', async () => {
    assertUserError(await runCli(['solve', '--texts', CORPUS, '--length', '4', '--limit', '2', '--preset', 'fast', '--out', p('user-file.txt'), ...WASM], EARLY), /user-file\.txt: --out must be a folder, but this is a file/);
    await precious();
  });

  it('report --out naming a folder, or a user\'s file, is refused; --overwrite replaces a file', async () => {
    assertUserError(await runCli(['report', p('ds'), '--out', p('a-folder')], EARLY), /a-folder: --out is a folder/);
    assertUserError(await runCli(['report', p('ds'), '--out', p('user-file.txt')], EARLY), /user-file\.txt: already exists/, /--overwrite/);
    await precious();
    await writeFile(p('old.html'), 'mine');
    assertOk(await runCli(['report', p('ds'), '--out', p('old.html'), '--overwrite', '--quiet']));
    assert.match(await readFile(p('old.html'), 'utf8'), /made by prototoken report/);
  });

  it('export --out in a missing folder, or over an existing file, is refused; --overwrite replaces it', async () => {
    assertUserError(await runCli(['export', p('ds'), '--out', p('missing-folder/x.parquet')], EARLY), /missing-folder: this folder does not exist/);
    assertUserError(await runCli(['export', p('ds'), '--out', p('user-file.txt')], EARLY), /user-file\.txt: already exists/, /--overwrite/);
    await precious();
    assertUserError(await runCli(['export', p('ds'), '--out', p('a-folder')], EARLY), /a-folder: --out is a folder/);
    await writeFile(p('x.parquet'), 'old');
    assertOk(await runCli(['export', p('ds'), '--out', p('x.parquet'), '--overwrite']));
    assert.equal((await readFile(p('x.parquet'))).subarray(0, 4).toString(), 'PAR1');
  });

  it('generate-corpus --out in a missing folder is refused before sampling', async () => {
    assertUserError(await runCli(['generate-corpus', '--count', '100000', '--out', p('missing-folder/g.jsonl'), ...WASM], EARLY), /missing-folder: this folder does not exist/);
  });
});
