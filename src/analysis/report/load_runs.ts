/**
 * Encoder runs: TensorBoard event folders (the learning curves) and checkpoint folders (where the
 * run stands: step, best validation value). A resumed run adds an event file and replays the steps
 * after its last snapshot, so for a (tag, step) the later file wins, as TensorBoard shows it.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { CHECKPOINT_FORMAT } from '../../encoder/checkpoint.js';
import { exists } from '../../util/fs_atomic.js';
import { PrototokenError } from '../../util/errors.js';
import { readTfEvents } from '../../util/tfevents.js';
import { checkJson, isObject, readJson } from './json_input.js';
import type { LoadedInput, ScalarPoint, SnapshotInfo } from './types.js';

const EVENT_FILE = /^events\.out\.tfevents\./;

/** Whether `name` is a TensorBoard event file name. */
export function isEventFile(name: string): boolean {
  return EVENT_FILE.test(name);
}

/** The event files of `dir`, sorted by name. */
export async function eventFilesIn(dir: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch((): string[] => []);
  return names.filter(isEventFile).sort().map((n) => path.join(dir, n));
}

/** A run's scalars from one event file or every event file of a folder (CRC-checked). */
export async function loadEventsRun(p: string, isFolder: boolean): Promise<Extract<LoadedInput, { kind: 'events' }>> {
  const files = isFolder ? await eventFilesIn(p) : [p];
  const read = await Promise.all(files.map(async (f) => ({ f, events: await readTfEvents(f) })));
  // Writing order, not name order: names start with whole seconds, so two files of one second tie.
  read.sort((a, b) => (a.events[0]?.wallTime ?? 0) - (b.events[0]?.wallTime ?? 0));
  const byKey = new Map<string, ScalarPoint>();
  let dropped = 0;
  for (const { events } of read) {
    for (const ev of events) {
      for (const v of ev.values) {
        if (!Number.isFinite(v.value)) {
          dropped++;
          continue;
        }
        byKey.set(JSON.stringify([v.tag, ev.step]), { tag: v.tag, step: ev.step, value: v.value });
      }
    }
  }
  const scalars = [...byKey.values()].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : a.step - b.step));
  const tags = new Set(scalars.map((s) => s.tag));
  const folder = isFolder ? path.resolve(p) : path.dirname(path.resolve(p));
  // train's default log folder is RUN/logs: the run is named by its parent.
  const run = path.basename(folder) === 'logs' ? path.basename(path.dirname(folder)) : path.basename(folder);
  return {
    kind: 'events',
    path: p,
    run,
    what: `TensorBoard run "${run}": ${files.length} event file(s), ${tags.size} scalar tag(s), ${scalars.length} values`,
    warnings: [
      ...(scalars.length === 0 ? ['no scalar values in the event files (the run stopped before its first log step?)'] : []),
      ...(dropped ? [`${dropped} NaN or infinite values left out of the curves`] : []),
    ],
    scalars,
  };
}

const metaSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  spec: z.object({ kind: z.string() }).loose(),
  trainN: z.number().int(),
  step: z.number().int(),
  metric: z.object({ name: z.string(), value: z.number().nullable() }),
}).loose();

const stateSchema = z.object({
  step: z.number().int(),
  best: z.object({ value: z.number(), step: z.number().int() }).nullable(),
  seconds: z.number(),
}).loose();

const SNAPSHOTS = ['best', 'last'] as const;

/** The snapshot folders of a checkpoint path: the path itself when it is one, else its best/ and last/ (or their `.old` halves of a swap). */
export async function snapshotDirs(dir: string): Promise<{ name: string; dir: string }[]> {
  if (await exists(path.join(dir, 'encoder.json'))) return [{ name: path.basename(dir), dir }];
  const out: { name: string; dir: string }[] = [];
  for (const name of SNAPSHOTS) {
    for (const d of [path.join(dir, name), path.join(dir, `${name}.old`)]) {
      if (await exists(path.join(d, 'encoder.json'))) {
        out.push({ name, dir: d });
        break;
      }
    }
  }
  return out;
}

/** A checkpoint run's snapshots, and where its training config says the event files went (`logdir`). */
export async function loadCheckpointRun(dir: string): Promise<Extract<LoadedInput, { kind: 'checkpoint' }>> {
  const dirs = await snapshotDirs(dir);
  if (dirs.length === 0) throw new PrototokenError('no encoder.json here nor in best/ or last/', { file: dir, fix: 'pass checkpoints/RUN written by `prototoken train`' });
  const snapshots: SnapshotInfo[] = [];
  let logdir: string | null = null;
  for (const s of dirs) {
    const file = path.join(s.dir, 'encoder.json');
    const meta = checkJson(metaSchema, await readJson(file), file, 'encoder checkpoint encoder.json');
    const stateFile = path.join(s.dir, 'train_state.json');
    const state = (await exists(stateFile)) ? checkJson(stateSchema, await readJson(stateFile), stateFile, 'train_state.json') : null;
    snapshots.push({ snapshot: s.name, encoder: meta.spec.kind, trainN: meta.trainN, step: meta.step, metric: meta.metric, best: state?.best ?? null, seconds: state?.seconds ?? null });
    logdir ??= await recordedLogdir(path.join(s.dir, 'config.json'));
  }
  // checkpoints/RUN/best given directly: the run is the parent folder.
  const runDir = dirs.length === 1 && dirs[0].dir === dir ? path.dirname(path.resolve(dir)) : path.resolve(dir);
  const run = path.basename(runDir);
  return { kind: 'checkpoint', path: dir, run, what: `encoder checkpoint run "${run}": ${snapshots.map((s) => `${s.snapshot} at step ${s.step}`).join(', ')}`, warnings: [], snapshots, logdir };
}

/** `logdir` of the training config (recorded by train), or `runs/NAME` for configs of older versions without it; relative to the current folder, as train resolved it. */
async function recordedLogdir(configFile: string): Promise<string | null> {
  if (!(await exists(configFile))) return null;
  const config = await readJson(configFile);
  if (!isObject(config)) return null;
  if (typeof config.logdir === 'string') return config.logdir;
  return typeof config.name === 'string' ? path.join('runs', config.name) : null;
}
