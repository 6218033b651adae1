/**
 * Page assembly. Every piece of text that came from an input (ids, paths, method names, notes) goes
 * through `escapeHtml` here or in `htmlTable`; the SVG comes from vega, which escapes its own text.
 * The page has no script and no external reference, so it renders the same offline.
 */
import type { Summary } from '../../util/stats.js';

/** `&`, `<`, `>`, `"` and `'` as entities: safe in element content and in quoted attributes. */
/** The page's own signature, by which `report --out` knows an earlier report it may replace. */
export const REPORT_MARK = 'made by prototoken report';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A table cell: text (escaped) or a number (right-aligned, written as given). */
export type Cell = string | number;

/** Options of `htmlTable`. */
export interface HtmlTableOptions {
  /** Shown above the table. Default none. */
  caption?: string;
}

/** A real `<table>` with a header row; numbers are right-aligned. */
export function htmlTable(header: readonly string[], rows: readonly (readonly Cell[])[], options: HtmlTableOptions = {}): string {
  const cell = (c: Cell, tag: 'td' | 'th'): string => (typeof c === 'number' ? `<${tag} class="num">${c}</${tag}>` : `<${tag}>${escapeHtml(c)}</${tag}>`);
  return [
    '<table>',
    options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : '',
    `<thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`).join('\n')}</tbody>`,
    '</table>',
  ].join('');
}

/** A chart: the SVG from vega with an escaped caption. */
export function figure(svg: string, caption: string): string {
  return `<figure class="chart">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** An escaped paragraph (optionally with a class). */
export function para(text: string, cls?: string): string {
  return `<p${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</p>`;
}

/** A sub-heading naming the input a part of a section comes from. */
export function fromInput(title: string, path: string): string {
  return `<h3>${escapeHtml(title)} <span class="src">${escapeHtml(path)}</span></h3>`;
}

/** `x` with `digits` decimals (integers as they are); 'n/a' for null or NaN. */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

/** `x` with exactly `digits` decimals, integers too (columns of means line up); 'n/a' for null or NaN. */
export function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits);
}

/** `mean ± std` of a summary. */
export function meanStd(s: Pick<Summary, 'mean' | 'std'>, digits = 3): string {
  return `${fixed(s.mean, digits)} ± ${fixed(s.std, digits)}`;
}

/** One entry of the page's list of inputs. */
export interface PageInput {
  path: string;
  what: string;
  warnings: readonly string[];
}

/** One section of the page: its body, or null with the command that would make its data. */
export interface PageSection {
  id: string;
  title: string;
  body: string | null;
  howTo: string;
}

/** What the page shows. */
export interface PageContent {
  title: string;
  /** ISO time of the report. */
  created: string;
  inputs: readonly PageInput[];
  sections: readonly PageSection[];
}

/** The whole self-contained page. */
export function renderPage(c: PageContent): string {
  const toc = c.sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a>${s.body === null ? ' <span class="muted">(no data)</span>' : ''}</li>`).join('');
  const inputs = c.inputs.map((i) =>
    `<li><code>${escapeHtml(i.path)}</code>: ${escapeHtml(i.what)}${i.warnings.length ? `<ul class="warn">${i.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : ''}</li>`,
  ).join('\n');
  const sections = c.sections.map((s) => [
    `<section id="${s.id}" class="${s.body === null ? 'empty' : 'filled'}">`,
    `<h2>${escapeHtml(s.title)}</h2>`,
    s.body ?? `<p class="nodata">no data given (how to make it: <code>${escapeHtml(s.howTo)}</code>)</p>`,
    '</section>',
  ].join('\n')).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(c.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(c.title)}</h1><p class="muted">${REPORT_MARK}, ${escapeHtml(c.created)}</p></header>
<nav><ol>${toc}</ol></nav>
<section id="inputs"><h2>Inputs</h2><ul>${inputs}</ul></section>
${sections}
</body>
</html>
`;
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { margin-top: 1.5rem; } h3 .src { font-weight: normal; font-size: 0.8em; color: #666; font-family: ui-monospace, monospace; }
.muted { color: #777; } .nodata { color: #777; font-style: italic; } ul.warn { color: #a35a00; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
figure.chart { display: inline-block; margin: 0.5rem 1.5rem 1rem 0; vertical-align: top; }
figure.chart svg { max-width: 100%; height: auto; } figcaption { font-size: 0.85em; color: #555; }
code { font-family: ui-monospace, monospace; font-size: 0.9em; }
`;
