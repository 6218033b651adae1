/** Aligned plain-text tables for terminal output. */

/** Left-aligned columns (right-aligned where `right[i]`), two spaces apart, indented by two. */
export function formatTable(rows: readonly (readonly string[])[], right: readonly boolean[] = []): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ')}`.trimEnd());
}
