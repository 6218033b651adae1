/** End-to-end: `generate-corpus` is seeded, appears only whole, and continues after a kill. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTexts } from '../../src/texts/text_file.js';
import { assertOk, assertUserError, lastJson, runCli, sizeOf, startCli, tempDir, waitFor } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];
const gen = (out: string, ...more: string[]): string[] => ['generate-corpus', '--out', out, '--max-tokens', '10', '--batch', '2', ...more, ...WASM];

describe('generate-corpus', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('a seed reproduces the file, another seed changes it; lines are {"id","text"} a corpus reader takes', async () => {
    const files = ['a', 'b', 'c'].map((n) => join(dir, `${n}.jsonl`));
    const r = await runCli([...gen(files[0], '--count', '5', '--seed', '7'), '--json']);
    assertOk(r);
    const summary = lastJson<{ stories: number; generated_now: number; interrupted: boolean; mean_tokens: number }>(r);
    assert.deepEqual([summary.stories, summary.generated_now, summary.interrupted], [5, 5, false]);
    assert.ok(summary.mean_tokens >= 1 && summary.mean_tokens <= 10, `${summary.mean_tokens}`);
    assertOk(await runCli(gen(files[1], '--count', '5', '--seed', '7')));
    assertOk(await runCli(gen(files[2], '--count', '5', '--seed', '8')));
    const [a, b, c] = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    assert.equal(a, b);
    assert.notEqual(a, c);
    const texts = await readTexts(files[0]);
    assert.deepEqual(texts.map((t) => t.id), [0, 1, 2, 3, 4].map((i) => `gen-7-${i}`));
    for (const line of a.trimEnd().split('\n')) assert.deepEqual(Object.keys(JSON.parse(line) as object), ['id', 'text']);
    assert.ok(!existsSync(`${files[0]}.partial`) && !existsSync(`${files[0]}.partial.json`), 'no leftovers');
    assertUserError(await runCli(gen(files[0], '--count', '5')), /already exists/);
  });

  it('killed mid-run: no output file, and a rerun continues (torn tail cut) to the same file as one clean run', async () => {
    const clean = join(dir, 'clean.jsonl');
    assertOk(await runCli(gen(clean, '--count', '24', '--seed', '3')));
    const out = join(dir, 'killed.jsonl');
    const partial = `${out}.partial`;
    const run = startCli(gen(out, '--count', '24', '--seed', '3'));
    await waitFor('a finished group', async () => ((await sizeOf(partial)) ?? 0) > 0 || undefined, 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    assert.ok(!existsSync(out), 'the output appears only when complete');
    await appendFile(partial, '{"id":"gen-3-99","te'); // a write torn by the kill
    assertUserError(await runCli(gen(out, '--count', '24', '--seed', '3', '--temperature', '0.5')), /temperature: 1 vs 0.5/);
    const again = await runCli([...gen(out, '--count', '24', '--seed', '3'), '--json']);
    assertOk(again);
    const summary = lastJson<{ resumed_from: number; stories: number }>(again);
    assert.ok(summary.resumed_from > 0 && summary.resumed_from < 24 && summary.resumed_from % 2 === 0, `resumed from ${summary.resumed_from}`);
    assert.equal(summary.stories, 24);
    assert.equal(await readFile(out, 'utf8'), await readFile(clean, 'utf8'));
  });
});
