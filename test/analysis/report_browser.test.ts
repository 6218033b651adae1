// The report in a real browser: headless Chromium opens the page from a file:// URL with no
// network, and every chart must have drawn marks with real geometry. Saves a screenshot under
// out/report-browser/. Skipped (with the reason printed) where Chromium is not installed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/analysis/report/index.js';
import { ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../cli/run.js';
import { allInputs, makeReportInputs } from './report_inputs.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

/** The few DOM members the page check uses (the project compiles without the DOM library). */
interface DomBox {
  width: number;
  height: number;
}
interface DomElement {
  getBoundingClientRect(): DomBox;
  getBBox(): DomBox;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  readonly nextElementSibling: { textContent: string | null } | null;
}

/** What the page says about one chart. */
interface ChartCheck {
  caption: string;
  width: number;
  height: number;
  /** path/rect/circle/line elements inside data-mark groups (not axes, legends or titles). */
  marks: number;
  /** Of those, how many have a non-empty bounding box. */
  drawn: number;
}

test('the report renders in headless Chromium: every chart has drawn marks, nothing is fetched', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`Chromium not found at ${CHROMIUM} (install the Debian package \`chromium\`, or set CHROMIUM_PATH)`);
    return;
  }
  const { dir, cleanup } = await tempDir('prototoken-report-browser-');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    const out = path.join(dir, 'report.html');
    const built = await writeReport(allInputs(await makeReportInputs(dir)), out);
    const expected = built.sections.reduce((n, s) => n + s.charts, 0);
    assert.equal(expected, 12);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const url = pathToFileURL(out).href;
    await page.goto(url, { waitUntil: 'load' });

    const charts = await page.$$eval('figure.chart > svg', (svgs: unknown[]) => (svgs as DomElement[]).map((svg): ChartCheck => {
      const box = svg.getBoundingClientRect();
      const marks = Array.from(svg.querySelectorAll('g.role-mark path, g.role-mark rect, g.role-mark circle, g.role-mark line'));
      const drawn = marks.filter((m) => {
        const b = m.getBBox();
        return b.width > 0 || b.height > 0;
      }).length;
      return { caption: svg.nextElementSibling?.textContent ?? '', width: box.width, height: box.height, marks: marks.length, drawn };
    }));
    assert.equal(charts.length, expected, 'one SVG per chart');
    for (const c of charts) {
      assert.ok(c.width > 50 && c.height > 50, `chart "${c.caption}" has a size (${c.width} x ${c.height})`);
      assert.ok(c.marks > 0, `chart "${c.caption}" has mark elements`);
      assert.ok(c.drawn > 0, `chart "${c.caption}" has marks with geometry`);
    }
    const tables = await page.$$eval('table', (ts: unknown[]) => (ts as DomElement[]).map((tb) => tb.querySelectorAll('tbody tr').length));
    assert.equal(tables.length, 10);
    assert.ok(tables.every((rows) => rows > 0), 'every table has rows');
    assert.deepEqual(requests, [url], 'the page loads nothing but itself');
    assert.deepEqual(errors, []);

    const shots = path.join(ROOT, 'out', 'report-browser');
    await mkdir(shots, { recursive: true });
    const screenshot = path.join(shots, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`${charts.length} charts drawn, screenshot: ${screenshot}`);
  } finally {
    await browser.close();
    await cleanup();
  }
});
