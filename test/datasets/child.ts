/** Spawning the append_worker fixture, optionally SIGKILLing it at a chosen moment. */
import { spawn } from 'node:child_process';
import type { AppendJob } from './fixtures/append_worker.js';

/** When to kill: `delayMs` after the child printed `afterLine` (or after spawn when unset). */
export interface KillAt {
  afterLine?: string;
  delayMs: number;
}

/** How the child ended. */
export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const WORKER = new URL('./fixtures/append_worker.js', import.meta.url).href;

/** Run the fixture with `job`; kill it with SIGKILL at `killAt` if given. */
export function runAppendWorker(job: AppendJob, killAt?: KillAt): Promise<ChildRun> {
  const code = `import(${JSON.stringify(WORKER)}).then((m) => m.main()).catch((e) => { console.error(e); process.exit(1); })`;
  const child = spawn(process.execPath, ['-e', code], {
    env: { ...process.env, PROTOTOKEN_TEST_JOB: JSON.stringify(job) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let armed = false;
  const arm = (): void => {
    if (armed || !killAt) return;
    armed = true;
    setTimeout(() => child.kill('SIGKILL'), killAt.delayMs);
  };
  if (killAt && killAt.afterLine === undefined) arm();
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (killAt?.afterLine !== undefined && stdout.split('\n').includes(killAt.afterLine)) arm();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) => child.on('close', (c, signal) => resolve({ code: c, signal, stdout, stderr })));
}
