/**
 * Running the real `prototoken` CLI (dist/src/cli/main.js) as a child process, for end-to-end tests.
 * Every child gets a timeout (SIGKILL when it expires), runs from a neutral working directory and
 * without PROTOTOKEN_DEBUG, so what a test sees is what a user sees.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/fixtures.js';

export { CORPUS, EMBEDDED_MODEL, ROOT, fixtureDir } from '../helpers/fixtures.js';

/** The compiled CLI entry point. */
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** How a CLI run ended. */
export interface CliResult {
  args: readonly string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface RunOptions {
  /** Kill the child with SIGKILL after this long. Default 60 s. */
  timeoutMs?: number;
  /** Working directory. Default os.tmpdir(), so nothing depends on the repository being the cwd. */
  cwd?: string;
}

/** A CLI child that is still running. */
export interface RunningCli {
  child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the child has exited (or was killed by the timeout). */
  done: Promise<CliResult>;
}

/** Start `prototoken ...args` and return at once. */
export function startCli(args: readonly string[], options: RunOptions = {}): RunningCli {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PROTOTOKEN_DEBUG;
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? tmpdir(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let timedOut = false;
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout: out, stderr: err, timedOut, ms: Date.now() - started });
    });
  });
  return { child, stdout: () => out, stderr: () => err, done };
}

/** Run `prototoken ...args` to the end. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A short description of a run for assertion messages. */
export function describeRun(r: CliResult): string {
  return `prototoken ${r.args.join(' ')}\n-> exit ${r.code} signal ${r.signal}${r.timedOut ? ' (TIMED OUT)' : ''} in ${r.ms} ms\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

/** The run exited 0. */
export function assertOk(r: CliResult): void {
  assert.equal(r.code, 0, describeRun(r));
}

/** The last non-empty stdout line, parsed as JSON. */
export function lastJson<T>(r: CliResult): T {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, `no output\n${describeRun(r)}`);
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    assert.fail(`last stdout line is not JSON\n${describeRun(r)}`);
  }
}

/** Every non-empty stdout line, each parsed as JSON. */
export function jsonLines<T>(r: CliResult): T[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        return assert.fail(`stdout line is not JSON: ${l}\n${describeRun(r)}`);
      }
    });
}

/**
 * An error meant for a person: non-zero exit, stderr starts with `error:` (not `internal error`;
 * only `skipped "..."` notices may precede it), no stack trace, and stderr matches every pattern.
 */
export function assertUserError(r: CliResult, ...patterns: RegExp[]): void {
  const why = describeRun(r);
  assert.equal(r.timedOut, false, why);
  assert.notEqual(r.code, 0, `expected a non-zero exit\n${why}`);
  assert.equal(r.signal, null, why);
  // Only notices about skipped inputs may come before the error itself.
  const lines = r.stderr.split('\n');
  const at = lines.findIndex((l) => l.startsWith('error: '));
  assert.ok(at >= 0, `stderr must have a line starting with "error:"\n${why}`);
  for (const l of lines.slice(0, at)) assert.match(l, /^skipped "/, `stderr must start with "error:"\n${why}`);
  assert.doesNotMatch(r.stderr, /internal error/, why);
  assert.doesNotMatch(r.stderr, /\n\s+at .+(\(|:\d+:\d+)/, `no stack trace\n${why}`);
  assert.doesNotMatch(r.stderr, /PROTOTOKEN_DEBUG/, why);
  for (const p of patterns) assert.match(r.stderr, p, why);
}

/** A fresh folder under os.tmpdir(). */
export async function tempDir(prefix = 'prototoken-cli-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Size of a file, or null when it does not exist (yet). */
export async function sizeOf(file: string): Promise<number | null> {
  return (await stat(file).catch(() => null))?.size ?? null;
}

/** Poll `check` every `intervalMs` until it returns a value (not undefined), or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 40): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Send `signal` to a running CLI once `ready` resolves, and return how it ended. If waiting fails
 * (the child died first, a timeout), the child is killed outright and the error rethrown.
 */
export async function signalWhenReady(run: RunningCli, ready: () => Promise<unknown>, signal: NodeJS.Signals = 'SIGINT'): Promise<CliResult> {
  try {
    await ready();
    run.child.kill(signal);
  } catch (err) {
    run.child.kill('SIGKILL');
    throw err;
  }
  return run.done;
}

/** Wait until a running solve has appended at least one batch of rows to the part file `part`. */
export async function waitForFirstRows(run: RunningCli, part: string): Promise<void> {
  const alive = (): void => {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`the solve ended before rows appeared\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`);
    }
  };
  // The part is created atomically holding just its schema; rows are appended batch by batch.
  const initial = await waitFor('the part file', async () => {
    alive();
    return (await sizeOf(part)) ?? undefined;
  }, 30_000);
  await waitFor('the first appended rows', async () => {
    alive();
    return ((await sizeOf(part)) ?? 0) > initial ? true : undefined;
  }, 30_000);
}

/** Escape a string for use inside a RegExp. */
export function re(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}
