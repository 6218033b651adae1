import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type TextTokenizer } from '../../src/lm/tokenizer.js';
import { PrototokenError } from '../../src/util/errors.js';

const STORIES = fileURLToPath(new URL('../../../test/fixtures/stories260k/', import.meta.url));

interface Reference {
  text: string;
  token_ids: number[];
  greedy_from_bos: { token_ids: number[]; text: string };
  tokenizer_cases: { text: string; ids: number[] }[];
}
const ref = JSON.parse(readFileSync(path.join(STORIES, 'reference_logits.json'), 'utf8')) as Reference;

describe('stories260k tokenizer', () => {
  let tok: TextTokenizer;
  before(async () => {
    tok = await loadTokenizer(STORIES);
  });

  it('knows its special tokens and size', () => {
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.deepEqual([...tok.specialIds].sort(), [0, 1, 2]);
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.addsBosByDefault, true);
    assert.equal(tok.hash, createHash('sha256').update(readFileSync(path.join(STORIES, 'tokenizer.json'))).digest('hex'));
  });

  it('encodes every reference case: with BOS for the model, without BOS for targets', () => {
    assert.ok(ref.tokenizer_cases.length >= 10);
    for (const c of ref.tokenizer_cases) {
      assert.deepEqual(tok.encode(c.text, { addBos: true }), c.ids, JSON.stringify(c.text));
      assert.deepEqual(tok.encode(c.text), c.ids.slice(1), JSON.stringify(c.text));
    }
    assert.deepEqual(tok.encode(ref.text, { addBos: true }), ref.token_ids);
    assert.deepEqual(tok.encode(''), []);
  });

  it('decodes back to the original text', () => {
    for (const c of ref.tokenizer_cases) assert.equal(tok.decode(c.ids), c.text);
    assert.equal(tok.decode(ref.greedy_from_bos.token_ids), ref.greedy_from_bos.text);
    assert.equal(tok.decode(tok.encode(ref.greedy_from_bos.text)), ref.greedy_from_bos.text);
    assert.equal(tok.decode([1, 403, 407], { skipSpecialTokens: false }), '<s> Once upon');
  });
});

describe('loading', () => {
  it('explains a missing tokenizer.json', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'prototoken-tok-'));
    try {
      await assert.rejects(loadTokenizer(dir), (err: unknown) => {
        assert.ok(err instanceof PrototokenError);
        assert.match(err.message, /tokenizer\.json: tokenizer\.json not found/);
        assert.match(err.message, /Fix: .*tokenizer\.json/);
        return true;
      });
      // Without tokenizer_config.json the BOS id comes from the post-processor template.
      await fsp.copyFile(path.join(STORIES, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
      const tok = await loadTokenizer(dir);
      assert.equal(tok.bosId, 1);
      assert.equal(tok.eosId, null);
      assert.deepEqual(tok.encode('Hello world', { addBos: true }), ref.tokenizer_cases[1].ids);
      await fsp.writeFile(path.join(dir, 'tokenizer.json'), '{"version": "1.0", "model":');
      await assert.rejects(loadTokenizer(dir), /tokenizer\.json: not valid JSON/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
