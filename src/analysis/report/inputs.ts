/**
 * Recognising what each report input is by its content, and loading it:
 *
 *   file events.out.tfevents.*            one TensorBoard event file
 *   file *.json                           a result.json (by its `kind`), `eval --json` (has `methods`)
 *                                         or `capacity --json` (has `table` and `texts`)
 *   folder with result.json               that result
 *   folder with dataset_info.json, data.arrow or part-*.arrows   a solution dataset
 *   folder with events.out.tfevents.*     a TensorBoard run (runs/RUN)
 *   folder with encoder.json, best/ or last/   an encoder checkpoint run (checkpoints/RUN)
 *   folder of such folders                each of them (a capacity --out with several runs, runs/)
 *
 * Anything else is a PrototokenError naming the input and listing what is accepted.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PrototokenError, errorMessage } from '../../util/errors.js';
import { exists } from '../../util/fs_atomic.js';
import { RESULT_VERSION } from '../results.js';
import { ACCEPTED_INPUTS, checkJson, isObject, readJson } from './json_input.js';
import { isDatasetFolder, loadDataset } from './load_datasets.js';
import { eventFilesIn, isEventFile, loadCheckpointRun, loadEventsRun, snapshotDirs } from './load_runs.js';
import { RESULT_SCHEMAS, type ResultKind, capacitySummarySchema, evalSummarySchema, isResultKind } from './schemas.js';
import type { LoadedInput } from './types.js';

/** How inputs are read. */
export interface LoadInputsOptions {
  /** Verify dataset checksums while reading. Default true. */
  verify?: boolean;
  /**
   * For a checkpoint run, also load the TensorBoard folder its training config names (`logdir`, or
   * runs/NAME, relative to the current folder as `train` wrote it) when that exists and was not
   * given. Default true.
   */
  followLogdir?: boolean;
}

const RESULT_FILE = 'result.json';

/** Load every input, in order; a path given twice (or reached twice) is loaded once. */
export async function loadInputs(paths: readonly string[], options: LoadInputsOptions = {}): Promise<LoadedInput[]> {
  const ctx: LoadContext = { verify: options.verify ?? true, seen: new Set(), logdirs: [] };
  const out: LoadedInput[] = [];
  for (const p of paths) out.push(...(await loadPath(p, ctx, true)));
  if (options.followLogdir ?? true) {
    for (const { logdir, from } of ctx.logdirs) {
      if (!(await exists(logdir)) || (await eventFilesIn(logdir)).length === 0 || ctx.seen.has(await fsp.realpath(logdir))) continue;
      for (const input of await loadPath(logdir, ctx, false)) out.push({ ...input, what: `${input.what} (the log folder of ${from})` });
    }
  }
  return out;
}

interface LoadContext {
  verify: boolean;
  /** Real paths loaded so far. */
  seen: Set<string>;
  /** Log folders named by the checkpoint runs loaded so far. */
  logdirs: { logdir: string; from: string }[];
}

async function loadPath(p: string, ctx: LoadContext, top: boolean): Promise<LoadedInput[]> {
  let stat;
  try {
    stat = await fsp.stat(p);
  } catch (err) {
    throw new PrototokenError(`cannot open this input (${errorMessage(err)})`, { file: p, fix: ACCEPTED_INPUTS });
  }
  const real = await fsp.realpath(p);
  if (ctx.seen.has(real)) return [];
  ctx.seen.add(real);
  if (stat.isFile()) {
    if (path.basename(p) === RESULT_FILE) ctx.seen.add(await fsp.realpath(path.dirname(p)));
    if (isEventFile(path.basename(p))) return [await loadEventsRun(p, false)];
    if (path.extname(p).toLowerCase() === '.json') return [fromJson(await readJson(p), p)];
    throw notAnInput(p, 'a file that is neither JSON (*.json) nor a TensorBoard event file (events.out.tfevents.*)');
  }
  if (!stat.isDirectory()) throw notAnInput(p, 'neither a file nor a folder');
  const resultFile = path.join(p, RESULT_FILE);
  if (await exists(resultFile)) {
    // DIR and DIR/result.json are the same input.
    const realFile = await fsp.realpath(resultFile);
    if (ctx.seen.has(realFile)) return [];
    ctx.seen.add(realFile);
    return [fromJson(await readJson(resultFile), resultFile)];
  }
  if (await isDatasetFolder(p)) return [await loadDataset(p, ctx.verify)];
  if ((await eventFilesIn(p)).length > 0) return [await loadEventsRun(p, true)];
  if ((await snapshotDirs(p)).length > 0) {
    const input = await loadCheckpointRun(p);
    if (input.logdir) ctx.logdirs.push({ logdir: input.logdir, from: p });
    return [input];
  }
  if (top) {
    const inside = await recognisedSubfolders(p);
    if (inside.length > 0) {
      const out: LoadedInput[] = [];
      for (const sub of inside) out.push(...(await loadPath(sub, ctx, false)));
      return out;
    }
  }
  throw notAnInput(p, top ? 'a folder with no report input in it nor in the folders directly inside it' : 'a folder with no report input in it');
}

