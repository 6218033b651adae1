import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readTexts } from '../../src/texts/text_file.js';
import { tempDir } from '../datasets/helpers.js';

const STORIES = fileURLToPath(new URL('../../../data/tinystories/stories.jsonl', import.meta.url));

test('the TinyStories corpus: 800 texts, ids and texts exactly as stored', async () => {
  const texts = await readTexts(STORIES);
  assert.equal(texts.length, 800);
  assert.equal(texts[0].id, 'validation-0');
  assert.match(texts[0].text, /^Spot\. Spot saw the shiny car/);
  assert.equal(new Set(texts.map((t) => t.id)).size, 800);
  const lines = (await readFile(STORIES, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  lines.forEach((l, i) => assert.equal(texts[i].text, (JSON.parse(l) as { text: string }).text));

  // The same stories as a plain file split on <|endoftext|> give the same texts.
  const { dir, cleanup } = await tempDir();
  try {
    const txt = path.join(dir, 'stories.txt');
    await writeFile(txt, texts.map((t) => `${t.text}\n<|endoftext|>\n`).join(''));
    const plain = await readTexts(txt);
    assert.deepEqual(plain.map((t) => t.text), texts.map((t) => t.text));
    assert.equal(plain[0].id, '1');
  } finally {
    await cleanup();
  }
});

test('plain text: blank-line blocks, ids are first-line numbers, inner text untouched', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const f = path.join(dir, 'a.txt');
    await writeFile(f, '\n\nFirst text,\n  indented second line.\n\n \t\nSecond text.\r\n\r\n\r\nThird\ttext  \n');
    const texts = await readTexts(f);
    assert.deepEqual(texts, [
      { id: '3', text: 'First text,\n  indented second line.' },
      { id: '7', text: 'Second text.' },
      { id: '10', text: 'Third\ttext' },
    ]);
    const jsonl = path.join(dir, 'b.jsonl');
    await writeFile(jsonl, '{"text": "no id"}\n\n{"id": 7, "text": " spaces kept "}\n');
    assert.deepEqual(await readTexts(jsonl), [{ id: '1', text: 'no id' }, { id: '7', text: ' spaces kept ' }]);
  } finally {
    await cleanup();
  }
});

test('bad inputs: clear errors naming file:line', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const write = async (name: string, content: string): Promise<string> => {
      const f = path.join(dir, name);
      await writeFile(f, content);
      return f;
    };
    const bad = await write('bad.jsonl', '{"id": "a", "text": "ok"}\n{"id": "b", "text": oops}\n');
    await assert.rejects(readTexts(bad), (err: Error) => {
      assert.match(err.message, /bad\.jsonl:2: not valid JSON/);
      assert.match(err.message, /Fix: each line must be one JSON object/);
      return true;
    });
    await assert.rejects(readTexts(await write('notext.jsonl', '{"id": "a"}\n')), /notext\.jsonl:1: no "text" field/);
    await assert.rejects(readTexts(await write('num.jsonl', '{"text": 5}\n')), /num\.jsonl:1: "text" is a number, not a string/);
    await assert.rejects(readTexts(await write('arr.jsonl', '[1]\n')), /arr\.jsonl:1: not a JSON object/);
    await assert.rejects(readTexts(await write('emptytext.jsonl', '{"text": "  "}\n')), /emptytext\.jsonl:1: "text" is empty/);
    await assert.rejects(readTexts(await write('dup.jsonl', '{"id": "x", "text": "a"}\n{"id": "x", "text": "b"}\n')), /dup\.jsonl:2: duplicate text id 'x' \(lines 1 and 2\)/);
    await assert.rejects(readTexts(await write('empty.jsonl', '')), /empty\.jsonl: holds no texts/);
    await assert.rejects(readTexts(await write('blank.txt', '\n \n\t\n')), /blank\.txt: holds no texts/);
    await assert.rejects(readTexts(await write('eot.txt', '<|endoftext|>\n<|endoftext|>')), /eot\.txt: holds no texts/);
    await assert.rejects(readTexts(path.join(dir, 'missing.jsonl')), /missing\.jsonl: text file not found/);
  } finally {
    await cleanup();
  }
});
