/**
 * A training run's folder, <checkpointsDir>/<name> (best/, last/, and logs/ unless --logdir says
 * otherwise), and what a run writes into it for sharing. A run never destroys what it did not
 * create: an existing run is continued only with --resume and replaced only with --overwrite,
 * and a folder holding anything else is never written into. Paths in a snapshot's config.json are
 * portable: as typed, never resolved to this machine's absolute paths.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { portableModelName, portablePath } from '../lm/model_name.js';
import { PrototokenError } from '../util/errors.js';
import { exists } from '../util/fs_atomic.js';
import { checkOutputFolder } from '../util/output_paths.js';
import type { TrainConfig } from './config.js';

/** How a run is opened (train's --resume and --overwrite). */
export interface TrainRunOptions {
  /** Continue the run in <checkpointsDir>/<name>/last exactly where it stopped. Default false: a new run. */
  resume?: boolean;
  /** Replace an existing run of that name (its best/, last/ and the logs in its folder). Default false: refused. */
  overwrite?: boolean;
}

/** The run's folder: <checkpointsDir>/<name>. */
export function runDirOf(config: Pick<TrainConfig, 'checkpointsDir' | 'name'>): string {
  return path.join(config.checkpointsDir, config.name);
}

/** The TensorBoard folder: --logdir, else logs/ in the run's folder. */
export function logdirOf(config: Pick<TrainConfig, 'checkpointsDir' | 'name' | 'logdir'>): string {
  return config.logdir ?? path.join(runDirOf(config), 'logs');
}

/**
 * A run never destroys what it did not create: a run folder holding a snapshot (best/ or last/,
 * e.g. a shipped checkpoint with only best/) is continued only with `resume` and replaced only with
 * `overwrite`, and a folder holding anything else is never written into. The output folders must
 * be writable, checked now rather than at the first snapshot.
 */
export async function checkRunOutputs(config: TrainConfig, opts: TrainRunOptions): Promise<void> {
  if (opts.resume && opts.overwrite) throw new PrototokenError('--resume continues a run and --overwrite replaces it', { fix: 'pass one of them' });
  const runDir = runDirOf(config);
  await checkOutputFolder(config.checkpointsDir, '--checkpoints-dir');
  await checkOutputFolder(runDir, '--name');
  await checkOutputFolder(logdirOf(config), '--logdir');
  const snapshots = await snapshotsIn(runDir);
  if (opts.resume) {
    if (!snapshots.includes('last')) throw new PrototokenError('nothing to resume: no last/ snapshot', { file: path.join(runDir, 'last'), fix: 'drop --resume to start the run' });
    return;
  }
  if (snapshots.length > 0 && !opts.overwrite) {
    throw new PrototokenError(`a run named "${config.name}" already exists`, { file: runDir, fix: 'pass --resume to continue it, --overwrite to replace it, or choose another --name' });
  }
  const other = (await fsp.readdir(runDir).catch((): string[] => [])).filter((e) => !RUN_ENTRY.test(e));
  if (snapshots.length === 0 && other.length > 0) {
    throw new PrototokenError(`this folder exists and is not a training run (it holds ${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''})`, {
      file: runDir,
      fix: 'choose another --name or --checkpoints-dir',
    });
  }
}

/**
 * What a run folder holds: its snapshots (and their halves of a swap, or temporary folders), logs/,
 * and a README.md saying how its inputs were made (a run shared to be resumed elsewhere).
 */
const RUN_ENTRY = /^(best|last)(\.old)?$|^\.(best|last)\.tmp-\d+$|^logs$|^README\.md$/;

/** The snapshots in a run folder, `.old` halves of a swap included. */
async function snapshotsIn(runDir: string): Promise<('best' | 'last')[]> {
  const out: ('best' | 'last')[] = [];
  for (const kind of ['best', 'last'] as const) {
    if ((await exists(path.join(runDir, kind, 'encoder.json'))) || (await exists(path.join(runDir, `${kind}.old`, 'encoder.json')))) out.push(kind);
  }
  return out;
}

/** --overwrite: remove the replaced run's snapshots, and its logs when they are in its folder. */
export async function removeRun(config: TrainConfig): Promise<void> {
  const runDir = runDirOf(config);
  for (const e of ['best', 'last', 'best.old', 'last.old']) await fsp.rm(path.join(runDir, e), { recursive: true, force: true });
  if (config.logdir === null) await fsp.rm(path.join(runDir, 'logs'), { recursive: true, force: true });
}

/** Keys of the train config that hold paths. */
const PATH_KEYS = ['checkpointsDir', 'logdir', 'texts', 'dataset', 'm', 'initFrom'];

/**
 * A train config (this run's, or one a checkpoint saved, maybe by an older version) with its paths
 * as a checkpoint records them for sharing: as typed, an absolute one relative to the working
 * folder; the model by its portable name. Keys it lacks stay absent (the recipe's old values).
 */
export function portablePaths(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  if (typeof out.model === 'string') out.model = portableModelName(out.model);
  for (const k of PATH_KEYS) {
    const v = out[k];
    if (typeof v === 'string') out[k] = portablePath(v);
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? portablePath(x) : x));
  }
  return out;
}

/** The config a snapshot records: portable paths, and the log folder that was used. */
export function savedTrainConfig(config: TrainConfig): Record<string, unknown> {
  return { ...portablePaths(config), logdir: portablePath(logdirOf(config)) };
}
