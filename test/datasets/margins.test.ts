/**
 * Solutions with a margin in a dataset (issue 16): `solve --polish-steps` stores each row's
 * margin and polishing steps; the columns survive merge (data.arrow, dataset_info.json, the card)
 * and the Parquet export with their values; `inspect` summarises them (and, with --radius, measures
 * a sample's room inside its solution sets); the polishing keys are part
 * of the recipe a resume is checked against, while a dataset made without them resumes unchanged.
 * Hugging Face `load_dataset` is checked by scripts/check_python.py where Python has `datasets`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { readDataset } from '../../src/datasets/index.js';
import { SOLVE_RECIPE, solveSchema } from '../../src/datasets/solve_run.js';
import { CORPUS, ROOT, assertOk, assertUserError, lastJson, runCli, tempDir } from '../cli/run.js';

const solveArgs = (out: string, ...extra: string[]): string[] =>
  ['solve', '--texts', CORPUS, '--length', '8', '--limit', '3', '--batch', '3', '--preset', 'fast', '--out', out, '--backend', 'wasm', '--quiet', ...extra];

describe('margin and polish_steps columns', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let out: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    out = join(dir, 'polished');
    assertOk(await runCli(solveArgs(out, '--polish-steps', '20')));
  });
  after(() => cleanup());

  it('solve records them; merge keeps them in data.arrow, dataset_info.json and the card', async () => {
    const ds = await readDataset(out);
    assert.equal(ds.readFrom, 'data.arrow');
    const rows = ds.toRecords();
    assert.equal(rows.length, 3);
    for (const r of rows) {
      assert.equal(r.polishSteps, r.solved ? 20 : 0, `${r.textId}: 20 steps after the first solve`);
      if (r.solved) assert.ok((r.margin as number) > 0, `${r.textId}: a reproduced text has a positive margin, got ${r.margin}`);
    }
    assert.ok(ds.info.schema.some((c) => c.name === 'margin' && /logit margin/.test(c.description)));
    assert.ok(ds.info.schema.some((c) => c.name === 'polish_steps' && /--polish-steps/.test(c.description)));
    assert.equal(ds.info.solver_config.polishSteps, 20, 'the recipe records the polishing');
    const card = await readFile(join(out, 'README.md'), 'utf8');
    assert.match(card, /\| `margin` \| Float32 \| smallest logit margin/);
    assert.match(card, /\| `polish_steps` \| Int32 \|/);
  });

  it('export --format parquet keeps their types and values; inspect summarises them', async () => {
    const parquet = join(dir, 'polished.parquet');
    assertOk(await runCli(['export', out, '--format', 'parquet', '--out', parquet]));
    const { readParquet } = await import('parquet-wasm');
    const back = tableFromIPC(readParquet(new Uint8Array(await readFile(parquet))).intoIPCStream());
    const rows = (await readDataset(out)).toRecords();
    assert.equal(String(back.schema.fields.find((f) => f.name === 'margin')?.type), 'Float32');
    assert.equal(String(back.schema.fields.find((f) => f.name === 'polish_steps')?.type), 'Int32');
    assert.deepEqual(Array.from(back.getChild('margin')?.toArray() as Float32Array), rows.map((r) => r.margin));
    assert.deepEqual(Array.from(back.getChild('polish_steps')?.toArray() as Int32Array), rows.map((r) => r.polishSteps));
    const r = await runCli(['inspect', out, '--json']);
    assertOk(r);
    const s = lastJson<{ margin: { min: number }; polish_steps: { max: number } }>(r);
    assert.ok(s.margin.min > 0);
    assert.equal(s.polish_steps.max, 20);
    // --radius with only the flags it needs: the sample's other settings take their defaults.
    const deep = await runCli(['inspect', out, '--radius', '--radius-rows', '2', '--backend', 'wasm', '--json']);
    assertOk(deep);
    const radius = lastJson<{ radius: { rows: number; directions: number; per_row: { radius: number; margin: number }[] } }>(deep).radius;
    assert.deepEqual([radius.rows, radius.directions], [2, 16]);
    for (const row of radius.per_row) assert.ok(row.radius >= 0 && row.margin > 0, JSON.stringify(row));
    const text = await runCli(['inspect', out, '--radius', '--radius-rows', '1', '--radius-directions', '2', '--backend', 'wasm']);
    assert.match(text.stdout, /1 of \d+ solved rows sampled, 2 random directions each/);
    assert.match(text.stdout, /a small sample \(1 rows, 2 directions\)/);
  });

  it('a resume with other polishing is refused; the same flags resume; a recipe without polishing records none of the keys', async () => {
    const other = await runCli(solveArgs(out, '--polish-steps', '5'));
    assertUserError(other, /solver_config\.polishSteps: 20 vs 5/, /Fix: write to a new folder/);
    const none = await runCli(solveArgs(out));
    assertUserError(none, /solver_config\.polishSteps: 20 vs \(unset\)/);
    assertOk(await runCli(solveArgs(out, '--polish-steps', '20')));
    // Datasets from before polishing recorded no such keys: a default run records none either, so they compare equal.
    const picked = SOLVE_RECIPE.pick(solveSchema.parse({ texts: CORPUS, out: 'x' }));
    for (const k of ['polishSteps', 'stopLoss', 'minMargin']) assert.ok(!(k in picked), k);
    assert.deepEqual(SOLVE_RECIPE.pick(solveSchema.parse({ texts: CORPUS, out: 'x', minMargin: 3 })).minMargin, 3);
  });

  it('Hugging Face datasets and pyarrow read both columns (optional: needs Python packages)', (t) => {
    const py = spawnSync('python3', [join(ROOT, 'scripts', 'check_python.py'), out], { encoding: 'utf8' });
    if (py.error) return t.skip(`python3 is not available (${py.error.message})`);
    assert.equal(py.status, 0, `${py.stdout}\n${py.stderr}`);
    assert.doesNotMatch(py.stdout, /^FAIL/m);
    if (/^SKIP +pyarrow/m.test(py.stdout)) return t.skip('the Python package `pyarrow` is not installed here (pip install pyarrow datasets); the checksum checks ran');
    assert.match(py.stdout, /^ok +pyarrow: margin float and polish_steps int32, the same in the Parquet export/m);
    if (/^SKIP +datasets/m.test(py.stdout)) t.skip('the Python package `datasets` is not installed here (pip install datasets)');
    else assert.match(py.stdout, /^ok +datasets: margin float32, polish_steps int32/m);
  });
});
