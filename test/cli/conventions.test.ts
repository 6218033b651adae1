/**
 * The CLI's conventions, as a PyTorch / Hugging Face user expects them (issue 17): --version, one
 * spelling per concept (old spellings still work, with a note), snake_case in what is printed,
 * defaults in --help, every flag accepted in a config file, errors naming what the user typed.
 * Everything here stops before a model would do any real work.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recipeDifferences, trainSchema } from '../../src/encoder/config.js';
import { handMadeRows, writeSolutions } from '../analysis/distance_fixtures.js';
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

  describe('one spelling per concept; the old spellings still work, with a note', { concurrency: 4 }, () => {
    const printed = async (args: string[]): Promise<{ config: Record<string, unknown>; stderr: string }> => {
      const r = await runCli([...args, '--print-config']);
      assertOk(r);
      return { config: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
    };
    const cases: { args: string[]; old: string; now: string; key: string }[] = [
      { args: ['score', 'texts.jsonl'], old: '--batch-size', now: '--batch', key: 'batch' },
      { args: ['generate-corpus', '--count', '2', '--out', 'x.jsonl'], old: '--max-tokens', now: '--max-new-tokens', key: 'max_new_tokens' },
      { args: ['info'], old: '--sample-tokens', now: '--max-new-tokens', key: 'max_new_tokens' },
      { args: ['train', '--name', 'x'], old: '--max-steps', now: '--stop-at-step', key: 'stop_at_step' },
      { args: ['solve', '--out', 'x'], old: '--batch-size', now: '--batch', key: 'batch' },
      { args: ['eval', '--checkpoint', 'x'], old: '--batch-size', now: '--batch', key: 'batch' },
    ];
    for (const c of cases) {
      it(`${c.args[0]} ${c.old} 7 is ${c.now} 7`, async () => {
        const old = await printed([...c.args, c.old, '7']);
        const now = await printed([...c.args, c.now, '7']);
        assert.equal(old.config[c.key], 7);
        assert.deepEqual(old.config, now.config);
        assert.match(old.stderr, re(`note: ${c.old} is now ${c.now} (the old spelling still works)`));
        assert.equal(now.stderr, '');
      });
    }

    it('--quiet silences the note; the old and the new spelling together are refused', async () => {
      assert.equal((await printed(['train', '--name', 'x', '--max-steps', '7', '--quiet'])).stderr, '');
      assertUserError(await runCli(['train', '--name', 'x', '--max-steps', '7', '--stop-at-step', '8']), /--max-steps and --stop-at-step name the same setting/, /Fix: give only --stop-at-step/);
    });

    it('old config-file keys still work, with a note naming the file; the solver keeps max_steps', async () => {
      const file = join(dir, 'old-keys.yaml');
      await writeFile(file, 'max_steps: 3\nbatch_size: 4\n');
      const train = await printed(['train', '--name', 'x', '--config', file]);
      assert.deepEqual([train.config.stop_at_step, train.config.batch], [3, 4]);
      assert.match(train.stderr, re(`note: ${file}: "max_steps" is now "stop_at_step" (the old key still works)`));
      assert.match(train.stderr, re(`note: ${file}: "batch_size" is now "batch"`));
      const solve = await printed(['solve', '--out', 'x', '--config', file]);
      assert.deepEqual([solve.config.max_steps, solve.config.batch], [3, 4]);
      assert.doesNotMatch(solve.stderr, /max_steps/, 'max_steps is the solver\'s own key');
    });

    it('a run saved before train --max-steps became --stop-at-step resumes: the stop step is not part of the recipe', () => {
      const now: Record<string, unknown> = trainSchema.parse({ name: 'x', stopAtStep: 12 });
      const saved: Record<string, unknown> = { ...now, maxSteps: 24 }; // config.json as older runs saved it
      delete saved.stopAtStep;
      assert.deepEqual(recipeDifferences(saved, now), []);
    });

    it('a refused resume names each changed setting as a config file spells it', () => {
      const saved: Record<string, unknown> = trainSchema.parse({ name: 'x' });
      assert.deepEqual(recipeDifferences(saved, { ...saved, warmupSteps: 5 }), ['warmup_steps: saved 100 vs now 5']);
    });
  });

  describe('a config file takes every flag', { concurrency: 4 }, () => {
    it('preset: fast in the file is --preset fast (under the file, under the flags)', async () => {
      const file = join(dir, 'preset.yaml');
      await writeFile(file, 'preset: fast\nbeta2: 0.5\n');
      const run = async (...more: string[]): Promise<Record<string, unknown>> => {
        const r = await runCli(['solve', '--out', 'x', '--config', file, ...more, '--print-config']);
        assertOk(r);
        return JSON.parse(r.stdout) as Record<string, unknown>;
      };
      const fromFile = await run();
      assert.deepEqual([fromFile.lr, fromFile.init, fromFile.init_scale, fromFile.beta2], [0.02, 'scaled', 0.05, 0.5], 'the fast preset, and the file over it');
      assert.deepEqual((await run('--preset', 'paper')).lr, 0.01, 'the flag wins');
      assert.deepEqual((await run('--lr', '0.3')).lr, 0.3);
      const train = join(dir, 'train-preset.yaml');
      await writeFile(train, 'preset: stories260k-n8\n');
      const t = await runCli(['train', '--config', train, '--print-config']);
      assertOk(t);
      assert.equal((JSON.parse(t.stdout) as { name: string }).name, 'stories260k-n8');
    });

    it('quiet and json in the file act like the flags; config and print_config are refused with the reason', async () => {
      const file = join(dir, 'steer.yaml');
      await writeFile(file, 'quiet: true\njson: true\nsample_tokens: 2\n');
      const r = await runCli(['info', '--config', file, '--backend', 'cpu']);
      assertOk(r);
      assert.equal(r.stderr, '', 'quiet: no backend line, no note');
      assert.equal((JSON.parse(r.stdout) as { architecture: string }).architecture, 'llama');
      await writeFile(file, 'config: other.yaml\n');
      assertUserError(await runCli(['info', '--config', file]), re(`${file}: "config" cannot be set in a config file`), /Fix: remove config/);
      await writeFile(file, 'print_config: true\n');
      assertUserError(await runCli(['info', '--config', file]), /"print_config" cannot be set in a config file/);
      await writeFile(file, 'quiet: maybe\n');
      assertUserError(await runCli(['info', '--config', file]), /bad value for "quiet": expected true or false/);
      await writeFile(file, 'resume: true\n');
      assertUserError(await runCli(['solve', '--out', 'x', '--config', file]), /unknown config key "resume"/); // solve has no --resume
    });
  });

  describe('--help shows the defaults the config resolves to', { concurrency: 4 }, () => {
    it('compare offers no --texts: it needs a dataset\'s solved e', async () => {
      const help = await runCli(['compare', '--help']);
      assertOk(help);
      const options = helpOptions(help.stdout);
      assert.ok(!options.some((o) => o.flag === '--texts'), help.stdout);
      assert.match(options.find((o) => o.flag === '--dataset')?.description ?? '', /\(required\)/);
      assertUserError(await runCli(['compare', '--checkpoint', 'c', '--texts', 'x']), /unknown option '--texts'/);
    });

    it('every command with --print-config: each default shown, and as resolved; printed in snake_case', async () => {
      const child = spawnSync(process.execPath, [join(ROOT, 'dist', 'test', 'cli', 'help_driver.js')], { cwd: dir, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      const commands = JSON.parse(child.stdout) as Record<string, { help: string; needs: string[]; printed: string }>;
      assert.equal(Object.keys(commands).length, 15);
      const problems: string[] = [];
      for (const [name, { help, needs, printed }] of Object.entries(commands)) {
        const config = JSON.parse(printed) as Record<string, unknown>;
        for (const k of camelKeys(config)) problems.push(`${name} --print-config: camelCase key ${k}`);
        const given = new Set(needs.filter((a) => a.startsWith('--')));
        for (const { flag, takesValue, description } of helpOptions(help)) {
          const value = config[flag.slice(2).replace(/-/g, '_')];
          if (!takesValue || given.has(flag) || value === undefined) continue;
          const said = /\(default:? ([^)]*)\)|\bdefault ([\d.,-]+)/.exec(description);
          const hasValue = value !== null && value !== false && !(Array.isArray(value) && value.length === 0);
          if (hasValue && !/\bdefault\b/.test(description)) problems.push(`${name} ${flag}: --help shows no default (the config's is ${JSON.stringify(value)}): ${description}`);
          const words = (said?.[1] ?? said?.[2] ?? '').trim();
          const listed = /^(-?[\d.]+)(,-?[\d.]+)*\b/.exec(words)?.[0];
          if (listed === undefined) continue;
          const shownValue = Array.isArray(value) ? value.join(',') : String(value);
          if (listed.split(',').map(Number).join(',') !== shownValue) problems.push(`${name} ${flag}: --help says default ${listed}, the config resolves to ${JSON.stringify(value)}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  });

  it('printed JSON is snake_case: inspect, verify, merge and export --json', async () => {
    const ds = join(dir, 'hand-made');
    await writeSolutions(ds, handMadeRows(0));
    const merged = await runCli(['merge', ds, '--json']);
    const reads = [['inspect', ds, '--json', '--head', '2'], ['verify', ds, '--json'], ['export', ds, '--out', join(dir, 'x.parquet'), '--json']];
    const outputs = [merged, ...(await Promise.all(reads.map((a) => runCli(a))))];
    for (const r of outputs) {
      assertOk(r);
      assert.deepEqual(camelKeys(JSON.parse(r.stdout)), [], r.args.join(' '));
    }
    const inspected = JSON.parse(outputs[1].stdout) as Record<string, unknown>;
    assert.deepEqual([inspected.read_from, inspected.solved_texts, inspected.solved_rate], ['data.arrow', 9, 1]);
    assert.deepEqual((inspected.head as Record<string, unknown>[]).map((h) => h.text_id), ['ctx0#0', 'ctx0#1']);
  });


  it('capacity says when a capacity is only a lower bound: the text passed the top of the grid', { timeout: 120_000 }, async () => {
    const args = ['capacity', '--texts', CORPUS, '--limit', '2', '--grid', '4', '--preset', 'fast', '--max-steps', '300', '--backend', 'wasm', '--quiet'];
    const r = await runCli([...args, '--out', join(dir, 'cap'), '--json'], { timeoutMs: 120_000 });
    assertOk(r);
    const s = JSON.parse(r.stdout) as { table: { capacity_at_grid_top: number }[]; texts: { capacity: number; at_grid_top: boolean }[] };
    assert.equal(s.texts.length, 2);
    for (const t of s.texts) assert.equal(t.at_grid_top, t.capacity === 4, JSON.stringify(t));
    assert.equal(s.table[0].capacity_at_grid_top, s.texts.filter((t) => t.capacity === 4).length);
    assert.ok(s.table[0].capacity_at_grid_top > 0, 'the fast preset solves 4-token prefixes');
    const again = await runCli([...args, '--out', join(dir, 'cap')]); // read back from the dataset
    assertOk(again);
    assert.match(again.stdout, /\bat top\b/);
    assert.match(again.stdout, /at top: [12] text\(s\) passed the longest length they could try .*may be higher/);
  });

});

/** The options of a --help text: flag, whether it takes a value, and the description. */
function helpOptions(help: string): { flag: string; takesValue: boolean; description: string }[] {
  const out: { flag: string; takesValue: boolean; description: string }[] = [];
  let inOptions = false;
  for (const line of help.split('\n')) {
    if (/^Options:/.test(line)) inOptions = true;
    else if (/^\S/.test(line)) inOptions = false;
    if (!inOptions) continue;
    const m = /^\s{2}(?:-\w, )?(--[\w-]+)(\s+[<[][^>\]]*[>\]])?\s*(.*)$/.exec(line);
    if (m) out.push({ flag: m[1], takesValue: m[2] !== undefined, description: m[3] });
    else if (out.length > 0 && line.trim() !== '') out[out.length - 1].description += ' ' + line.trim();
  }
  return out;
}

/** camelCase keys anywhere in a printed value, as paths. */
function camelKeys(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => camelKeys(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const bad = /^[a-z]+[A-Z]/.test(k);
    return [...(bad ? [`${at}.${k}`] : []), ...camelKeys(v, `${at}.${k}`)];
  });
}
