/**
 * The files of a dataset folder: their names, listing the parts, dataset_info.json, the shared m,
 * and the stamps and hashes that tell whether data.arrow is current.
 *
 * Opening and validating the Arrow files themselves is dataset_file.ts: a part is read up to its
 * last committed record batch (framing in ipc_stream.ts, commits in checksums.ts); data.arrow is
 * one Arrow IPC stream (a data.arrow merged by an older version is an IPC file, still read).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { exists } from '../util/fs_atomic.js';
import { parseDatasetInfo, type DatasetInfo, type SourceStamp } from './info.js';
import type { ShardSpec } from '../jobs/shard.js';
import { M_FILE_NAME, readVector, writeVectorFile } from '../lm/vector_file.js';

/** The consolidated Arrow IPC stream written by merge. */
export const DATA_FILE = 'data.arrow';
/** Settings, counts and statistics (written by merge). */
export const INFO_FILE = 'dataset_info.json';
/** Hugging Face dataset card (written by merge). */
export const CARD_FILE = 'README.md';
/** The shared m, when m is not per text. */
export const M_FILE = M_FILE_NAME;

/** Bytes hashed at the end of a part to notice that it changed after a merge. */
const TAIL_BYTES = 4096;

/** A part file found in the folder. */
export interface PartListing {
  name: string;
  path: string;
  shard: ShardSpec;
}

/** Part files in `dir`, ordered by shard count, then index. A missing folder has none. */
export async function listParts(dir: string): Promise<PartListing[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new PrototokenError(`cannot list the dataset folder (${errorMessage(err)})`, { file: dir });
  }
  const parts: PartListing[] = [];
  for (const name of names) {
    const shard = parsePartFileName(name);
    if (shard) parts.push({ name, path: path.join(dir, name), shard });
  }
  return parts.sort((a, b) => a.shard.count - b.shard.count || a.shard.index - b.shard.index);
}

/** sha256 of a file, read in bounded chunks. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 8 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** dataset_info.json of `dir`, or null when there is none. */
export async function readInfoFile(dir: string): Promise<DatasetInfo | null> {
  const file = path.join(dir, INFO_FILE);
  if (!(await exists(file))) return null;
  return parseDatasetInfo(await fsp.readFile(file, 'utf8'), file);
}

/** The stamp of the part at `file` as it is now, reading only its tail. */
export async function currentStamp(file: string): Promise<SourceStamp> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const tail = new Uint8Array(Math.min(size, TAIL_BYTES));
    await handle.read(tail, 0, tail.length, size - tail.length);
    return { file: path.basename(file), size, tail_sha256: createHash('sha256').update(tail).digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Part files missing from complete shard sets, e.g. part-00002-of-00004.arrows when 0, 1 and 3 exist. */
export function missingShards(parts: readonly { shard: ShardSpec }[]): string[] {
  const byCount = new Map<number, Set<number>>();
  for (const p of parts) byCount.set(p.shard.count, (byCount.get(p.shard.count) ?? new Set()).add(p.shard.index));
  const missing: string[] = [];
  for (const [count, present] of [...byCount].sort((a, b) => a[0] - b[0])) {
    for (let i = 0; i < count; i++) if (!present.has(i)) missing.push(partFileName({ index: i, count }));
  }
  return missing;
}

/** `part-00003-of-00008.arrows`. */
export function partFileName(shard: ShardSpec): string {
  return `part-${pad5(shard.index)}-of-${pad5(shard.count)}.arrows`;
}

/** The shard a part file name stands for, or null if `name` is not a part file. */
export function parsePartFileName(name: string): ShardSpec | null {
  const m = /^part-(\d{5})-of-(\d{5})\.arrows$/.exec(name);
  if (!m) return null;
  const spec = { index: Number(m[1]), count: Number(m[2]) };
  return spec.count >= 1 && spec.index < spec.count ? spec : null;
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

/** Write `m` as `<dir>/m.safetensors` with string `metadata` in the header. Returns its fingerprint. */
export function writeSharedM(dir: string, m: Float32Array, metadata: Record<string, string> = {}): Promise<string> {
  return writeVectorFile(path.join(dir, M_FILE), 'm', m, metadata);
}

/** The shared m of the dataset in `dir`, or null when it has no m.safetensors. */
export async function readSharedM(dir: string): Promise<Float32Array | null> {
  const file = path.join(dir, M_FILE);
  if (!(await exists(file))) return null;
  return readVector(file, 'm', null, null, { soleTensor: false });
}
