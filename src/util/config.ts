/**
 * Layered configuration: schema defaults <- preset/--config file <- command-line flags.
 * Every layer is validated by one strict zod schema per command, so an unknown or mistyped key
 * is an error naming where it came from, never silently ignored.
 */
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PrototokenError } from './errors.js';

/** One source of settings, named for error messages (a file path, "--flags", ...). */
export interface ConfigLayer {
  source: string;
  values: Record<string, unknown>;
}

/** Read a YAML or JSON object from a file. */
export function readConfigFile(path: string): ConfigLayer {
  if (!existsSync(path)) {
    throw new PrototokenError('config file not found', { file: path, fix: 'check the path given to --config' });
  }
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
    throw new PrototokenError('a config file must hold one mapping of key: value', { file: path });
  }
  return { source: path, values: parsed as Record<string, unknown> };
}

/** snake_case and kebab-case keys -> camelCase, so files may use either. */
export function camelKeys(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/**
 * Merge layers in order (later wins) and validate the result. Each layer is first checked on its
 * own against the strict schema's keys, so an unknown key is reported with its source.
 */
export function resolveConfig<S extends z.ZodObject>(schema: S, layers: readonly ConfigLayer[]): z.infer<S> {
  const known = new Set(Object.keys(schema.shape));
  const merged: Record<string, unknown> = {};
  const spelled = new Map<string, string>(); // camelCase key -> as the user wrote it
  for (const layer of layers) {
    for (const [raw, value] of Object.entries(layer.values)) {
      const key = Object.keys(camelKeys({ [raw]: null }))[0];
      if (!known.has(key)) {
        throw new PrototokenError(`unknown config key "${raw}"`, {
          file: layer.source,
          fix: `remove it; known keys: ${[...known].join(', ')}`,
        });
      }
      if (value !== undefined) {
        merged[key] = value;
        spelled.set(key, raw);
      }
    }
  }
  const result = schema.strict().safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = [spelled.get(String(issue.path[0])) ?? String(issue.path[0]), ...issue.path.slice(1)].join('.');
    if (issue.path.length === 1 && merged[String(issue.path[0])] === undefined) {
      const flag = '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      throw new PrototokenError(`missing required setting "${key}"`, { fix: `pass ${flag} or set ${key} in the --config file` });
    }
    const from = [...layers].reverse().find((l) => String(issue.path[0]) in camelKeys(l.values))?.source ?? 'defaults';
    throw new PrototokenError(`bad value for "${key}": ${issue.message}`, { file: from, fix: 'correct the value' });
  }
  return result.data as z.infer<S>;
}
