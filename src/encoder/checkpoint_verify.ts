/**
 * `prototoken verify CHECKPOINT`: every file of every snapshot of a run (or of one snapshot folder)
 * against the sha256 recorded in its encoder.json, reported per file; and sealing an older
 * snapshot (recording the hashes it lacks) once its files read back sound.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile } from '../lm/safetensors.js';
import { fingerprintM } from '../lm/vector_file.js';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { exists, writeFileAtomic } from '../util/fs_atomic.js';
import type { EncoderMeta } from './checkpoint.js';
import { type FileCheck, SNAPSHOT_FILES, USE_ANOTHER_SNAPSHOT, checkFiles, hashSnapshotFiles } from './checkpoint_files.js';

export interface SnapshotReport {
  /** `best`, `last`, or the folder's own name when a snapshot folder was given. */
  name: string;
  dir: string;
  /** Whether encoder.json records the files' sha256 (older snapshots do not). */
  verified: boolean;
  files: FileCheck[];
}

export interface CheckpointReport {
  path: string;
  ok: boolean;
  snapshots: SnapshotReport[];
}

/** Whether `dir` is an encoder checkpoint: a snapshot folder, or a run folder with best/ or last/. */
export async function isCheckpoint(dir: string): Promise<boolean> {
  return (await snapshotFolders(dir)).length > 0;
}

/** Check every snapshot of the checkpoint at `dir`, file by file. */
export async function verifyCheckpoint(dir: string): Promise<CheckpointReport> {
  const folders = await snapshotFolders(dir);
  if (folders.length === 0) {
    throw new PrototokenError('no encoder checkpoint here (no encoder.json in it, nor in its best/ or last/)', { file: dir, fix: 'pass a checkpoint folder written by `prototoken train` (runs/RUN, or its best/ or last/), or a dataset folder' });
  }
  const snapshots: SnapshotReport[] = [];
  for (const f of folders) snapshots.push(await verifySnapshot(f.name, f.dir));
  return { path: dir, ok: snapshots.every((s) => s.files.every((x) => x.state === 'ok' || x.state === 'unverified')), snapshots };
}

/**
 * Record the sha256 of every file of an older snapshot in its encoder.json (after its files read
 * back sound: parsable, finite, m as recorded). `model` renames the recorded model (encoder.json
 * and config.json), e.g. to drop a path of the machine that trained it. A snapshot that already
 * records hashes is left as it is when they match, and refused when they do not.
 */
export async function sealSnapshot(dir: string, opts: { model?: string } = {}): Promise<SnapshotReport> {
  const metaFile = path.join(dir, SNAPSHOT_FILES.meta);
  const report = await verifySnapshot(path.basename(dir), dir);
  const bad = report.files.find((f) => f.state === 'damaged' || f.state === 'missing');
  if (bad) throw new PrototokenError(bad.problem ?? bad.state, { file: path.join(dir, bad.file), fix: USE_ANOTHER_SNAPSHOT });
  const meta = JSON.parse(await fsp.readFile(metaFile, 'utf8')) as EncoderMeta;
  if (report.verified && opts.model === undefined) return report;
  if (opts.model !== undefined) {
    meta.model = opts.model;
    const configFile = path.join(dir, SNAPSHOT_FILES.config);
    const config = JSON.parse(await fsp.readFile(configFile, 'utf8')) as Record<string, unknown>;
    await writeFileAtomic(configFile, JSON.stringify({ ...config, model: opts.model }, null, 2) + '\n');
  }
  await writeFileAtomic(metaFile, JSON.stringify({ ...meta, sha256: await hashSnapshotFiles(dir) }, null, 2) + '\n');
  return verifySnapshot(report.name, dir);
}

async function verifySnapshot(name: string, dir: string): Promise<SnapshotReport> {
  let meta: EncoderMeta;
  try {
    meta = JSON.parse(await fsp.readFile(path.join(dir, SNAPSHOT_FILES.meta), 'utf8')) as EncoderMeta;
  } catch (err) {
    return { name, dir, verified: false, files: [{ file: SNAPSHOT_FILES.meta, state: 'damaged', bytes: null, problem: `cannot be read as JSON (${errorMessage(err)})` }] };
  }
  const recorded = meta.sha256 ?? null;
  const present = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name !== SNAPSHOT_FILES.meta).map((e) => e.name);
  const required = [SNAPSHOT_FILES.weights, SNAPSHOT_FILES.m, SNAPSHOT_FILES.config];
  const names = [...new Set([...required, ...Object.keys(recorded ?? {}), ...present])].sort();
  const files = await checkFiles(dir, names, recorded);
  // Without hashes, at least what no training writes is caught: unreadable files, NaN or infinite values, another m.
  if (!recorded) for (const f of files) if (f.state === 'unverified') Object.assign(f, await soundness(dir, f.file, meta));
  return { name, dir, verified: recorded !== null, files };
}

/** For an unverified file: a problem that shows without a hash, as a damaged FileCheck's fields. */
async function soundness(dir: string, file: string, meta: EncoderMeta): Promise<Partial<FileCheck>> {
  const at = path.join(dir, file);
  const damaged = (problem: string): Partial<FileCheck> => ({ state: 'damaged', problem });
  try {
    if (file.endsWith('.json')) {
      JSON.parse(await fsp.readFile(at, 'utf8'));
      return {};
    }
    if (!file.endsWith('.safetensors')) return {};
    const st = await SafetensorsFile.open(at);
    try {
      for (const tensor of st.names()) {
        const data = await st.read(tensor);
        if (!data.every(Number.isFinite)) return damaged(`tensor "${tensor}" holds values that are not finite (NaN or infinity)`);
        if (file === SNAPSHOT_FILES.m && tensor === 'm' && fingerprintM(data) !== meta.mSha256) return damaged(`m does not match the sha256 recorded in ${SNAPSHOT_FILES.meta}`);
      }
    } finally {
      await st.close();
    }
    return {};
  } catch (err) {
    return damaged(`cannot be read (${err instanceof PrototokenError ? err.problem : errorMessage(err)})`);
  }
}

/** The snapshot folders of a checkpoint path: the path itself when it is one, else its best/ and last/ (or the `.old` half of a swap). */
async function snapshotFolders(dir: string): Promise<{ name: string; dir: string }[]> {
  if (await exists(path.join(dir, SNAPSHOT_FILES.meta))) return [{ name: path.basename(path.resolve(dir)), dir }];
  const out: { name: string; dir: string }[] = [];
  for (const name of ['best', 'last']) {
    const found = [path.join(dir, name), path.join(dir, `${name}.old`)];
    for (const d of found) {
      if (await exists(path.join(d, SNAPSHOT_FILES.meta))) {
        out.push({ name: path.basename(d), dir: d });
        break;
      }
    }
  }
  return out;
}
