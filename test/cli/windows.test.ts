/** End-to-end: `solve --window` stores every window of each story, one split per story. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDataset } from '../../src/datasets/index.js';
import { readTexts } from '../../src/texts/text_file.js';
import { loadTokenizer } from '../../src/lm/tokenizer.js';
import { CORPUS, EMBEDDED_MODEL, assertOk, assertUserError, lastJson, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];

describe('solve --window', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('writes one row per window with the story tokens at k*stride, N = window, and refuses another stride on resume', async () => {
    const out = join(dir, 'w');
    const args = ['solve', '--texts', CORPUS, '--window', '6', '--stride', '4', '--windows-per-text', '3', '--limit', '2', '--max-steps', '2', '--out', out, ...WASM];
    const r = await runCli([...args, '--json']);
    assertOk(r);
    const summary = lastJson<{ texts: number; windows: { window: number; stride: number; windows_per_text: number; texts: number } }>(r);
    assert.equal(summary.texts, 6);
    assert.deepEqual(summary.windows, { window: 6, stride: 4, windows_per_text: 3, first_window: 0, texts: 2 });
    const tok = await loadTokenizer(EMBEDDED_MODEL);
    const stories = (await readTexts(CORPUS)).slice(0, 2);
    const rows = (await readDataset(out)).toRecords().sort((a, b) => a.textId.localeCompare(b.textId));
    const want = stories.flatMap((s) => [0, 1, 2].map((k) => ({ id: `${s.id}#${k}`, ids: tok.encode(s.text).slice(4 * k, 4 * k + 6) })));
    assert.deepEqual(rows.map((x) => [x.textId, Array.from(x.tokenIds), x.nTokens]), want.map((w) => [w.id, w.ids, 6]));
    for (const s of stories) assert.equal(new Set(rows.filter((x) => x.textId.startsWith(`${s.id}#`)).map((x) => x.split)).size, 1);

    assertUserError(await runCli(args.map((a) => (a === '4' ? '3' : a))), /solver_config\.stride: 4 vs 3/);
    const more = await runCli([...args.map((a) => (a === '3' ? '4' : a)), '--json']);
    assertOk(more);
    assert.equal(lastJson<{ texts: number; already_done: number }>(more).already_done, 6, 'a larger cap adds windows to the same dataset');
  });

  it('capacity --window: one search per window of the natural texts, capacity at most the window', async () => {
    const r = await runCli(['capacity', '--texts', CORPUS, '--window', '5', '--windows-per-text', '2', '--limit', '2', '--grid', '4,5,8', '--max-steps', '20', '--out', join(dir, 'cap'), '--json', ...WASM]);
    assertOk(r);
    const got = lastJson<{ texts: { id: string; capacity: number }[] }>(r).texts;
    assert.deepEqual(got.map((t) => t.id).sort(), ['validation-0#0', 'validation-0#1', 'validation-1#0', 'validation-1#1']);
    for (const t of got) assert.ok([0, 4, 5].includes(t.capacity), `${t.id}: ${t.capacity}`);
  });

  it('--length may be left out, must agree when given; stride needs a window; windows cut only corpus texts', async () => {
    const base = ['solve', '--texts', CORPUS, '--limit', '1', '--max-steps', '1', ...WASM];
    assertUserError(await runCli([...base, '--window', '5', '--length', '6', '--out', join(dir, 'e1')]), /--length 6 and --window 5 disagree/);
    assertUserError(await runCli([...base, '--stride', '5', '--length', '6', '--out', join(dir, 'e2')]), /--stride only applies to windows/);
    assertUserError(await runCli([...base, '--out', join(dir, 'e3')]), /target length is not set/, /--length N/);
    assertUserError(await runCli(['solve', '--kind', 'random', '--window', '5', '--out', join(dir, 'e4'), ...WASM]), /--window cuts corpus texts/);
    const ok = await runCli([...base, '--window', '5', '--length', '5', '--windows-per-text', '1', '--out', join(dir, 'ok'), '--json']);
    assertOk(ok);
    assert.equal(lastJson<{ texts: number }>(ok).texts, 1);
  });
});
