/** Summary statistics of plain number lists, used by every layer's reports. */

/** Mean, spread and order statistics of one numeric column; null fields when there are no rows. */
export interface Summary {
  mean: number | null;
  std: number | null;
  min: number | null;
  median: number | null;
  max: number | null;
}

/** Mean, population std, min, median and max of `values` (NaN entries skipped). */
export function summarize(values: ArrayLike<number>): Summary {
  const xs = Array.from(values).filter((v) => !Number.isNaN(v));
  if (xs.length === 0) return { mean: null, std: null, min: null, median: null, max: null };
  xs.sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(variance), min: xs[0], median: medianOfSorted(xs), max: xs[xs.length - 1] };
}

/** The median of ascending, non-empty `xs`: the middle value, or the mean of the two middle ones. */
export function medianOfSorted(xs: readonly number[]): number {
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Median of a list (0 for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  return medianOfSorted([...xs].sort((a, b) => a - b));
}
