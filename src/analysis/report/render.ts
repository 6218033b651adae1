/**
 * Vega-Lite spec -> SVG text, in Node. The view is headless (renderer 'none'): vega's SVG
 * serialiser needs no canvas and no DOM, so nothing native is loaded. Text is measured by vega's
 * built-in estimate when no canvas package is present, which only shifts label layout slightly.
 */
import { type LoggerInterface, View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A rendered chart. */
export interface RenderedChart {
  svg: string;
  /** What Vega-Lite or vega warned about while compiling and running the spec (empty for a sound spec). */
  warnings: string[];
}

/** Render `spec` to a standalone `<svg>` element. */
export async function renderSvg(spec: TopLevelSpec): Promise<RenderedChart> {
  const logger = collectingLogger();
  const compiled = compile(spec, { logger }).spec;
  const view = new View(parse(compiled), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    return { svg, warnings: logger.messages };
  } finally {
    view.finalize();
  }
}

/**
 * A logger that keeps warnings and errors for the caller instead of printing them mid-command.
 * vega calls its methods detached from the object, so they are closures, not methods using `this`.
 */
function collectingLogger(): LoggerInterface & { messages: string[] } {
  const messages: string[] = [];
  let level = 2; // vega's Warn
  const keep = (what: string) => (...args: unknown[]) => {
    messages.push(`${what}: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
    return logger;
  };
  const ignore = () => logger;
  const logger: LoggerInterface & { messages: string[] } = {
    messages,
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error: keep('error'),
    warn: keep('warning'),
    info: ignore,
    debug: ignore,
  };
  return logger;
}
