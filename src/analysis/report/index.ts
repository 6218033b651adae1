/**
 * `prototoken report`: one self-contained HTML page (tables, and charts as inline SVG rendered
 * from Vega-Lite in Node) from whatever results it is given. See docs/analysis.md.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../util/fs_atomic.js';
import { checkOutputFile } from '../../util/output_paths.js';
import { type PageSection, REPORT_MARK, figure, renderPage } from './html.js';
import { type LoadInputsOptions, loadInputs } from './inputs.js';
import { renderSvg } from './render.js';
import { SECTIONS, type SectionContext } from './sections/index.js';
import type { LoadedInput } from './types.js';

export { ACCEPTED_INPUTS } from './json_input.js';
export type { LoadedInput } from './types.js';

/** What to put on the page and how inputs are read. */
export interface ReportOptions extends LoadInputsOptions {
  /** The page title. Default 'prototoken report'. */
  title?: string;
  /** Interpolation pairs drawn as panels; the tables list every pair. Default 12. */
  maxPairs?: number;
  /** The time the page says it was made. Default now. */
  now?: Date;
  /** writeReport: replace an existing file at `out` that is not an earlier report. Default false. */
  overwrite?: boolean;
}

/** A finished report. */
export interface BuiltReport {
  html: string;
  inputs: LoadedInput[];
  /** Every section, whether it had data, and how many charts it drew. */
  sections: { id: string; title: string; filled: boolean; charts: number }[];
  /** What vega warned about while rendering (empty when every chart is sound). */
  chartWarnings: string[];
}

/** Load `paths` and assemble the page. */
export async function buildReport(paths: readonly string[], options: ReportOptions = {}): Promise<BuiltReport> {
  const maxPairs = options.maxPairs ?? 12;
  if (!Number.isInteger(maxPairs) || maxPairs < 0) throw new RangeError(`ReportOptions.maxPairs must be a whole number >= 0, got ${maxPairs}`);
  const inputs = await loadInputs(paths, options);
  const chartWarnings: string[] = [];
  const sections: BuiltReport['sections'] = [];
  const page: PageSection[] = [];
  for (const section of SECTIONS) {
    let charts = 0;
    const ctx: SectionContext = {
      maxPairs,
      async chart(spec, caption) {
        const { svg, warnings } = await renderSvg(spec);
        chartWarnings.push(...warnings.map((w) => `${section.id}: ${w}`));
        charts++;
        return figure(svg, caption);
      },
    };
    const body = await section.render(inputs, ctx);
    sections.push({ id: section.id, title: section.title, filled: body !== null, charts });
    page.push({ id: section.id, title: section.title, howTo: section.howTo, body });
  }
  const html = renderPage({
    title: options.title ?? 'prototoken report',
    created: (options.now ?? new Date()).toISOString(),
    inputs,
    sections: page,
  });
  return { html, inputs, sections, chartWarnings };
}

/**
 * Build the report and write it to `out` atomically (its folder is created when missing). `out` is
 * checked first: an earlier report there is replaced, any other file only with `overwrite`.
 */
export async function writeReport(paths: readonly string[], out: string, options: ReportOptions = {}): Promise<BuiltReport> {
  await checkOutputFile(out, { overwrite: options.overwrite, createParents: true, ownOutput: isReportPage, example: 'report.html' });
  const report = await buildReport(paths, options);
  await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFileAtomic(out, report.html);
  return report;
}

/** Whether `file` is a page this command wrote (its header says so near the top). */
async function isReportPage(file: string): Promise<boolean> {
  const handle = await fsp.open(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).toString('utf8').includes(REPORT_MARK);
  } finally {
    await handle.close();
  }
}
