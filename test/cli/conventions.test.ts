/**
 * The CLI's conventions, as a PyTorch / Hugging Face user expects them (issue 17): --version, one
 * spelling per concept (old spellings still work, with a note), snake_case in what is printed,
 * defaults in --help, every flag accepted in a config file, errors naming what the user typed.
 * Everything here stops before a model would do any real work.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CORPUS, ROOT, assertOk, assertUserError, re, runCli, tempDir } from './run.js';

describe('CLI conventions', { concurrency: 4 }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('--version and -V print the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      assertOk(r);
      assert.equal(r.stdout.trim(), version);
    }
  });

  it('a bad value names the flag as typed, or the config key as the file spells it', async () => {
    const solve = ['solve', '--texts', CORPUS, '--length', '4', '--out', join(dir, 'never')];
    const flag = await runCli([...solve, '--max-steps', '0']);
    assertUserError(flag, /error: --max-steps 0: bad value/, /Fix: pass another value to --max-steps/);
    assert.doesNotMatch(flag.stderr, /maxSteps|command-line flags/);
    for (const key of ['max_steps', 'maxSteps', 'max-steps']) {
      const file = join(dir, `bad-${key}.yaml`);
      await writeFile(file, `${key}: 0\n`);
      const r = await runCli([...solve, '--config', file]);
      assertUserError(r, re(`${file}: bad value for "${key}"`), re(`Fix: correct ${key} in this file`));
    }
    assertUserError(await runCli(['solve', '--texts', CORPUS, '--length', '4']), /missing required setting "out"/, /Fix: pass --out or set out in the --config file/);
  });
});
