/**
 * Vega-Lite specs for the report, one builder per chart kind (line, scatter, bar, histogram).
 * Every chart is a single unit spec, faceted through the `facet` encoding channel when it shows
 * small multiples, so all four kinds share one frame (data, size, facet, look) and differ only in
 * mark and encoding. Data is always inline: the page must render offline.
 */
import type { TopLevelSpec } from 'vega-lite';

/** The unit-spec members of TopLevelSpec (vega-lite's root exports no name for them). */
type UnitSpec = Extract<TopLevelSpec, { mark: unknown }>;
type Encoding = NonNullable<UnitSpec['encoding']>;
type Mark = UnitSpec['mark'];

/** One data row: plain values only, so specs stay JSON and field access never needs escaping. */
export type ChartRow = Record<string, string | number | null>;

/** A field a chart reads, with the title its axis or legend shows. Field names must be plain identifiers. */
export interface FieldRef {
  field: string;
  title: string;
  /**
   * Whole numbers (counts, steps, tokens): ticks at integers only, labelled without decimals, so a
   * small range does not show 0.5 of a row. Default false.
   */
  integer?: boolean;
}

/** Plot size of one panel (a facet cell, when faceted). */
export interface ChartSizeOptions {
  /** Default 360 px. */
  width?: number;
  /** Default 220 px. */
  height?: number;
}

/** Small multiples: one panel per value of `field`. */
export interface FacetOptions extends FieldRef {
  /** Panels per row. Default 3. */
  columns?: number;
  /** Give every panel its own y scale (series of different units). Default false. */
  independentY?: boolean;
}

/** Shared by the charts with a quantitative x and y. */
export interface XYChartOptions extends ChartSizeOptions {
  x: FieldRef & {
    /** Log-2 x scale, for grids that double. Default false. */
    log?: boolean;
  };
  y: FieldRef & {
    /** Fixed y range, e.g. [0, 1] for accuracies. Default: fitted to the data. */
    domain?: [number, number];
    /** Log-10 y scale, for values that span decades (a gradient norm from 1e12 down to 1). Default false. */
    log?: boolean;
  };
  /** One colour per value of this field. Default: a single colour. */
  series?: FieldRef;
  facet?: FacetOptions;
}

/** Options of `lineChart`. */
export interface LineChartOptions extends XYChartOptions {
  /** Draw a point at every value. Default true (few points per series); turn off for long curves. */
  points?: boolean;
}

/** Options of `scatterChart`. */
export interface ScatterChartOptions extends XYChartOptions {
  /** Fields listed in each point's tooltip. Default: x, y and series. */
  tooltip?: FieldRef[];
}

/** Options of `barChart`: one bar per category (per category and group when `group` is set). */
export interface BarChartOptions extends ChartSizeOptions {
  category: FieldRef;
  value: FieldRef & { domain?: [number, number] };
  /** Side-by-side bars within a category, one colour per group. Default: none. */
  group?: FieldRef;
  /** Categories along y (long labels, e.g. method names). Default false: along x. */
  horizontal?: boolean;
}

/** Options of `histogramChart`: Vega-Lite bins the raw values of `value`. */
export interface HistogramChartOptions extends ChartSizeOptions {
  value: FieldRef;
  /** At most this many bins. Default 30. */
  maxBins?: number;
  /** Title of the count axis. Default 'count'. */
  countTitle?: string;
  /** One colour per value of this field. Default: a single colour. */
  series?: FieldRef;
  facet?: FacetOptions;
}

/** Category axes with more labels than this slant them, so that bin labels like 0.3-0.4 do not collide. */
const SLANT_ABOVE = 6;

const DEFAULT_WIDTH = 360;
const DEFAULT_HEIGHT = 220;

/** Quiet, print-friendly look shared by every chart. */
const LOOK = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee', labelLimit: 260 },
  // Vega measures text by estimate in Node (no canvas), about a third wider than drawn: limits are generous.
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400, titleLimit: 400 },
  header: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
} as const;

/** A line per series: accuracy vs N, accuracy vs tau, a scalar vs training step. */
export function lineChart(rows: readonly ChartRow[], o: LineChartOptions): TopLevelSpec {
  return frame(rows, { type: 'line', point: o.points ?? true, tooltip: true }, xyEncoding(rows, o), o, o.facet);
}

/** One point per row, coloured by series: capacity vs H_LM. */
export function scatterChart(rows: readonly ChartRow[], o: ScatterChartOptions): TopLevelSpec {
  const tooltip = (o.tooltip ?? [o.x, o.y, ...(o.series ? [o.series] : [])]).map((f) => ({ field: f.field, title: f.title }));
  return frame(rows, { type: 'point', filled: true, opacity: 0.75 }, { ...xyEncoding(rows, o), tooltip }, o, o.facet);
}

/** Bars of given heights (already aggregated or counted), in data order. */
export function barChart(rows: readonly ChartRow[], o: BarChartOptions): TopLevelSpec {
  const category = { field: o.category.field, title: o.category.title, type: 'nominal', sort: null } as const;
  const value = {
    field: o.value.field, title: o.value.title, type: 'quantitative',
    ...(o.value.domain ? { scale: { domain: o.value.domain } } : {}), ...(o.value.integer ? { axis: INTEGER_AXIS } : {}),
  } as const;
  const group = o.group ? { field: o.group.field, title: o.group.title, type: 'nominal', sort: null } as const : undefined;
  const tooltip = [o.category, ...(o.group ? [o.group] : []), o.value].map((f) => ({ field: f.field, title: f.title }));
  const encoding: Encoding = o.horizontal
    ? { y: category, x: value, ...(group ? { yOffset: group, color: group } : {}), tooltip }
    : { x: { ...category, axis: { labelAngle: distinct(rows, o.category.field).length > SLANT_ABOVE ? -45 : 0 } }, y: value, ...(group ? { xOffset: group, color: group } : {}), tooltip };
  return frame(rows, { type: 'bar' }, encoding, o, undefined);
}

