/**
 * `npm run bench`: every benchmark in turn, each in its own process (so one backend's state never
 * leaks into the next). Figures only; nothing here is a test.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const runs: [string, string[]][] = [
  ['lm_step.js', ['--compare-stock']],
  ['solver.js', []],
  ['kernels.js', ['--quick']],
  ['encoder.js', []],
];
for (const [file, args] of runs) {
  console.log(`\n== ${file} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(here, file), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
