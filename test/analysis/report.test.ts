// `prototoken report`: recognising inputs, every section from small real inputs, "no data" notes,
// escaping, offline-ness of the page, and the errors for inputs it cannot read.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildReport } from '../../src/analysis/report/index.js';
import { barChart } from '../../src/analysis/report/charts.js';
import { escapeHtml } from '../../src/analysis/report/html.js';
import { renderSvg } from '../../src/analysis/report/render.js';
import { loadInputs } from '../../src/analysis/report/inputs.js';
import { SECTIONS } from '../../src/analysis/report/sections/index.js';
import { inputsOf } from '../../src/analysis/report/types.js';
import type { InterpolateResult } from '../../src/analysis/results.js';
import { capacityTable } from '../../src/analysis/capacity.js';
import { PrototokenError } from '../../src/util/errors.js';
import { assertOk, assertUserError, lastJson, runCli, tempDir } from '../cli/run.js';
import { HOSTILE_ID, type ReportFixture, allInputs, makeReportInputs } from './report_inputs.js';

/** Charts each section draws from the full fixture. */
const FULL_CHARTS: Record<string, number> = {
  capacity: 1, datasets: 4, arrangements: 1, sharing: 1, interpolation: 1, distances: 2, 'encoder-eval': 1, training: 1,
};

