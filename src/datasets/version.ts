/**
 * The version of prototoken that writes a dataset, recorded so a dataset can be traced back to
 * the code that made it. Read from package.json next to the compiled package.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** `version` of prototoken's package.json, or 'unknown' when it cannot be found. */
export function softwareVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  // Compiled layout: dist/src/datasets/version.js -> ../../../package.json; source layout: ../../package.json.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'prototoken' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // Try the next layout.
    }
  }
  return cached;
}
