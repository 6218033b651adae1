/** End-to-end: `info`, `generate` and `score` through the real CLI. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMBEDDED_MODEL, assertOk, fixtureDir, jsonLines, lastJson, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm'];

interface InfoJson {
  model: string;
  architecture: string;
  parameters: number;
  d_model: number;
  layers: number;
  vocab_size: number;
  max_positions: number;
  backend: string;
  sample: string;
}

interface GenerateJson {
  prompt: string;
  continuation: string;
  new_tokens: number;
  token_ids: number[];
}

interface ScoreRow {
  id: string;
  n_tokens: number;
  scored_tokens: number;
  h_lm_nats: number;
  h_lm_bits: number;
}

describe('info, generate, score', { concurrency: 2 }, () => {
  describe('info', { concurrency: 2 }, () => {
    it('--json describes the embedded stories260k model and gives a greedy sample', async () => {
      const r = await runCli(['info', '--json', '--quiet', ...WASM]);
      assertOk(r);
      const info = lastJson<InfoJson>(r);
      assert.equal(info.architecture, 'llama');
      assert.equal(info.parameters, 260032);
      assert.equal(info.d_model, 64);
      assert.equal(info.max_positions, 512);
      assert.equal(info.vocab_size, 512);
      assert.equal(info.model, EMBEDDED_MODEL);
      assert.match(info.backend, /wasm/);
      assert.ok(info.sample.startsWith('Once upon a time'), info.sample);
      assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one JSON line on stdout');
    });

    it('text output names the architecture, size, positions and sample', async () => {
      const r = await runCli(['info', '--quiet', ...WASM]);
      assertOk(r);
      assert.match(r.stdout, /^architecture\s+llama, 5 layers, d=64/m);
      assert.match(r.stdout, /^parameters\s+260,032$/m);
      assert.match(r.stdout, /^positions\s+512$/m);
      assert.match(r.stdout, /^greedy sample\s+"Once upon a time/m);
      assert.throws(() => JSON.parse(r.stdout), 'text mode is not JSON');
    });

    it('--model test/fixtures/tiny-random-neox --json gives gpt_neox', async () => {
      const r = await runCli(['info', '--model', fixtureDir('tiny-random-neox'), '--json', '--quiet', ...WASM]);
      assertOk(r);
      const info = lastJson<InfoJson>(r);
      assert.equal(info.architecture, 'gpt_neox');
      assert.equal(info.model, fixtureDir('tiny-random-neox'));
      assert.notEqual(info.parameters, 260032);
      assert.ok(info.max_positions > 0 && info.max_positions !== 512, `max_positions ${info.max_positions}`);
    });
  });

  describe('generate', { concurrency: 2 }, () => {
    const greedy = ['generate', 'Once upon a time', '--max-new-tokens', '10', '--json', '--quiet', ...WASM];
    const sampled = [...greedy, '--temperature', '1', '--seed', '3'];

    it('greedy: a non-empty continuation of 10 tokens, the same on every run', async () => {
      const [a, b] = await Promise.all([runCli(greedy), runCli(greedy)]);
      assertOk(a);
      assertOk(b);
      const ja = lastJson<GenerateJson>(a);
      const jb = lastJson<GenerateJson>(b);
      assert.equal(ja.prompt, 'Once upon a time');
      assert.ok(ja.continuation.trim().length > 0, `continuation ${JSON.stringify(ja.continuation)}`);
      assert.ok(ja.new_tokens > 0 && ja.new_tokens <= 10, `new_tokens ${ja.new_tokens}`);
      assert.equal(ja.token_ids.length > ja.new_tokens, true, 'token_ids hold the prompt too');
      assert.deepEqual(jb, ja);
    });

    it('--temperature 1 --seed 3 twice gives the same sample', async () => {
      const [a, b] = await Promise.all([runCli(sampled), runCli(sampled)]);
      assertOk(a);
      assertOk(b);
      const ja = lastJson<GenerateJson>(a);
      assert.ok(ja.continuation.length > 0);
      assert.deepEqual(lastJson<GenerateJson>(b), ja);
    });
  });

  describe('score', { concurrency: 2 }, () => {
    let dir = '';
    let cleanup: () => Promise<void> = async () => {};
    let file = '';
    const texts = [
      { id: 'lily', text: 'Once upon a time, there was a little girl named Lily. She loved to play outside.' },
      { id: 'dog', text: 'The dog ran to the park and saw a big red ball.' },
      { id: 'odd', text: 'Quantum zebra invoices oscillate beneath cardboard.' },
    ];

    before(async () => {
      ({ dir, cleanup } = await tempDir());
      file = join(dir, 'texts.jsonl');
      await writeFile(file, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
    });
    after(() => cleanup());

    it('text output: a header and one row per text', async () => {
      const r = await runCli(['score', file, '--quiet', ...WASM]);
      assertOk(r);
      const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1 + texts.length, r.stdout);
      assert.match(lines[0], /^id\s+tokens\s+H_LM nats\s+H_LM bits\s+nats\/token$/);
      texts.forEach((t, i) => {
        const cols = lines[i + 1].trim().split(/\s+/);
        assert.equal(cols[0], t.id);
        assert.equal(cols.length, 5, lines[i + 1]);
        for (const c of cols.slice(1)) assert.ok(Number.isFinite(Number(c)), `not a number: ${c}`);
        assert.ok(Number(cols[2]) > 0, `H_LM of ${t.id}`);
      });
    });

    it('--json: one object per line with id and h_lm_nats; --max-tokens 5 scores only 5 tokens', async () => {
      const [full, short] = await Promise.all([
        runCli(['score', file, '--json', '--quiet', ...WASM]),
        runCli(['score', file, '--json', '--max-tokens', '5', '--quiet', ...WASM]),
      ]);
      assertOk(full);
      assertOk(short);
      const rows = jsonLines<ScoreRow>(full);
      const rows5 = jsonLines<ScoreRow>(short);
      assert.deepEqual(rows.map((r) => r.id), texts.map((t) => t.id));
      assert.deepEqual(rows5.map((r) => r.id), texts.map((t) => t.id));
      for (const [i, row] of rows.entries()) {
        assert.ok(row.h_lm_nats > 0, `h_lm_nats of ${row.id}: ${row.h_lm_nats}`);
        assert.ok(Math.abs(row.h_lm_bits - row.h_lm_nats / Math.LN2) < 1e-6 * row.h_lm_bits + 1e-9, 'bits = nats / ln 2');
        assert.ok(row.n_tokens > 5, `${row.id} has ${row.n_tokens} tokens`);
        const r5 = rows5[i];
        assert.equal(r5.n_tokens, 5);
        assert.ok(r5.h_lm_nats > 0);
        assert.ok(r5.h_lm_nats < row.h_lm_nats, `${row.id}: 5 tokens ${r5.h_lm_nats} vs all ${row.h_lm_nats}`);
      }
      // The odd text is far less likely under a TinyStories model than the stock opening.
      assert.ok(rows[2].h_lm_nats / rows[2].n_tokens > rows[0].h_lm_nats / rows[0].n_tokens);
    });
  });
});