let dir: string;
let cleanup: () => Promise<void>;
let f: ReportFixture;
before(async () => {
  ({ dir, cleanup } = await tempDir('prototoken-report-'));
  f = await makeReportInputs(dir);
});
after(() => cleanup());

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('report from every kind of input', () => {
  let built: Awaited<ReturnType<typeof buildReport>>;
  before(async () => {
    built = await buildReport(allInputs(f), { now: new Date('2025-02-03T04:05:06Z') });
  });

  it('recognises each input by what it is, expanding the capacity folder and following the checkpoint to its logs', () => {
    assert.deepEqual(built.inputs.map((i) => i.kind), [
      'dataset', 'dataset', 'capacity-summary', 'interpolate', 'distances', 'arrangements', 'sharing', 'eval', 'checkpoint', 'events',
    ]);
    assert.equal(built.inputs[1].path, f.capacityDataset);
    assert.equal(built.inputs[3].path, path.join(f.interpolate, 'result.json'));
    assert.match(built.inputs[9].what, /TensorBoard run "run1": 2 event file\(s\), 3 scalar tag\(s\).*\(the log folder of .*checkpoints\/run1\)/);
    for (const i of built.inputs) assert.ok(built.html.includes(`<code>${escapeHtml(i.path)}</code>`), `input ${i.path} listed`);
  });

  it('fills every section, with its charts as inline SVG, and no "no data" note', () => {
    assert.deepEqual(Object.fromEntries(built.sections.map((s) => [s.id, s.charts])), FULL_CHARTS);
    assert.ok(built.sections.every((s) => s.filled));
    assert.deepEqual(built.chartWarnings, []);
    const charts = Object.values(FULL_CHARTS).reduce((a, b) => a + b, 0);
    assert.equal(count(built.html, '<figure class="chart"><svg'), charts);
    assert.equal(count(built.html, '</svg><figcaption>'), charts);
    assert.equal(count(built.html, 'no data given'), 0);
    for (const s of SECTIONS) assert.ok(built.html.includes(`<section id="${s.id}" class="filled">`), s.id);
    assert.equal(count(built.html, '<table>'), 10, 'capacity, 2 datasets, arrangements, sharing, 2 interpolation, distances, eval, checkpoints');
    assert.ok(count(built.html, 'class="mark-line role-mark') >= 3, 'line marks for arrangements, interpolation, training');
    assert.ok(count(built.html, 'class="mark-symbol role-mark') >= 1, 'points for the capacity scatter');
  });

  it('counts a capacity text given by both the dataset and the --json summary once', () => {
    const rows = capacityTable([...f.capacityTexts]);
    assert.equal(rows[0].texts, 6);
    const natural = `<tr><td>natural</td><td>per-text</td><td class="num">6</td><td>${rows[0].capacity_mean.toFixed(1)} ± ${rows[0].capacity_std.toFixed(1)}</td><td class="num">${rows[0].capacity_max}</td>`;
    assert.ok(built.html.includes(natural), 'natural row from the dataset, counted once');
    assert.ok(built.html.includes('<tr><td>generated</td><td>shared</td><td class="num">3</td><td>12.0 ± 3.3</td><td class="num">16</td><td>11.0 ± 0.8</td></tr>'));
    assert.ok(built.html.includes('6 texts were given by more than one input and are counted once.'));
    const fromDataset = inputsOf(built.inputs, 'dataset')[1].capacity;
    assert.deepEqual(fromDataset, f.capacityTexts, 'capacity = N when accuracy >= the recorded threshold, else 0');
  });

  it('merges a resumed run\'s event files (the later file wins) and tabulates its checkpoints', () => {
    const [run] = inputsOf(built.inputs, 'events');
    const loss = run.scalars.filter((s) => s.tag === 'train/loss').map((s) => [s.step, s.value]);
    assert.deepEqual(loss, [10, 20, 30, 40, 50, 60].map((step) => [step, Math.fround(step < 40 ? 5 - step / 20 : 1 - step / 200)]));
    assert.deepEqual([...new Set(run.scalars.map((s) => s.tag))], ['lr', 'train/loss', 'val/token_accuracy']);
    assert.ok(built.html.includes('<td>run1</td><td>last</td><td>transformer</td><td class="num">8</td><td class="num">60</td><td>val_token_accuracy n/a</td><td>0.3000 (60)</td><td>1.5 min</td>'));
  });

  it('escapes text ids and method names everywhere, and refers to nothing outside the page', () => {
    const escaped = escapeHtml(HOSTILE_ID);
    assert.ok(count(built.html, `<td>${escaped}</td>`) >= 1, 'interpolation pair table');
    assert.ok(built.html.includes(`<td>nn-${escaped}</td>`), 'eval method table');
    assert.doesNotMatch(built.html, /<script/i);
    assert.ok(!built.html.includes('<b>'), 'no markup from an id');
    assert.doesNotMatch(built.html, /\s(?:src|href)\s*=\s*["'](?!#)/i, 'only in-page links');
    assert.doesNotMatch(built.html, /<link|@import|url\(/i);
  });
});

describe('charts', () => {
  it('render to SVG with data marks, and what vega warns about is kept, not printed', async () => {
    const bars = (rows: { c: string; v: number }[]) => barChart(rows, { category: { field: 'c', title: 'c' }, value: { field: 'v', title: 'v' } });
    const good = await renderSvg(bars([{ c: 'a', v: 1 }, { c: 'b', v: 2 }]));
    assert.deepEqual(good.warnings, []);
    assert.match(good.svg, /^<svg [^>]*width="\d+" height="\d+"/);
    assert.equal(count(good.svg, 'aria-roledescription="bar"'), 2);
    const empty = await renderSvg(bars([]));
    assert.equal(count(empty.svg, 'aria-roledescription="bar"'), 0);
    assert.match(empty.warnings.join('\n'), /^warning: Infinite extent for field/);
  });
});

describe('report with some sections empty', () => {
  it('shows the given dataset and, for every other section, "no data given" with the command that makes it', async () => {
    const r = await buildReport([f.dataset]);
    assert.deepEqual(r.sections.filter((s) => s.filled).map((s) => s.id), ['datasets']);
    assert.equal(count(r.html, '<figure class="chart"><svg'), 2);
    for (const s of SECTIONS.filter((s) => s.id !== 'datasets')) {
      assert.ok(r.html.includes(`<section id="${s.id}" class="empty">`), s.id);
      assert.ok(r.html.includes(`no data given (how to make it: <code>${escapeHtml(s.howTo)}</code>)`), s.id);
    }
    assert.ok(r.html.includes('<td>12 for 12 texts (read from data.arrow)</td>'));
  });

  it('keeps two capacity runs apart (a run column) and still counts each text of one run once', async () => {
    const other = path.join(dir, 'capacity-windows.json');
    const texts = [0, 1].map((i) => ({ source: 'natural', m: 'per-text', id: `cap-${i}`, capacity: 32, h_lm_nats: 40 + i }));
    await writeFile(other, JSON.stringify({ out: path.join(dir, 'capacity-windows'), interrupted: false, texts, table: capacityTable(texts) }));
    const r = await buildReport([path.dirname(f.capacityDataset), f.capacityJson, other]);
    const html = r.html.slice(r.html.indexOf('<section id="capacity"'), r.html.indexOf('<section id="datasets"'));
    assert.ok(html.includes('<th>run</th><th>source</th>'), 'a run column');
    assert.equal(count(html, '<td>natural</td><td>per-text</td>'), 2, 'one natural row per run');
    assert.ok(html.includes('<td>natural</td><td>per-text</td><td class="num">2</td><td>32.0 ± 0.0</td>'), 'the second run alone');
    assert.ok(html.includes('6 texts were given by more than one input and are counted once.'));
  });

  it('puts paths between unpolished and polished endpoints side by side, the two-bend curve where it was trained', async () => {
    const base = JSON.parse(await readFile(path.join(f.interpolate, 'result.json'), 'utf8')) as InterpolateResult;
    const variant = async (name: string, polishSteps: number, margin: number): Promise<string> => {
      const stats = (x: number): InterpolateResult['summary']['lengthRatio'] => ({ mean: x, std: 0, min: x, median: x, max: x });
      // The first pair dips on its Bezier curve; the two-bend curve is trained for it alone.
      const pairs = base.pairs.map((p, i) => ({ ...p, cubicAccuracy: i === 0 ? p.bezierAccuracy.map(() => 1) : null, cubicMinAccuracy: i === 0 ? 1 : null, marginA: margin, marginB: margin }));
      const summary = { ...base.summary, cubicPairs: 1, cubicConnected: 1, connected: 2, endpointMargin: stats(margin), endpointPolishSteps: stats(polishSteps) };
      const folder = path.join(dir, name);
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, 'result.json'), JSON.stringify({ ...base, dataset: `runs/${name}`, pairs, summary }));
      return folder;
    };
    const r = await buildReport([await variant('plain', 0, 0.03), await variant('polished', 400, 5.2)]);
    assert.equal(r.sections.find((s) => s.id === 'interpolation')?.charts, 3, 'the runs side by side, then each run\'s pairs');
    const html = r.html.slice(r.html.indexOf('<section id="interpolation"'), r.html.indexOf('</section>', r.html.indexOf('<section id="interpolation"')));
    assert.ok(html.includes('<td>plain: unpolished, margin 0.03</td>'), 'the unpolished run named by its endpoints');
    assert.ok(html.includes('<td>polished: polished, margin 5.20</td>'));
    assert.ok(html.includes('Bezier, two-bend where it dips'), 'the fallback\'s result over every pair');
    assert.equal(count(html, '<td>1 / 1</td>'), 4, 'two-bend connected, in the comparison and in each run');
  });

  it('reads an input given twice (as a folder and as its result.json) once', async () => {
    const inputs = await loadInputs([f.interpolate, path.join(f.interpolate, 'result.json'), path.join(f.sharingFile), path.dirname(f.sharingFile)]);
    assert.deepEqual(inputs.map((i) => i.kind), ['interpolate', 'sharing']);
  });

  it('a checkpoint alone gives its table and its logs only when asked to follow them', async () => {
    const r = await buildReport([f.checkpoint], { followLogdir: false });
    assert.deepEqual(r.inputs.map((i) => i.kind), ['checkpoint']);
    assert.equal(r.sections.find((s) => s.id === 'training')?.charts, 0);
    assert.match(r.html, /No TensorBoard folder read: these checkpoints were trained into [^;]+; pass it where it exists/);
  });
});

describe('report input errors', () => {
  const rejects = async (input: string, file: string, ...patterns: RegExp[]): Promise<void> => {
    await assert.rejects(loadInputs([input]), (err: unknown) => {
      assert.ok(err instanceof PrototokenError, String(err));
      assert.equal(err.file, file);
      for (const p of patterns) assert.match(err.message, p);
      return true;
    });
  };
  const write = async (name: string, text: string): Promise<string> => {
    const file = path.join(dir, 'bad', name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    return file;
  };
  const interpolateText = async (): Promise<Record<string, unknown>> => JSON.parse(await readFile(path.join(f.interpolate, 'result.json'), 'utf8')) as Record<string, unknown>;

  it('an unknown file, an empty folder and a missing path name the input and what is accepted', async () => {
    const accepted = /Fix: pass a solution dataset folder .*result\.json .*eval --json.*runs\/RUN.*checkpoints\/RUN/;
    const notes = await write('notes.txt', 'hello');
    await rejects(notes, notes, /not a report input: a file that is neither JSON/, accepted);
    const empty = path.join(dir, 'bad', 'empty');
    await mkdir(empty, { recursive: true });
    await rejects(empty, empty, /no report input in it nor in the folders directly inside it/, accepted);
    await rejects(path.join(dir, 'missing'), path.join(dir, 'missing'), /cannot open this input/, accepted);
    const other = await write('other.json', '{"hello": 1}');
    await rejects(other, other, /a JSON object of no known shape/, accepted);
  });

  it('a truncated, mistyped, unknown-kind or newer result.json is refused naming the file', async () => {
    const good = JSON.stringify(await interpolateText());
    const truncated = await write('trunc/result.json', good.slice(0, good.length / 2));
    await rejects(path.dirname(truncated), truncated, /not valid JSON .*a truncated or damaged file/);
    const short = await interpolateText();
    (short.pairs as { lineAccuracy: number[] }[])[1].lineAccuracy.pop();
    const mistyped = await write('short.json', JSON.stringify({ ...short, taus: 'all' }));
    await rejects(mistyped, mistyped, /not a valid interpolate result\.json/, /taus/);
    const uneven = await write('uneven.json', JSON.stringify(short));
    await rejects(uneven, uneven, /32 values for 33 taus/, /pairs\[1\]\.lineAccuracy/);
    const unknown = await write('unknown.json', JSON.stringify({ ...short, kind: 'bogus' }));
    await rejects(unknown, unknown, /unknown kind "bogus" \(known: interpolate, distances, arrangements, sharing\)/);
    const newer = await write('newer.json', JSON.stringify({ ...(await interpolateText()), version: 2 }));
    await rejects(newer, newer, /version 2; this prototoken reads version 1/);
  });

  it('a damaged event file and a damaged eval file are refused naming the file', async () => {
    const [events] = (await readdir(f.runs)).sort();
    const bytes = await readFile(path.join(f.runs, events));
    bytes[bytes.length - 2] ^= 0xff;
    const damaged = await write(events, '');
    await writeFile(damaged, bytes);
    await rejects(damaged, damaged, /data CRC mismatch/);
    const evalBad = await write('eval.json', JSON.stringify({ methods: [{ method: 'x' }] }));
    await rejects(evalBad, evalBad, /not a valid `prototoken eval --json` output/, /token_accuracy/);
  });
});

describe('prototoken report (CLI)', () => {
  it('writes the page atomically and prints what it made; --json says the same as JSON', async () => {
    const out = path.join(dir, 'cli-out', 'nested', 'report.html');
    const r = await runCli(['report', f.dataset, f.evalJson, '--out', out, '--title', 'My <report>']);
    assertOk(r);
    assert.match(r.stdout, /^wrote .*report\.html: 2 of 8 sections with data, 3 charts, from 2 input\(s\)/);
    assert.match(r.stdout, /no data: Capacity/);
    assert.deepEqual(await readdir(path.dirname(out)), ['report.html'], 'no temporary file left');
    const html = await readFile(out, 'utf8');
    assert.ok(html.includes('<title>My &lt;report&gt;</title>'));
    const j = await runCli(['report', f.arrangements, '--out', out, '--json']);
    assertOk(j);
    const summary = lastJson<{ inputs: { kind: string }[]; sections: { id: string; filled: boolean }[]; chart_warnings: string[] }>(j);
    assert.deepEqual(summary.inputs.map((i) => i.kind), ['arrangements']);
    assert.deepEqual(summary.sections.filter((s) => s.filled).map((s) => s.id), ['arrangements']);
    assert.deepEqual(summary.chart_warnings, []);
  });

  it('an unreadable input is one error message and no page', async () => {
    const out = path.join(dir, 'cli-bad', 'report.html');
    const r = await runCli(['report', f.dataset, path.join(dir, 'nothing-here'), '--out', out]);
    assertUserError(r, /nothing-here: cannot open this input/, /Fix: pass a solution dataset folder/);
    await assert.rejects(readFile(out), /ENOENT/);
  });
});
