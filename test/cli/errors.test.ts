/**
 * End-to-end: every mistake a person can make gets `error: ...` naming the input and the fix,
 * a non-zero exit, and no stack trace.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CORPUS, assertOk, assertUserError, fixtureDir, jsonLines, re, runCli, tempDir } from './run.js';

const WASM = ['--backend', 'wasm', '--quiet'];

let dir = '';
let cleanup: () => Promise<void> = async () => {};

/** A copy of a fixture model in the temp folder. */
async function copyModel(name: string, as: string): Promise<string> {
  const to = join(dir, as);
  await cp(fixtureDir(name), to, { recursive: true });
  return to;
}

describe('errors are for people', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  describe('models', { concurrency: 2 }, () => {
    it('a missing model folder', async () => {
      const r = await runCli(['info', '--model', '/nonexistent', ...WASM]);
      assertUserError(r, /\/nonexistent/, /\nFix: /);
    });

    it('a model folder without config.json', async () => {
      const empty = join(dir, 'no-config');
      await mkdir(empty);
      await writeFile(join(empty, 'model.safetensors'), '');
      const r = await runCli(['info', '--model', empty, ...WASM]);
      assertUserError(r, re(empty), /config\.json/, /\nFix: /);
    });

    it('a config.json with an unknown model_type', async () => {
      const model = await copyModel('tiny-random-neox', 'wibble-model');
      const file = join(model, 'config.json');
      const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      config.model_type = 'wibble';
      await writeFile(file, JSON.stringify(config, null, 2));
      const r = await runCli(['info', '--model', model, ...WASM]);
      assertUserError(r, re(file), /"wibble"/, /llama/, /gpt_neox/, /\nFix: /);
    });

    it('a truncated model.safetensors (data cut short)', async () => {
      const model = await copyModel('tiny-random-neox', 'truncated-data');
      const file = join(model, 'model.safetensors');
      await truncate(file, 300_000);
      const r = await runCli(['info', '--model', model, ...WASM]);
      assertUserError(r, re(file), /truncated|incomplete/, /\nFix: /);
    });

    it('a truncated model.safetensors (header cut short)', async () => {
      const model = await copyModel('tiny-random-neox', 'truncated-header');
      const file = join(model, 'model.safetensors');
      await truncate(file, 100);
      const r = await runCli(['info', '--model', model, ...WASM]);
      assertUserError(r, re(file), /\nFix: /);
    });
  });

  describe('texts', { concurrency: 2 }, () => {
    it('score: a text longer than the model allows is scored as far as its positions reach, with a note, and --max-tokens agrees', async () => {
      // Issue 17 (defect 7): this used to abort the whole run with a --max-tokens fix; it now scores what fits.
      const file = join(dir, 'long.jsonl');
      const words = Array.from({ length: 3000 }, (_, i) => ['the', 'cat', 'sat', 'on', 'a', 'mat'][i % 6]).join(' ');
      await writeFile(file, JSON.stringify({ id: 'short', text: 'Once upon a time.' }) + '\n' + JSON.stringify({ id: 'long', text: words }) + '\n');
      const r = await runCli(['score', file, '--json', ...WASM]);
      assertOk(r);
      assert.match(r.stderr, /note: "long" is longer than the model's \d+ positions; scored its first (\d+) tokens/);
      assert.doesNotMatch(r.stderr, /"short"/);
      const k = Number(/scored its first (\d+) tokens/.exec(r.stderr)?.[1]);
      assert.ok(k > 0 && k < 512, `scored ${k} tokens`);
      const rows = jsonLines<{ id: string; n_tokens: number; truncated: boolean; h_lm_nats: number }>(r);
      assert.deepEqual(rows.map((x) => [x.id, x.n_tokens, x.truncated]), [['short', rows[0].n_tokens, false], ['long', k, true]]);
      const fixed = await runCli(['score', file, '--max-tokens', String(k), '--json', ...WASM]);
      assertOk(fixed);
      const fixedRows = jsonLines<{ id: string; n_tokens: number; h_lm_nats: number }>(fixed);
      assert.deepEqual(fixedRows.map((x) => [x.id, x.n_tokens]), [['short', rows[0].n_tokens], ['long', k]]);
      assert.ok(Math.abs(fixedRows[1].h_lm_nats - rows[1].h_lm_nats) < 1e-3 * rows[1].h_lm_nats);
    });

    it('an empty texts file', async () => {
      const file = join(dir, 'empty.jsonl');
      await writeFile(file, '');
      const r = await runCli(['score', file, ...WASM]);
      assertUserError(r, re(file), /no texts/, /\nFix: /);
    });

    it('a JSONL line that is not JSON names the file and line', async () => {
      const file = join(dir, 'bad.jsonl');
      await writeFile(file, '{"id": "a", "text": "Once upon a time."}\nnot json at all\n');
      const r = await runCli(['score', file, ...WASM]);
      assertUserError(r, re(`${file}:2`), /JSON/, /\nFix: /);
    });
  });

  describe('configuration', { concurrency: 2 }, () => {
    const solveN = (length: number, ...extra: string[]): string[] => ['solve', '--texts', CORPUS, '--length', String(length), '--limit', '3', ...extra, ...WASM];
    const solve = (...extra: string[]): string[] => solveN(6, ...extra);

    it('--config with an unknown key names the key and the file', async () => {
      const file = join(dir, 'unknown-key.yaml');
      await writeFile(file, 'lr: 0.02\nwibble_steps: 3\n');
      const out = join(dir, 'out-unknown-key');
      const r = await runCli(solve('--out', out, '--config', file));
      assertUserError(r, re(file), /unknown config key "wibbleSteps"|wibble_steps/, /\nFix: /);
      assert.equal(existsSync(out), false, 'nothing written');
    });

    it('--config with a value of the wrong type names the key and the file', async () => {
      const file = join(dir, 'bad-type.yaml');
      await writeFile(file, 'max_steps: lots\n');
      const out = join(dir, 'out-bad-type');
      const r = await runCli(solve('--out', out, '--config', file));
      assertUserError(r, re(file), /maxSteps|max_steps/, /\nFix: /);
      assert.equal(existsSync(out), false, 'nothing written');
    });

    it('--config naming a file that does not exist', async () => {
      const file = join(dir, 'nope.yaml');
      const r = await runCli(solve('--out', join(dir, 'out-nope'), '--config', file));
      assertUserError(r, re(file), /not found/, /\nFix: /);
    });

    it('solve without --out names the missing setting', async () => {
      const r = await runCli(solve());
      assertUserError(r, /"out"/, /--out/);
    });

    it('solve --arrangement nope lists the choices and writes nothing', async () => {
      const out = join(dir, 'out-arrangement');
      const r = await runCli(solve('--out', out, '--arrangement', 'nope'));
      assertUserError(r, /arrangement/, /e-m/, /\nFix: /);
      assert.equal(existsSync(out), false, 'nothing written');
    });

    it('solve --length 600: longer than the model allows, refused before anything is written', async () => {
      const out = join(dir, 'out-600');
      const r = await runCli(solveN(600, '--out', out));
      assertUserError(r, /512/, /position|too short|long enough/, /\nFix: /);
      // A refused run must not leave a dataset behind: it would pin N=600 on the folder and make
      // every later run with a valid --length into the same --out fail with "does not match".
      assert.equal(existsSync(out), false, `a refused run left ${out} behind`);
    });

    it('an unknown --preset is a user error, not an internal one', async () => {
      const r = await runCli(solve('--out', join(dir, 'out-preset'), '--preset', 'nope', '--print-config'));
      assertUserError(r, /"nope"/);
    });

    it('a flag that needs a number given a word is a user error, not an internal one', async () => {
      const r = await runCli(['solve', '--texts', CORPUS, '--length', 'abc', '--out', join(dir, 'out-abc'), ...WASM]);
      assertUserError(r, /abc/, /--length/);
    });

    it('inspect on a folder that is not a dataset', async () => {
      const notDs = join(dir, 'not-a-dataset');
      await mkdir(notDs);
      const r = await runCli(['inspect', notDs]);
      assertUserError(r, re(notDs), /\nFix: /);
    });
  });
});
