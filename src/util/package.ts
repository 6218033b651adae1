/**
 * Where the installed package keeps its own files (configs/, models/) and which version it is.
 * Paths are found from this module's location, so they hold for a global install, `npx` and a
 * checkout alike.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrototokenError } from './errors.js';

/** The package root (dist/src/util/ -> ../../..), where configs/ and models/ live. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CONFIG_DIR = join(PACKAGE_ROOT, 'configs');

/** A preset name -> its file in configs/. */
export function presetFile(prefix: string, name: string): string {
  const file = join(CONFIG_DIR, `${prefix}-${name}.yaml`);
  if (!existsSync(file)) {
    const known = readdirSync(CONFIG_DIR).filter((f) => f.startsWith(`${prefix}-`)).map((f) => f.slice(prefix.length + 1).replace(/\.yaml$/, ''));
    // No file to name: the preset does not exist, and its would-be path is the package's, not the user's.
    throw new PrototokenError(`unknown preset "${name}" (there is no configs/${prefix}-${name}.yaml)`, { fix: `use one of: ${known.join(', ')}` });
  }
  return file;
}

/**
 * The version of prototoken, recorded in what it writes (datasets) so an output can be traced back
 * to the code that made it. Read from package.json next to the compiled package.
 */
let cached: string | undefined;

/** `version` of prototoken's package.json, or 'unknown' when it cannot be found. */
export function softwareVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  // Compiled layout: dist/src/util/package.js -> ../../../package.json; source layout: ../../package.json.
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

