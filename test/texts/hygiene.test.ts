/**
 * Input hygiene (issue 17, defects 5-7): only the prefix a command needs is tokenized (a 30 MB
 * line costs what a story does, and gives the very ids a whole-text pass would), bytes that are
 * not UTF-8 are refused with the line, and `score` scores texts longer than the model as far as
 * its positions reach. Each case failed on the old code (the huge line by timing out).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTokenizer, type TextTokenizer } from '../../src/lm/tokenizer.js';
import { readTexts } from '../../src/texts/text_file.js';
import { encodeInPieces } from '../../src/texts/tokens.js';
import { windowTexts } from '../../src/texts/windows.js';
import { CORPUS, EMBEDDED_MODEL, assertOk, assertUserError, describeRun, jsonLines, runCli, tempDir } from '../cli/run.js';

const WASM = ['--backend', 'wasm', '--quiet'];

describe('input hygiene', { concurrency: 2 }, () => {
  let tok: TextTokenizer;
  let stories: { id: string; text: string }[];
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  /** All stories of the corpus, one after another: about 600 K characters. */
  let book = '';

  before(async () => {
    tok = await loadTokenizer(EMBEDDED_MODEL);
    stories = await readTexts(CORPUS);
    book = stories.map((s) => s.text).join('\n\n');
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('encodePrefix gives exactly the first K ids of encode(), on short texts and on long ones it cuts', () => {
    const long = book.slice(0, 60_000);
    const all = tok.encode(long);
    for (const k of [1, 8, 16, 100, 700, 3000]) assert.deepEqual(tok.encodePrefix(long, k), all.slice(0, k), `K = ${k}`);
    // A cut inside a word, inside a multi-byte character and at every offset near it still agrees.
    const odd = `${'Ünïcödé wörds — ✓ 😀 '.repeat(400)}end`;
    const oddAll = tok.encode(odd);
    for (const k of [5, 50, 500]) assert.deepEqual(tok.encodePrefix(odd, k), oddAll.slice(0, k), `odd K = ${k}`);
    for (const s of stories.slice(0, 30)) assert.deepEqual(tok.encodePrefix(s.text, 16), tok.encode(s.text).slice(0, 16), s.id);
    assert.deepEqual(tok.encodePrefix('short', 100), tok.encode('short'));
  });

  it('a 30 MB text: its first tokens cost milliseconds, and capped windows read only what they reach', () => {
    const huge = book.repeat(Math.ceil(30e6 / book.length));
    const started = Date.now();
    assert.deepEqual(tok.encodePrefix(huge, 16), tok.encode(book.slice(0, 5000)).slice(0, 16));
    const { windows } = windowTexts([{ id: 'huge', text: huge }], tok, { window: 8, windowsPerText: 3, firstWindow: 2 });
    assert.deepEqual(windows.map((w) => w.id), ['huge#2', 'huge#3', 'huge#4']);
    assert.deepEqual(windows[2].ids, tok.encode(book.slice(0, 5000)).slice(32, 40));
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('every window of a huge text: tokenized in pieces that add up to the whole text\'s ids', () => {
    const text = book.slice(0, 40_000);
    const notes: string[] = [];
    assert.deepEqual(encodeInPieces({ id: 'book', text }, tok, (l) => notes.push(l), 3000), tok.encode(text));
  });

  it('solve --length 8 on a JSONL whose one line is 30 MB finishes in seconds and stores the right target', async () => {
    const file = join(dir, 'huge.jsonl');
    const huge = book.repeat(Math.ceil(30e6 / book.length));
    await writeFile(file, `${JSON.stringify({ id: 'huge', text: huge })}\n${JSON.stringify({ id: 'small', text: stories[0].text })}\n`);
    const out = join(dir, 'huge-ds');
    const r = await runCli(['solve', '--texts', file, '--length', '8', '--preset', 'fast', '--max-steps', '3', '--out', out, '--json', ...WASM], { timeoutMs: 120_000 });
    assertOk(r);
    assert.ok(r.ms < 60_000, `took ${r.ms} ms\n${describeRun(r)}`);
    const info = JSON.parse(await readFile(join(out, 'dataset_info.json'), 'utf8')) as { counts: { texts: number } };
    assert.equal(info.counts.texts, 2);
  });

  it('a Latin-1 file is refused with its line and a fix, never stored as U+FFFD', async () => {
    const file = join(dir, 'latin1.jsonl');
    const lines = [{ id: 'a', text: 'Once upon a time there was a dog.' }, { id: 'b', text: 'The cat sat on the mat.' }, { id: 'c', text: 'Le café est très bon, dit le chat.' }];
    await writeFile(file, Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n', 'latin1'));
    await assert.rejects(readTexts(file), (err: Error) => {
      assert.match(err.message, /latin1\.jsonl:3: not UTF-8: byte 0xE9/);
      assert.match(err.message, /Fix: .*iconv -f latin1 -t utf-8/);
      return true;
    });
    // The library reads it when told the encoding.
    assert.equal((await readTexts(file, { encoding: 'latin1' }))[2].text, lines[2].text);
    const out = join(dir, 'latin1-ds');
    const r = await runCli(['solve', '--texts', file, '--length', '4', '--max-steps', '2', '--out', out, ...WASM]);
    assertUserError(r, /latin1\.jsonl:3: not UTF-8/, /\nFix: /);
    assert.equal(existsSync(out), false, 'nothing was written');
    // Plain text files too, and an overlong or truncated sequence is just as invalid.
    const plain = join(dir, 'bad.txt');
    await writeFile(plain, Buffer.concat([Buffer.from('First story.\n\nSecond '), Buffer.from([0xc0, 0xaf]), Buffer.from(' story.\n')]));
    await assert.rejects(readTexts(plain), /bad\.txt:3: not UTF-8: bytes 0xC0 0xAF at byte offset 21/);
    await writeFile(plain, Buffer.concat([Buffer.from('One.\n'), Buffer.from([0xe2, 0x82])]));
    await assert.rejects(readTexts(plain), /bad\.txt:2: not UTF-8/);
  });

  it('score --limit 4 on the corpus scores every text, cutting the long one to the positions with a note', async () => {
    const r = await runCli(['score', CORPUS, '--limit', '4', '--json', ...WASM]);
    assertOk(r);
    const rows = jsonLines<{ id: string; n_tokens: number; truncated: boolean; h_lm_nats: number }>(r);
    assert.equal(rows.length, 4);
    const cut = rows.filter((x) => x.truncated);
    assert.ok(cut.length >= 1, describeRun(r));
    for (const x of cut) {
      assert.equal(x.n_tokens, 511, 'BOS + 511 tokens fill the 512 positions');
      assert.match(r.stderr, new RegExp(`note: "${x.id}" is longer than the model's 512 positions; scored its first 511 tokens`));
    }
    for (const x of rows) assert.ok(x.h_lm_nats > 0 && x.n_tokens <= 511);
    assert.ok(rows.some((x) => !x.truncated));
  });
});
