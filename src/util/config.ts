/**
 * Layered configuration: schema defaults <- preset/--config file <- command-line flags.
 * Every layer is validated by one strict zod schema per command, so an unknown or mistyped key
 * is an error naming where it came from, never silently ignored. Messages name a setting the way
 * the user wrote it: `--max-steps` for a flag, `max_steps` (or however the file spells it) for a
 * file key.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PrototokenError } from './errors.js';

/** One source of settings, named for error messages (a file path, "command-line flags", ...). */
export interface ConfigLayer {
  source: string;
  values: Record<string, unknown>;
  /**
   * How the user typed each key of `values`, when that is not the key itself: the flag for a value
   * that came from the command line (`maxSteps` -> `--max-steps`).
   */
  spelled?: Readonly<Record<string, string>>;
}

/** Read a YAML or JSON object from a file. */
export function readConfigFile(path: string): ConfigLayer {
  const stat = statOrNull(path);
  if (!stat) throw new PrototokenError('config file not found', { file: path, fix: 'check the path given to --config' });
  if (stat.isDirectory()) throw new PrototokenError('this is a folder, not a config file', { file: path, fix: 'pass a YAML or JSON file to --config' });
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8')); // YAML is a superset of JSON
  } catch (err) {
    throw new PrototokenError(`not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, {
      file: path,
      fix: 'fix the syntax of the config file',
    });
  }
  if (parsed === null || parsed === undefined) return { source: path, values: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PrototokenError('a config file must hold one mapping of key: value', { file: path, fix: 'write one `key: value` per line (YAML) or one JSON object' });
  }
  return { source: path, values: parsed as Record<string, unknown> };
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** A snake_case, kebab-case or camelCase key -> camelCase, the schemas' spelling. */
export function camelKey(key: string): string {
  return key.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A camelCase key -> snake_case, the spelling of config files and of printed JSON. */
export function snakeKey(key: string): string {
  return /^[a-z][a-zA-Z0-9]*$/.test(key) ? key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() : key;
}

/** A camelCase key -> its command-line flag. */
export function flagOf(key: string): string {
  return '--' + snakeKey(key).replace(/_/g, '-');
}

/** snake_case and kebab-case keys -> camelCase, so files may use either. */
export function camelKeys(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[camelKey(k)] = v;
  return out;
}

/**
 * Keys renamed so that one concept has one spelling across commands (old camelCase key -> new). The
 * old spelling still works, as a flag and as a config-file key, with a one-line note; a rename
 * applies only to a schema that has the new key and not the old one, so `score --max-tokens` (the
 * prefix scored) and the solver's `--max-steps` (each text's step budget) keep their names.
 */
export const RENAMED_KEYS: Readonly<Record<string, string>> = {
  /** score --batch-size: every other command says --batch. */
  batchSize: 'batch',
  /** generate-corpus --max-tokens: tokens to generate are --max-new-tokens, as in `generate` and Hugging Face. */
  maxTokens: 'maxNewTokens',
  /** info --sample-tokens: the same. */
  sampleTokens: 'maxNewTokens',
  /** train --max-steps: train's stop step, not the solver's per-text budget --max-steps. */
  maxSteps: 'stopAtStep',
};

/** What resolveConfig reports besides errors. */
export interface ResolveOptions {
  /** One line per old spelling used (see RENAMED_KEYS). */
  onNote?: (line: string) => void;
}

/** Where a merged key's value came from, for messages. */
interface Origin {
  layer: ConfigLayer;
  /** As the user wrote it: `--max-steps` or `max_steps`. */
  written: string;
}

/**
 * Merge layers in order (later wins) and validate the result. Each layer is first checked on its
 * own against the strict schema's keys, so an unknown key is reported with its source.
 */
export function resolveConfig<S extends z.ZodObject>(schema: S, layers: readonly ConfigLayer[], options: ResolveOptions = {}): z.infer<S> {
  const known = new Set(Object.keys(schema.shape));
  const merged: Record<string, unknown> = {};
  const origin = new Map<string, Origin>();
  for (const layer of layers) {
    for (const [raw, value] of Object.entries(layer.values)) {
      const key = renamed(camelKey(raw), known, layer, raw, options);
      if (!known.has(key)) {
        throw new PrototokenError(`unknown config key "${raw}"`, {
          file: layer.source,
          fix: `remove it; known keys: ${[...known].map(snakeKey).join(', ')}`,
        });
      }
      if (value !== undefined) {
        merged[key] = value;
        origin.set(key, { layer, written: layer.spelled?.[raw] ?? raw });
      }
    }
  }
  const result = schema.strict().safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const top = String(issue.path[0]);
    const from = origin.get(top);
    const rest = issue.path.slice(1).map(String);
    if (issue.path.length === 1 && merged[top] === undefined) {
      const key = snakeKey(top);
      throw new PrototokenError(`missing required setting "${key}"`, { fix: `pass ${flagOf(top)} or set ${key} in the --config file` });
    }
    if (from && from.written.startsWith('--')) {
      // Typed on the command line: name the flag and the value as typed.
      const shown = typeof merged[top] === 'object' ? JSON.stringify(merged[top]) : String(merged[top]);
      throw new PrototokenError(`bad value for "${[snakeKey(top), ...rest].join('.')}": ${issue.message}`, {
        file: `${from.written} ${shown}`,
        fix: `pass another value to ${from.written}`,
      });
    }
    const written = [from?.written ?? snakeKey(top), ...rest].join('.');
    throw new PrototokenError(`bad value for "${written}": ${issue.message}`, {
      file: from?.layer.source ?? 'defaults',
      fix: from ? `correct ${from.written} in this file` : 'correct the value',
    });
  }
  return result.data as z.infer<S>;
}

/** The key an old spelling now has (with a note), or `key` itself. */
function renamed(key: string, known: ReadonlySet<string>, layer: ConfigLayer, raw: string, options: ResolveOptions): string {
  const now = RENAMED_KEYS[key];
  if (known.has(key) || now === undefined || !known.has(now)) return key;
  const written = layer.spelled?.[raw] ?? raw;
  const fromFlag = written.startsWith('--');
  const newName = fromFlag ? flagOf(now) : snakeKey(now);
  if (Object.keys(layer.values).some((k) => camelKey(k) === now && layer.values[k] !== undefined)) {
    throw new PrototokenError(`${written} and ${newName} name the same setting`, { file: fromFlag ? undefined : layer.source, fix: `give only ${newName}` });
  }
  options.onNote?.(fromFlag ? `${written} is now ${newName} (the old spelling still works)` : `${layer.source}: "${raw}" is now "${newName}" (the old key still works)`);
  return now;
}
