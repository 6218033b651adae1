/**
 * Issue 17, defects 1 and 4: a run never destroys what it did not create, and every output path is
 * checked before any work starts. Each refusal must come before the work (the runs below would
 * take minutes, or fail only at the end, without the early check), name the path, say the fix,
 * and leave what was there untouched.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SHIPPED_M } from '../helpers/fixtures.js';
import { CORPUS, ROOT, assertOk, assertUserError, lastJson, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];
/** A refusal must come before the work: a few seconds, not the minutes the work takes. */
const EARLY = { timeoutMs: 30_000 };
const isRoot = process.getuid?.() === 0;

describe('train never destroys a run it did not create', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const p = (f: string): string => join(dir, f);
  const train = (name: string, extra: string[]): string[] => [
    'train', '--name', name, '--window', '8', '--texts', p('small.jsonl'), '--m', SHIPPED_M, '--max-train', '16', '--batch', '8',
    '--width', '16', '--layers', '1', '--heads', '2', '--val-every', '0', '--workers', '1', ...WASM, ...extra,
  ];
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-runs-'));
    await writeFile(p('small.jsonl'), (await readFile(CORPUS, 'utf8')).split('\n').slice(0, 8).join('\n') + '\n');
    // A copy of the shipped encoder, as a clone holds it: best/ only, with reference.safetensors.
    await cp(join(ROOT, 'checkpoints', 'stories260k-n8'), p('checkpoints/stories260k-n8'), { recursive: true });
  });
  after(() => cleanup());

  it('refuses a run folder that holds only best/ (a shipped checkpoint), and leaves every file as it was', async () => {
    const best = p('checkpoints/stories260k-n8/best');
    const before = await snapshotBytes(best);
    const r = await runCli(train('stories260k-n8', ['--checkpoints-dir', p('checkpoints'), '--logdir', p('logs'), '--max-steps', '1']), EARLY);
    assertUserError(r, /stories260k-n8: a run named "stories260k-n8" already exists/, /--resume/, /--overwrite/);
    assert.deepEqual(await snapshotBytes(best), before, 'best/ is untouched, reference.safetensors included');
    assert.deepEqual((await readdir(p('checkpoints/stories260k-n8'))).sort(), ['best']);
  });

  it('--overwrite replaces the run (an explicit choice); --resume of a best-only run says there is nothing to resume', async () => {
    await cp(p('checkpoints/stories260k-n8'), p('over/stories260k-n8'), { recursive: true });
    assertUserError(await runCli(train('stories260k-n8', ['--checkpoints-dir', p('over'), '--logdir', p('logs-r'), '--resume']), EARLY), /nothing to resume/);
    const r = await runCli(train('stories260k-n8', ['--checkpoints-dir', p('over'), '--logdir', p('logs-o'), '--max-steps', '1', '--overwrite', '--json']), { timeoutMs: 120_000 });
    assertOk(r);
    assert.equal(lastJson<{ step: number }>(r).step, 1);
    // The old best/ (step 8000) is gone with the run it belonged to; the new run's last/ is step 1.
    const meta = JSON.parse(await readFile(p('over/stories260k-n8/last/encoder.json'), 'utf8')) as { step: number };
    assert.equal(meta.step, 1);
    const best = JSON.parse(await readFile(p('over/stories260k-n8/best/encoder.json'), 'utf8')) as { step: number };
    assert.equal(best.step, 1, 'best/ is the new run\'s, not the replaced one\'s');
  });

  it('new runs go under runs/ by default (never into checkpoints/), logs inside the run folder', async () => {
    const cwd = p('fresh');
    await mkdir(cwd);
    assertOk(await runCli(train('mine', ['--max-steps', '1']), { cwd, timeoutMs: 120_000 }));
    assert.deepEqual((await readdir(cwd)).sort(), ['runs']);
    const run = (await readdir(join(cwd, 'runs', 'mine'))).sort();
    assert.deepEqual(run, ['best', 'last', 'logs']);
    assert.ok((await readdir(join(cwd, 'runs', 'mine', 'logs'))).some((f) => f.startsWith('events.out.tfevents.')));
  });

  it('--resume on changed training data is refused, naming the file; on the same bytes it continues', async () => {
    const texts = p('inputs.jsonl');
    const original = (await readFile(CORPUS, 'utf8')).split('\n').slice(8, 16).join('\n') + '\n';
    await writeFile(texts, original);
    const run = (extra: string[]): string[] => [...train('inp', ['--checkpoints-dir', p('inp-ck'), '--logdir', p('logs-inp'), ...extra]).map((a) => (a === p('small.jsonl') ? texts : a))];
    assertOk(await runCli(run(['--stop-at-step', '1']), { timeoutMs: 120_000 }));
    const meta = JSON.parse(await readFile(p('inp-ck/inp/last/encoder.json'), 'utf8')) as { inputs: Record<string, string> };
    assert.deepEqual(Object.values(meta.inputs), [createHash('sha256').update(original).digest('hex')]);
    await writeFile(texts, original + '{"id": "extra", "text": "One more story."}\n');
    const r = await runCli(run(['--stop-at-step', '2', '--resume']), EARLY);
    assertUserError(r, /--resume on other data than the run was trained on: \S*inputs\.jsonl \(sha256 [0-9a-f]{12}… when the run started, [0-9a-f]{12}… now\)/, /restore the files/);
    await writeFile(texts, original);
    const ok = await runCli(run(['--stop-at-step', '2', '--resume', '--json']), { timeoutMs: 120_000 });
    assertOk(ok);
    assert.equal(lastJson<{ step: number }>(ok).step, 2);
  });

  it('a folder that holds something else than a run is refused, not written into', async () => {
    await mkdir(p('other/notes'), { recursive: true });
    await writeFile(p('other/notes/todo.txt'), 'mine');
    const r = await runCli(train('notes', ['--checkpoints-dir', p('other'), '--logdir', p('logs-n'), '--max-steps', '1']), EARLY);
    assertUserError(r, /notes: this folder exists and is not a training run/, /another --name/);
    assert.deepEqual(await readdir(p('other/notes')), ['todo.txt']);
  });

  it('the checkpoint written for sharing holds no absolute path, even when absolute paths were typed', async () => {
    assertOk(await runCli(train('rel', ['--checkpoints-dir', p('rel-ck'), '--logdir', p('logs-rel'), '--max-steps', '1']), { cwd: dir, timeoutMs: 120_000 }));
    for (const f of ['encoder.json', 'config.json']) {
      const json = JSON.parse(await readFile(p(`rel-ck/rel/last/${f}`), 'utf8')) as object;
      assert.deepEqual(absoluteStrings(json), [], `${f} holds no absolute path`);
    }
    const config = JSON.parse(await readFile(p('rel-ck/rel/last/config.json'), 'utf8')) as { texts: string[]; model: string; m: string };
    assert.deepEqual(config.texts, ['small.jsonl'], 'relative to the working folder');
    assert.equal(config.model, 'models/stories260k', 'the embedded model by its place in the package');
  });
});

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

  it('train --checkpoints-dir or --logdir naming a file is refused before training', async () => {
    const train = ['train', '--name', 'x', '--window', '8', '--texts', CORPUS, '--m', SHIPPED_M, '--steps', '100000', '--checkpoint-every', '100000', '--val-every', '0', ...WASM];
    assertUserError(await runCli([...train, '--checkpoints-dir', p('user-file.txt'), '--logdir', p('logs')], EARLY), /user-file\.txt: .*is a file/, /Fix: /);
    assertUserError(await runCli([...train, '--checkpoints-dir', p('ck'), '--logdir', p('user-file.txt')], EARLY), /user-file\.txt: .*is a file/);
    await precious();
  });

  it('train into a read-only folder is refused before training', { skip: isRoot ? 'root writes into read-only folders' : false }, async () => {
    await mkdir(p('read-only'));
    await chmod(p('read-only'), 0o555);
    const r = await runCli(['train', '--name', 'x', '--window', '8', '--texts', CORPUS, '--m', SHIPPED_M, '--steps', '100000', '--checkpoint-every', '100000', '--checkpoints-dir', p('read-only'), '--logdir', p('logs'), ...WASM], EARLY);
    assertUserError(r, /read-only: cannot write in this folder/);
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

/** Every file of a folder, by name, as bytes. */
async function snapshotBytes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = (await readFile(join(dir, f))).toString('base64');
  return out;
}

/** The string values of a JSON value that are absolute paths. */
function absoluteStrings(v: unknown): string[] {
  if (typeof v === 'string') return v.startsWith('/') || /^[A-Za-z]:[\\/]/.test(v) ? [v] : [];
  if (Array.isArray(v)) return v.flatMap(absoluteStrings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(absoluteStrings);
  return [];
}
