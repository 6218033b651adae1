/**
 * `npm run bench:solver`: the paper's recipe (and the fast preset) on the embedded model over the
 * first corpus texts at N=16: texts solved, median and max steps, wall time, ms per pool step;
 * then ms per step at B=8, N=64. Not a test.
 *   node dist/bench/solver.js [--texts 32] [--offset 0] [--presets paper,fast] [--length 16]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { loadModelDir } from '../src/lm/load.js';
import { solveTexts } from '../src/solver/solve.js';
import { prepareTargets } from '../src/texts/targets.js';
import type { SolveResult, SolverOptions } from '../src/solver/types.js';
import { readConfigFile, resolveConfig } from '../src/util/config.js';
import { solverSchema, solverOptionsOf } from '../src/solver/config.js';
import { CORPUS_FILE, EMBEDDED_MODEL_DIR, ROOT, arg } from './common.js';

const count = Number(arg('texts', '32'));
const offset = Number(arg('offset', '0'));
const N = Number(arg('length', '16'));
const presets = arg('presets', 'paper,fast').split(',');
await initBackend((arg('backend', 'wasm') as 'wasm'), { quiet: true });
const model = await loadModelDir(EMBEDDED_MODEL_DIR);
const stories = readFileSync(CORPUS_FILE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string });

function optionsFor(preset: string, patch: Partial<SolverOptions> = {}): SolverOptions {
  const config = resolveConfig(solverSchema, [readConfigFile(join(ROOT, 'configs', `solver-${preset}.yaml`))]);
  const init = config.init === 'scaled' ? { kind: 'scaled' as const, scale: config.initScale } : { kind: 'normal' as const };
  return { ...solverOptionsOf({ ...config, seed: 0 }, init, { kind: 'per-text' }), ...patch };
}

async function run(opts: SolverOptions, texts: { id: string; text: string }[], length: number, maxPoolSteps = Infinity): Promise<{ results: SolveResult[]; steps: number; ms: number }> {
  const { targets } = prepareTargets(texts, model.tokenizer, length, 'corpus');
  const results: SolveResult[] = [];
  let steps = 0;
  const t0 = performance.now();
  await solveTexts(model.lm, targets, opts, {
    onResults: (r) => void results.push(...r),
    onStep: () => void steps++,
    shouldStop: () => steps >= maxPoolSteps,
  });
  return { results, steps, ms: performance.now() - t0 };
}

const medians: Record<string, number> = {};
for (const preset of presets) {
  const { results, steps, ms } = await run(optionsFor(preset, { batchSize: 32 }), stories.slice(offset, offset + count), N);
  const st = results.map((r) => r.steps).sort((a, b) => a - b);
  medians[preset] = st[st.length >> 1];
  console.log(
    `${preset.padEnd(6)} N=${N}: solved ${results.filter((r) => r.solved).length}/${results.length}, median ${medians[preset]} steps, max ${st[st.length - 1]}, ` +
      `${(ms / 1000).toFixed(1)} s wall, ${(ms / steps).toFixed(1)} ms per pool step (pool of 32 shrinking as texts finish)`,
  );
}
if (medians.paper && medians.fast) console.log(`fast / paper median steps: ${(medians.fast / medians.paper).toFixed(2)} (${(medians.paper / medians.fast).toFixed(2)}x fewer)`);

for (const [B, L] of [[32, 16], [8, 64]]) {
  // A full pool for a fixed number of steps: the per-step cost at this shape.
  const { steps, ms } = await run(optionsFor('paper', { batchSize: B, maxSteps: 100000 }), stories.slice(0, B), L, 30);
  console.log(`full pool B=${B}, N=${L}: ${(ms / steps).toFixed(1)} ms per step`);
}
