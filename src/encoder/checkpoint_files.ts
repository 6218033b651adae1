/**
 * The files of a checkpoint snapshot and their integrity. encoder.json records the sha256 of every
 * other file of the snapshot (`sha256`: file name -> hex), written last, so a reader can tell a
 * damaged or missing file from a sound one before it uses a single weight: 4 KB of 0xFF in
 * weights.safetensors, or one changed float, would otherwise load and give wrong accuracies
 * without a word. Snapshots written before the hashes existed are read with a warning.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../lm/safetensors.js';
import { PrototokenError } from '../util/errors.js';

/** The files a snapshot folder may hold (docs/encoder.md). */
export const SNAPSHOT_FILES = {
  meta: 'encoder.json',
  weights: 'weights.safetensors',
  m: 'm.safetensors',
  reference: 'reference.safetensors',
  config: 'config.json',
  optimizer: 'optimizer.safetensors',
  state: 'train_state.json',
  gate: 'gate.json',
} as const;

/** What to do about a damaged or incomplete snapshot. */
export const USE_ANOTHER_SNAPSHOT = 'use another snapshot of the run (RUN/best or RUN/last), or copy the checkpoint folder again from where it came';

/** sha256 of every file of the snapshot folder `dir` but encoder.json, by name (what encoder.json records). */
export async function hashSnapshotFiles(dir: string): Promise<Record<string, string>> {
  const names = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name !== SNAPSHOT_FILES.meta).map((e) => e.name).sort();
  const out: Record<string, string> = {};
  for (const name of names) out[name] = await sha256File(path.join(dir, name));
  return out;
}

/** One file's state against the recorded hashes. */
export interface FileCheck {
  file: string;
  /** ok: matches its sha256; unverified: no sha256 recorded; missing / damaged: unusable. */
  state: 'ok' | 'unverified' | 'missing' | 'damaged';
  bytes: number | null;
  problem?: string;
}

/**
 * Check `names` in `dir` against `recorded` (null: an older snapshot without hashes). A file that is
 * recorded must exist and match; a file that is present but not recorded in a hashed snapshot was
 * not written with it.
 */
export async function checkFiles(dir: string, names: readonly string[], recorded: Readonly<Record<string, string>> | null): Promise<FileCheck[]> {
  const out: FileCheck[] = [];
  for (const file of names) {
    const stat = await fsp.stat(path.join(dir, file)).catch(() => null);
    const want = recorded?.[file];
    if (!stat?.isFile()) {
      out.push({ file, state: 'missing', bytes: null, problem: `the checkpoint is incomplete: ${file} is missing` });
    } else if (!recorded) {
      out.push({ file, state: 'unverified', bytes: stat.size });
    } else if (want === undefined) {
      out.push({ file, state: 'damaged', bytes: stat.size, problem: `${file} is not one of the files recorded in ${SNAPSHOT_FILES.meta} (it was not written with this snapshot)` });
    } else {
      const got = await sha256File(path.join(dir, file));
      out.push(got === want
        ? { file, state: 'ok', bytes: stat.size }
        : { file, state: 'damaged', bytes: stat.size, problem: `damaged: its sha256 ${got.slice(0, 12)}… does not match the one recorded in ${SNAPSHOT_FILES.meta} (${want.slice(0, 12)}…)` });
    }
  }
  return out;
}

/**
 * Refuse a snapshot whose files are not as written: every file `needed` for this read, and every
 * recorded file, must exist; the ones read (`needed`) must match their sha256. Returns the warning
 * for an older snapshot without hashes (null when verified).
 */
export async function verifySnapshotFiles(dir: string, recorded: Readonly<Record<string, string>> | undefined, needed: readonly string[]): Promise<string | null> {
  const names = [...new Set([...needed, ...Object.keys(recorded ?? {})])];
  for (const f of await checkFiles(dir, names, recorded ?? null)) {
    // A recorded file this read does not use (optimizer moments when evaluating) need only exist.
    const problem = f.state === 'missing' || (f.state === 'damaged' && needed.includes(f.file)) ? f.problem : undefined;
    if (problem) throw new PrototokenError(problem, { file: path.join(dir, f.file), fix: USE_ANOTHER_SNAPSHOT });
  }
  return recorded ? null : `${path.join(dir, SNAPSHOT_FILES.meta)} records no sha256 for its files (written by an older version): not verified; \`prototoken verify --seal ${dir}\` records them`;
}