/** Counts of raw values in equal-width bins. */
export function histogramChart(rows: readonly ChartRow[], o: HistogramChartOptions): TopLevelSpec {
  const encoding: Encoding = {
    x: { field: o.value.field, title: o.value.title, type: 'quantitative', bin: { maxbins: o.maxBins ?? 30 } },
    y: { aggregate: 'count', title: o.countTitle ?? 'count', type: 'quantitative', axis: INTEGER_AXIS },
    ...(o.series ? { color: { field: o.series.field, title: o.series.title, type: 'nominal' } } : {}),
    tooltip: [{ aggregate: 'count', title: 'count', type: 'quantitative' }],
  };
  return frame(rows, { type: 'bar', binSpacing: 1 }, encoding, o, o.facet);
}

/** Integer ticks, labelled as integers: for counts, steps and token lengths. */
const INTEGER_AXIS = { tickMinStep: 1, format: 'd' } as const;

/**
 * Labels of an axis whose ticks vega picks: as vega formats them (precision from the tick step),
 * except that whole numbers show no decimals, a log axis shows 1e+12 rather than 13 digits, and
 * panels with their own scales (where one may hold a single value, which vega labels with the
 * precision of a zero step: "21.990887") round to 4 significant digits.
 */
function axisFormat(f: FieldRef, log: boolean, ownScales = false): { tickMinStep?: number; format?: string; tickCount?: number } {
  if (f.integer) return log ? { format: 'd' } : INTEGER_AXIS;
  if (log) return { format: '.0e', tickCount: 6 };
  return ownScales ? { format: '.4~g' } : {};
}

function xyEncoding(rows: readonly ChartRow[], o: XYChartOptions): Encoding {
  const xs = numbers(rows, o.x.field);
  // A log axis gets a tick at each value of the grid: its default ticks (4, 6, 8, 10, 12 …) hide the grid.
  const x = o.x.log
    ? { scale: { type: 'log' as const, base: 2 }, axis: { values: [...new Set(xs)], format: xs.every(Number.isInteger) ? 'd' : '~g' } }
    : { scale: { zero: false, ...padded(xs) }, axis: axisFormat(o.x, false) };
  const ys = numbers(rows, o.y.field);
  const yLog = o.y.log === true && ys.length > 0 && ys.every((v) => v > 0);
  const y = o.y.domain
    ? { scale: { domain: o.y.domain }, axis: axisFormat(o.y, false) }
    : { scale: yLog ? { type: 'log' } as const : { zero: false, ...padded(ys) }, axis: axisFormat(o.y, yLog, o.facet?.independentY === true) };
  return {
    x: { field: o.x.field, title: o.x.title, type: 'quantitative', ...x },
    y: { field: o.y.field, title: o.y.title, type: 'quantitative', ...y },
    ...(o.series ? { color: { field: o.series.field, title: o.series.title, type: 'nominal' } } : {}),
  };
}

/** The finite numbers of `field` in `rows`. */
function numbers(rows: readonly ChartRow[], field: string): number[] {
  return rows.map((r) => r[field]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

/**
 * A scale domain around a single value (every row equal): vega would label the lone tick with the
 * precision of a zero step ("8.000000", "21.990887"); a range of ±10% (±1 at 0) gets round ticks.
 * Faceted panels share the spec, so this pads only when the value is one across all of them.
 */
function padded(values: readonly number[]): { domain?: [number, number] } {
  if (values.length === 0 || values.some((v) => v !== values[0])) return {};
  const v = values[0];
  const pad = v === 0 ? 1 : Math.abs(v) / 10;
  return { domain: [v - pad, v + pad] };
}

/** Whether positive values span `decades` powers of ten or more: such a series reads only on a log axis. */
export function spansDecades(values: readonly number[], decades = 2): boolean {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  return positive.length === values.length && positive.length > 1 && Math.max(...positive) / Math.min(...positive) >= 10 ** decades;
}

/** The parts every chart has: inline data, panel size, optional facet, the shared look. */
function frame(rows: readonly ChartRow[], mark: Mark, encoding: Encoding, size: ChartSizeOptions, facet: FacetOptions | undefined): TopLevelSpec {
  return {
    data: { values: [...rows] },
    width: size.width ?? DEFAULT_WIDTH,
    height: size.height ?? DEFAULT_HEIGHT,
    mark,
    // Panels in data order (Vega-Lite would sort them by name).
    encoding: facet ? { ...encoding, facet: { field: facet.field, title: facet.title, type: 'nominal', columns: facet.columns ?? 3, sort: distinct(rows, facet.field).map(String) } } : encoding,
    ...(facet?.independentY ? { resolve: { scale: { y: 'independent' } } } : {}),
    config: LOOK,
  };
}

/** The values of `field` in `rows`, each once, in order of first appearance. */
function distinct(rows: readonly ChartRow[], field: string): (string | number | null)[] {
  return [...new Set(rows.map((r) => r[field]))];
}
