/**
 * A stopped solve keeps its rows in flight (issue 17, defect 2): the checkpoint `solveTexts` returns,
 * passed back as `resumeFrom`, continues every row where it stopped, so the results equal an
 * uninterrupted run's; a resumed run stopped again before its saved rows rejoined keeps them;
 * with best-of-K restarts the finished restarts of an unsettled text are carried, not rerun.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LoadedModel } from '../../src/lm/load.js';
import { PAPER_ADAMW } from '../../src/solver/adamw.js';
import { solveTexts } from '../../src/solver/solve.js';
import type { SolveResult, SolverCheckpoint, SolverOptions } from '../../src/solver/types.js';
import { prepareTargets } from '../../src/texts/targets.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { corpusStories } from '../helpers/fixtures.js';

const opts: SolverOptions = {
  arrangement: 'e-m', m: { kind: 'per-text' }, init: { kind: 'normal' }, adamw: { ...PAPER_ADAMW, lr: 0.05 }, schedule: { kind: 'constant' },
  maxSteps: 60, batchSize: 2, restarts: 1, seed: 3, stopAccuracy: 1, patience: 0,
};

describe('solver checkpoints', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  /** Run until `stopAfter` pool steps (Infinity: the end); results and the checkpoint. */
  async function run(o: SolverOptions, stopAfter: number, n = 3): Promise<{ results: SolveResult[]; checkpoint: SolverCheckpoint | null }> {
    const { targets } = prepareTargets(corpusStories(n), model.tokenizer, 12, 'corpus');
    const results: SolveResult[] = [];
    let steps = 0;
    const r = await solveTexts(model.lm, targets, o, { onResults: (x) => void results.push(...x), onStep: () => void steps++, shouldStop: () => steps >= stopAfter });
    return { results, checkpoint: r.checkpoint };
  }

  const byId = (rs: readonly SolveResult[]): Map<string, [number, number, number[]]> =>
    new Map(rs.map((r) => [r.id, [r.steps, r.restart, Array.from(r.e.slice(0, 4), (x) => Number(x.toFixed(4)))]]));

  it('stopped after 25 steps and resumed: every row ends exactly as in one uninterrupted run', async () => {
    const whole = await run(opts, Infinity);
    assert.equal(whole.checkpoint, null);
    const first = await run(opts, 25);
    assert.ok(first.checkpoint && first.checkpoint.rows.length > 0, 'rows in flight were checkpointed');
    for (const r of first.checkpoint.rows) assert.ok(r.steps > 0 && r.eM2.some((x) => x > 0), 'with their steps and AdamW moments');
    // Stopped again at once, before the saved rows rejoined the pool: nothing saved is lost.
    const again = await run({ ...opts, resumeFrom: first.checkpoint }, 0);
    assert.deepEqual(again.checkpoint?.rows.map((r) => [r.id, r.steps]), first.checkpoint.rows.map((r) => [r.id, r.steps]));
    const rest = await run({ ...opts, resumeFrom: again.checkpoint! }, Infinity);
    assert.deepEqual(byId([...first.results, ...rest.results]), byId(whole.results));
  });

  it('best of 3 restarts: a text\'s finished restarts are carried across the stop, not rerun', async () => {
    const o: SolverOptions = { ...opts, restarts: 3, batchSize: 1, maxSteps: 15 };
    const whole = await run(o, Infinity, 1);
    // One row at a time: restart 0 takes 16 pool steps (15 updates, then the pass that finds its budget
    // spent), so after 20 restart 1 is in flight with 4 updates.
    const first = await run(o, 20, 1);
    assert.deepEqual(first.results, []);
    assert.deepEqual(first.checkpoint?.partial.map((p) => [p.id, p.finished]), [[whole.results[0].id, [0]]]);
    assert.deepEqual(first.checkpoint?.rows.map((r) => [r.restart, r.steps]), [[1, 4]]);
    const rest = await run({ ...o, resumeFrom: first.checkpoint! }, Infinity, 1);
    assert.deepEqual(byId(rest.results), byId(whole.results));
  });
});
