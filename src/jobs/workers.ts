/**
 * `--workers K`: run K local copies of a command (the CLI re-invoking itself with `--shard i/K`),
 * prefix their output with `[w i]`, and stop them all as soon as one fails. The caller merges
 * afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PrototokenError } from '../util/errors.js';

/** What to run and where its output goes. */
export interface RunWorkersOptions {
  /** Number of workers (>= 1). */
  k: number;
  /** Executable, e.g. `process.execPath`. */
  command: string;
  /** Arguments of worker i of k, e.g. `[cliPath, 'solve', ..., '--shard', `${i}/${k}`]`. */
  argsFor: (i: number, k: number) => string[];
  /** Environment of the workers. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where prefixed stderr lines go. Default: `process.stderr`. */
  stderr?: NodeJS.WritableStream;
  /** Where prefixed stdout lines go. Default: `process.stdout`. */
  stdout?: NodeJS.WritableStream;
  /** Stops every worker (SIGTERM) when aborted; runWorkers then rejects. Default: none. */
  signal?: AbortSignal;
  /** After SIGTERM, how long a worker may take to exit before SIGKILL. Default 5000 ms. */
  killGraceMs?: number;
}

/** How one worker ended. */
export interface WorkerResult {
  index: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
}

/** Lines of stderr kept per worker, to quote in the failure message. */
const TAIL_LINES = 8;

/**
 * Run the K workers to completion. Resolves with every worker's result when all exit 0. If one
 * fails (non-zero exit, signal, or spawn error) the others get SIGTERM (then SIGKILL after the
 * grace period), and the promise rejects with a PrototokenError naming the worker, its command
 * line and the end of its stderr.
 */
export async function runWorkers(options: RunWorkersOptions): Promise<WorkerResult[]> {
  const { k, command } = options;
  if (!Number.isInteger(k) || k < 1) throw new PrototokenError(`--workers must be a positive integer, got ${k}`, { fix: 'pass e.g. --workers 4' });
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const grace = options.killGraceMs ?? 5000;
  const children: ChildProcess[] = [];
  const tails: string[][] = [];
  let failure: { index: number; why: string } | null = null;

  const stopAll = (): void => {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGTERM');
      setTimeout(() => {
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }, grace).unref();
    }
  };
  const fail = (index: number, why: string): void => {
    if (failure) return;
    failure = { index, why };
    stopAll();
  };
  const onAbort = (): void => fail(-1, 'stopped by the caller');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const runs = Array.from({ length: k }, (_, i) => {
    const args = options.argsFor(i, k);
    const started = Date.now();
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    tails.push([]);
    const prefix = `[w ${i}] `;
    pipeLines(child.stdout, (line) => stdout.write(`${prefix}${line}\n`));
    pipeLines(child.stderr, (line) => {
      stderr.write(`${prefix}${line}\n`);
      tails[i].push(line);
      if (tails[i].length > TAIL_LINES) tails[i].shift();
    });
    return new Promise<WorkerResult>((resolve) => {
      child.on('error', (err) => fail(i, `could not start ${command} (${err.message})`));
      child.on('close', (code, signal) => {
        if (code !== 0 && !failure) fail(i, signal ? `was killed by ${signal}` : `exited with code ${code}`);
        resolve({ index: i, code, signal, seconds: (Date.now() - started) / 1000 });
      });
    });
  });
  const results = await Promise.all(runs);
  options.signal?.removeEventListener('abort', onAbort);
  if (failure) {
    const { index, why } = failure as { index: number; why: string };
    if (index < 0) throw new PrototokenError(`workers ${why}; all ${k} were stopped`, { fix: 'rerun the same command: every shard resumes where it stopped' });
    const cmd = [command, ...options.argsFor(index, k)].join(' ');
    const tail = tails[index].length ? `\nits last stderr lines:\n  ${tails[index].join('\n  ')}` : '';
    throw new PrototokenError(`worker ${index} of ${k} ${why}; the other workers were stopped.\ncommand: ${cmd}${tail}`, {
      fix: 'fix the cause shown above and rerun the same command: every shard resumes where it stopped',
    });
  }
  return results;
}

/** Call `onLine` for each complete line of `stream` (and the unterminated remainder at its end). */
function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) onLine(l.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}
