/**
 * What every command shares: the global options, the layered config (schema defaults, presets,
 * --config, flags), printing the summary, and the argument parsers.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { BACKEND_CHOICES } from '../backend/index.js';
import { type ConfigLayer, camelKey, readConfigFile, resolveConfig, snakeKey } from '../util/config.js';
import { PrototokenError } from '../util/errors.js';

/** Options that steer the run but are not part of the recorded config. */
const NON_CONFIG_OPTIONS = new Set(['config', 'printConfig', 'json', 'preset', 'quiet', 'resume', 'overwrite']);

/**
 * Of those, the ones a --config file may set too (a flag typed still wins): a file can build on a
 * preset, and ask for quiet or JSON output or a resume like the flags do.
 */
const STEERING_IN_FILE: Readonly<Record<string, 'string' | 'boolean'>> = { preset: 'string', quiet: 'boolean', json: 'boolean', resume: 'boolean' };

/** Flags that make no sense in a config file, and why. */
const NEVER_IN_FILE: Readonly<Record<string, string>> = {
  config: 'a config file cannot name another config file',
  printConfig: 'print_config asks one invocation to print its config; pass --print-config',
};

/** Add the options every command that runs a model takes. */
export function withCommonOptions(cmd: Command): Command {
  return withConfigOptions(cmd
    .option('--model <dir|org/name>', 'Hugging Face model folder or hub id (default: the embedded stories260k)')
    .option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join('|')} (default auto)`)
    .option('--seed <n>', 'random seed', toInt));
}

/** Add the config and output options (also for commands that run no model). */
export function withConfigOptions(cmd: Command, quietHelp = 'no progress output'): Command {
  return cmd
    .option('--config <file>', 'YAML/JSON config file (flags override it)')
    .option('--print-config', 'print the resolved config and exit')
    .option('--json', 'print the final summary as one JSON object on stdout')
    .option('--quiet', quietHelp);
}

/**
 * Resolve the command's config: schema defaults <- preset files <- --config <- flags given on the
 * command line (only those explicitly typed, so a preset is not overridden by a flag's default).
 */
export function commandConfig<S extends z.ZodObject>(cmd: Command, schema: S, presets: readonly string[] = []): z.infer<S> {
  const layers: ConfigLayer[] = presets.map((p) => readConfigFile(p));
  const file = configFileOf(cmd);
  if (file) layers.push(file);
  const opts = cmd.opts<Record<string, unknown>>();
  const flags: Record<string, unknown> = {};
  const spelled: Record<string, string> = {};
  for (const [key, value] of Object.entries(opts)) {
    if (NON_CONFIG_OPTIONS.has(key) || cmd.getOptionValueSource(key) !== 'cli') continue;
    flags[key] = value;
    // Messages name the flag the user typed, not the schema's key.
    const flag = cmd.options.find((o) => o.attributeName() === key)?.long;
    if (flag) spelled[key] = flag;
  }
  layers.push({ source: 'command-line flags', values: flags, spelled });
  const quiet = opts.quiet === true;
  return resolveConfig(schema, layers, { onNote: quiet ? undefined : (line) => process.stderr.write(`note: ${line}\n`) });
}

/**
 * The --config file's layer, without the steering keys it may hold (STEERING_IN_FILE): those are
 * set on `cmd` as if typed, unless the flag itself was typed.
 */
function configFileOf(cmd: Command): ConfigLayer | null {
  const path = cmd.opts<{ config?: unknown }>().config;
  if (typeof path !== 'string') return null;
  const layer = readConfigFile(path);
  const values: Record<string, unknown> = {};
  for (const [raw, value] of Object.entries(layer.values)) {
    const key = camelKey(raw);
    if (key in NEVER_IN_FILE) throw new PrototokenError(`"${raw}" cannot be set in a config file: ${NEVER_IN_FILE[key]}`, { file: path, fix: `remove ${raw} from the file` });
    const kind = STEERING_IN_FILE[key];
    if (kind === undefined || !cmd.options.some((o) => o.attributeName() === key)) {
      values[raw] = value; // a config key, or a steering flag this command lacks (an unknown key then)
      continue;
    }
    if (typeof value !== kind) throw new PrototokenError(`bad value for "${raw}": expected ${kind === 'boolean' ? 'true or false' : 'a name'}`, { file: path, fix: `correct ${raw} in this file` });
    if (cmd.getOptionValueSource(key) !== 'cli') cmd.setOptionValueWithSource(key, value, 'config');
  }
  return { source: path, values };
}

/** --preset NAME, or the --config file's `preset: NAME` (under the file, like the flag). */
export function presetName(cmd: Command): string | undefined {
  configFileOf(cmd);
  const preset = cmd.opts<{ preset?: unknown }>().preset;
  return typeof preset === 'string' ? preset : undefined;
}

/**
 * The old spelling of a renamed flag (util/config.ts RENAMED_KEYS): hidden from --help, still
 * parsed; commandConfig maps it to the new key and prints a note.
 */
export function renamedFlag(flags: string, now: string, parse?: (value: string) => unknown): Option {
  const option = new Option(flags, `old spelling of ${now}`).hideHelp();
  return parse ? option.argParser(parse) : option;
}

/**
 * Show each option's default in --help, taken from the schema that resolves it (the one place
 * defaults live): "(default 64)". An option whose help already says its default keeps its own
 * words (they explain a null: "default: all texts"), and a switch is off unless given.
 */
export function showDefaults<C extends Command>(cmd: C, schema: z.ZodObject): C {
  for (const option of cmd.options) {
    if (option.hidden || /\bdefault\b/.test(option.description)) continue;
    const field = (schema.shape as Record<string, z.ZodType | undefined>)[option.attributeName()];
    const parsed = field?.safeParse(undefined);
    if (!parsed?.success || parsed.data === undefined || parsed.data === null || (Array.isArray(parsed.data) && parsed.data.length === 0)) continue;
    if (!option.required && !option.optional) continue; // a switch
    option.description += ` (default ${Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data)})`;
  }
  return cmd;
}

/**
 * Top-level keys whose value is printed as it is: the analysis commands' `result` is their
 * result.json, a file format of its own (analysis/results.ts, read back by `report`), and --json
 * prints exactly what was written.
 */
const VERBATIM_KEYS: ReadonlySet<string> = new Set(['result']);

/**
 * A value as the tool prints it: every object key in snake_case, like the YAML configs, the Arrow
 * columns and eval/score --json (`readFrom` -> `read_from`). Keys that are data, not names (text
 * ids, N, "train/loss"), are left alone: only lowerCamelCase identifiers change.
 */
export function snakeJson(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeJson(v, false));
  if (value === null || typeof value !== 'object' || ![Object.prototype, null].includes(Object.getPrototypeOf(value))) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const converted = top && VERBATIM_KEYS.has(k) ? v : snakeJson(v, false);
    out[snakeKey(k)] = converted;
  }
  return out;
}

/** One JSON line on stdout, in snake_case (snakeJson). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(snakeJson(value)) + '\n');
}

/** When --print-config is given: print the config and report that the command should stop. */
export function printConfigIfAsked(cmd: Command, config: object): boolean {
  if (!cmd.opts<{ printConfig?: boolean }>().printConfig) return false;
  process.stdout.write(JSON.stringify(snakeJson(config), null, 2) + '\n');
  return true;
}

/** Commander argument parsers with readable errors. */
export function toInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
}

export function toFloat(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

/** Print the summary: JSON on stdout with --json, else the human text. */
export function report(cmd: Command, json: object, text: string): void {
  if (cmd.opts<{ json?: boolean }>().json) printJson(json);
  else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
