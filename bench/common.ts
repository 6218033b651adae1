/** Small helpers of the benchmarks. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EMBEDDED_MODEL_DIR = join(ROOT, 'models', 'stories260k');
export const CORPUS_FILE = join(ROOT, 'data', 'tinystories', 'stories.jsonl');

/** `--name value` from argv, else the default. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Median ms of `n` calls after 3 warm-up calls. */
export async function timeSteps(step: () => void | Promise<void>, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}
