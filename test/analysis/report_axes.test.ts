// The report's axes (issue 17): integer ticks for counts and steps, rounded labels (never the
// "8.000000" vega gives a single-valued axis), log scales where values span decades, and the
// checkpoint table's metric for last/ when validation ran at its step.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { barChart, histogramChart, lineChart, scatterChart } from '../../src/analysis/report/charts.js';
import { buildReport } from '../../src/analysis/report/index.js';
import { renderSvg } from '../../src/analysis/report/render.js';
import { writeSafetensors } from '../../src/lm/safetensors.js';
import { TfEventsWriter } from '../../src/util/tfevents.js';
import { CORPUS, assertOk, runCli, tempDir } from '../cli/run.js';

/** The tick labels of each axis of a rendered chart, in drawing order. */
async function axisLabels(spec: Parameters<typeof renderSvg>[0]): Promise<string[][]> {
  const { svg, warnings } = await renderSvg(spec);
  assert.deepEqual(warnings, []);
  return labelsOf(svg);
}

function labelsOf(svg: string): string[][] {
  return [...svg.matchAll(/role-axis-label"[^>]*>(.*?)<\/g>/gs)].map((m) => [...m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((x) => x[1]));
}

/** An encoding channel of a unit spec, as JSON. */
function channel(spec: object, name: string): Record<string, unknown> {
  return (spec as { encoding: Record<string, Record<string, unknown>> }).encoding[name];
}

/** A label with more digits after the point than any tick needs. */
const OVERLONG = /\.\d{5,}/;

describe('report axes', () => {
  it('counts and steps tick at whole numbers and are labelled without decimals', async () => {
    const hist = histogramChart([{ v: 0.1 }, { v: 0.2 }, { v: 0.2 }], { value: { field: 'v', title: 'v' } });
    assert.deepEqual(channel(hist, 'y').axis, { tickMinStep: 1, format: 'd' });
    const bars = barChart([{ bin: '0-1', rows: 1 }, { bin: '2-3', rows: 2 }], { category: { field: 'bin', title: 'bin' }, value: { field: 'rows', title: 'rows', integer: true } });
    assert.deepEqual(channel(bars, 'y').axis, { tickMinStep: 1, format: 'd' });
    const line = lineChart([{ step: 1, v: 0.5 }, { step: 2, v: 0.7 }], { x: { field: 'step', title: 'step', integer: true }, y: { field: 'v', title: 'v' } });
    assert.deepEqual(channel(line, 'x').axis, { tickMinStep: 1, format: 'd' });
    // The axis of the counts (y) or steps (x): every tick a whole number, no 0.5 of a row or a step.
    for (const [spec, axis] of [[hist, 1], [bars, 1], [line, 0]] as const) {
      const labels = (await axisLabels(spec))[axis];
      assert.ok(labels.length > 0);
      for (const l of labels) assert.match(l, /^\d+$/, `tick "${l}" of ${JSON.stringify(labels)}`);
    }
  });

  it('an axis holding a single value gets round ticks, alone or in panels with their own scales', async () => {
    const flat = await axisLabels(lineChart([{ s: 1, v: 8 }, { s: 2, v: 8 }], { x: { field: 's', title: 's', integer: true }, y: { field: 'v', title: 'v' } }));
    const odd = await axisLabels(scatterChart([{ s: 21.990887, v: 3 }, { s: 21.990887, v: 4 }], { x: { field: 's', title: 's' }, y: { field: 'v', title: 'v', integer: true } }));
    const panels = await axisLabels(lineChart(
      [{ s: 1, v: 21.990887, t: 'a' }, { s: 2, v: 21.990887, t: 'a' }, { s: 1, v: 3, t: 'b' }, { s: 2, v: 5.5, t: 'b' }],
      { x: { field: 's', title: 's', integer: true }, y: { field: 'v', title: 'v' }, facet: { field: 't', title: 't', independentY: true } },
    ));
    for (const labels of [flat, odd, panels]) {
      for (const l of labels.flat()) assert.doesNotMatch(l, OVERLONG, JSON.stringify(labels));
    }
    assert.ok(flat[1].includes('8.0'), JSON.stringify(flat));
    assert.ok(panels.flat().includes('21.99'), JSON.stringify(panels));
  });

  it('a y axis asked to be logarithmic is, labelled as powers; a log x axis ticks at its values', () => {
    const rows = [1e12, 1e6, 300, 2.5].map((v, i) => ({ step: (i + 1) * 10, v }));
    const spec = lineChart(rows, { x: { field: 'step', title: 'step', integer: true }, y: { field: 'v', title: 'v', log: true } });
    assert.deepEqual(channel(spec, 'y').scale, { type: 'log' });
    assert.deepEqual(channel(spec, 'y').axis, { format: '.0e', tickCount: 6 });
    const ladder = lineChart([1, 2, 3, 5, 9].map((p) => ({ p, v: p / 10 })), { x: { field: 'p', title: 'p', log: true }, y: { field: 'v', title: 'v', domain: [0, 1] } });
    assert.deepEqual(channel(ladder, 'x').axis, { values: [1, 2, 3, 5, 9], format: 'd' });
  });
});

describe('report: training curves and the checkpoint table', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => ({ dir, cleanup } = await tempDir('prototoken-axes-')));
  after(() => cleanup());

  it('a scalar spanning decades (grad_norm from 1e12) gets its own log-scale chart; the others stay linear', async () => {
    const logdir = path.join(dir, 'runs', 'spiky');
    const w = await TfEventsWriter.open(logdir);
    for (let step = 1; step <= 6; step++) w.scalars({ 'train/loss': 5 - step / 2, grad_norm: step === 1 ? 2.5e12 : 10 / step }, step);
    await w.close();
    const r = await buildReport([logdir]);
    assert.equal(r.sections.find((s) => s.id === 'training')?.charts, 2);
    const [linear, log] = r.html.split('<figure class="chart">').slice(1);
    assert.match(linear, /Every logged scalar but those below/);
    assert.match(log, /span decades, on a log scale/);
    const logLabels = labelsOf(log).flat();
    assert.ok(logLabels.some((l) => /^1e\+1[0-3]$/.test(l)), `powers of ten on the log axis: ${logLabels.join(' | ')}`);
    for (const l of [...labelsOf(linear).flat(), ...logLabels]) assert.doesNotMatch(l, /^\d{7,}$|,\d{3},|\.\d{5,}/, l);
  });

  it('last/ records the validation metric of its step, and the table shows it', { timeout: 120_000 }, async () => {
    const small = path.join(dir, 'small.jsonl');
    await writeFile(small, (await readFile(CORPUS, 'utf8')).split('\n').slice(0, 12).join('\n') + '\n');
    const m = path.join(dir, 'm.safetensors');
    await writeSafetensors(m, { m: { shape: [64], data: Float32Array.from({ length: 64 }, (_, i) => 0.3 * Math.sin(i)) } });
    const ck = path.join(dir, 'ck');
    const r = await runCli([
      'train', '--name', 'tiny', '--checkpoints-dir', ck, '--logdir', path.join(dir, 'runs', 'tiny'), '--texts', small, '--m', m, '--window', '4', '--windows-per-text', '1',
      '--width', '16', '--layers', '1', '--heads', '2', '--max-length', '16', '--steps', '4', '--val-every', '2', '--batch', '4', '--max-val', '4', '--workers', '1',
      '--backend', 'wasm', '--quiet',
    ], { timeoutMs: 120_000 });
    assertOk(r);
    const last = JSON.parse(await readFile(path.join(ck, 'tiny', 'last', 'encoder.json'), 'utf8')) as { step: number; metric: { value: number | null } };
    const best = JSON.parse(await readFile(path.join(ck, 'tiny', 'best', 'encoder.json'), 'utf8')) as { step: number; metric: { value: number | null } };
    assert.equal(last.step, 4);
    assert.notEqual(last.metric.value, null, 'validation ran at step 4, the step of last/');
    if (best.step === 4) assert.equal(last.metric.value, best.metric.value);
    const report = await buildReport([path.join(ck, 'tiny')], { followLogdir: false });
    const row = /<td>tiny<\/td><td>last<\/td>.*?<\/tr>/.exec(report.html)?.[0] ?? '';
    assert.match(row, /<td>val_token_accuracy -?\d\.\d{4}<\/td>/, row);
  });
});
