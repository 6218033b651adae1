/**
 * The CLI's conventions, as a PyTorch / Hugging Face user expects them (issue 17): --version, one
 * spelling per concept (old spellings still work, with a note), snake_case in what is printed,
 * defaults in --help, every flag accepted in a config file, errors naming what the user typed.
 * Everything here stops before a model would do any real work.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, assertOk, runCli } from './run.js';

describe('CLI conventions', { concurrency: 4 }, () => {
  it('--version and -V print the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      assertOk(r);
      assert.equal(r.stdout.trim(), version);
    }
  });
});