/** The folders directly inside `dir` that are inputs themselves, sorted by name. */
async function recognisedSubfolders(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const sub = path.join(dir, e.name);
    const recognised = (await exists(path.join(sub, RESULT_FILE))) || (await isDatasetFolder(sub)) || (await eventFilesIn(sub)).length > 0 || (await snapshotDirs(sub)).length > 0;
    if (recognised) out.push(sub);
  }
  return out;
}

/** A JSON input, recognised by its shape. */
function fromJson(value: unknown, file: string): LoadedInput {
  if (!isObject(value)) throw notAnInput(file, `JSON ${Array.isArray(value) ? 'array' : typeof value}, not an object`);
  if ('kind' in value) {
    if (!isResultKind(value.kind)) {
      throw notAnInput(file, `a result of unknown kind ${JSON.stringify(value.kind)} (known: ${Object.keys(RESULT_SCHEMAS).join(', ')})`);
    }
    if (value.version !== RESULT_VERSION) {
      throw new PrototokenError(`a ${value.kind} result of version ${JSON.stringify(value.version)}; this prototoken reads version ${RESULT_VERSION}`, {
        file,
        fix: `rerun \`prototoken ${value.kind}\` with this version, or report with the version that wrote it`,
      });
    }
    return resultInput(value.kind, value, file);
  }
  if (Array.isArray(value.methods)) {
    const summary = checkJson(evalSummarySchema, value, file, '`prototoken eval --json` output');
    return { kind: 'eval', path: file, what: `eval of ${summary.checkpoint}: ${summary.methods.length} methods on ${summary.texts} texts of N=${summary.N} (${summary.source}, split ${summary.split})`, warnings: [], summary };
  }
  if (Array.isArray(value.table) && Array.isArray(value.texts)) {
    const summary = checkJson(capacitySummarySchema, value, file, '`prototoken capacity --json` output');
    return {
      kind: 'capacity-summary',
      path: file,
      what: `capacity summary of ${summary.out}: ${summary.texts.length} texts in ${summary.table.length} (source, m) runs`,
      warnings: summary.interrupted ? ['the capacity run was interrupted: some texts are missing'] : [],
      run: summary.out,
      capacity: summary.texts,
    };
  }
  throw notAnInput(file, 'a JSON object of no known shape (no `kind`, `methods`, or `table` and `texts`)');
}

function resultInput(kind: ResultKind, value: unknown, file: string): LoadedInput {
  const base = { path: file, warnings: [] };
  const what = (s: string): string => `${kind} result (${s})`;
  switch (kind) {
    case 'interpolate': {
      const result = checkJson(RESULT_SCHEMAS.interpolate, value, file, 'interpolate result.json');
      return { ...base, kind, result, what: what(`${result.pairs.length} pairs, ${result.taus.length} taus, dataset ${result.dataset}`) };
    }
    case 'distances': {
      const result = checkJson(RESULT_SCHEMAS.distances, value, file, 'distances result.json');
      return { ...base, kind, result, what: what(result.groups.map((g) => `${g.pairs} ${g.type} pairs`).join(', ')) };
    }
    case 'arrangements': {
      const result = checkJson(RESULT_SCHEMAS.arrangements, value, file, 'arrangements result.json');
      return { ...base, kind, result, what: what(`${new Set(result.rows.map((r) => r.arrangement)).size} arrangements, ${result.rows.length} rows`) };
    }
    case 'sharing': {
      const result = checkJson(RESULT_SCHEMAS.sharing, value, file, 'sharing result.json');
      return { ...base, kind, result, what: what(`N=${result.N}, ${result.rows.length} rows`) };
    }
  }
}

function notAnInput(file: string, what: string): PrototokenError {
  return new PrototokenError(`not a report input: ${what}`, { file, fix: ACCEPTED_INPUTS });
}
