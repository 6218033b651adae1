/**
 * The files of a dataset folder and how each is loaded and validated.
 *
 * A part is read up to its last complete record batch (see ipc_stream.ts); data.arrow must be a
 * whole Arrow IPC file. Either way the schema and the prototoken metadata are checked, and any
 * problem is a PrototokenError naming the file.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Table, type RecordBatch } from 'apache-arrow';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { exists } from '../util/fs_atomic.js';
import { parseDatasetInfo, type DatasetInfo, type DatasetMeta, type PartMeta, type SourceStamp } from './info.js';
import type { SchemaShape } from './schema.js';
import type { ShardSpec } from '../jobs/shard.js';
import { M_FILE_NAME, readVector, writeVectorFile } from '../lm/vector_file.js';
import { openDataSource, openPartSource, type SourceFile } from './dataset_file.js';

/** The consolidated Arrow IPC file written by merge. */
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

/** Where a part's committed data ends and what follows it. */
export interface PartExtent {
  /** End of the last committed batch: where the next batch goes. */
  dataEnd: number;
  /** Bytes after it that are not a clean end marker (torn or uncommitted), ignored. */
  tornBytes: number;
  /** Whether the end-of-stream marker follows the committed data (the writer closed cleanly). */
  hasEndMarker: boolean;
}

/** A part read up to its last committed batch. */
export interface LoadedPart {
  name: string;
  path: string;
  meta: PartMeta;
  table: Table;
  shape: SchemaShape;
  scan: PartExtent;
  /** Whether the part has a checksum index (false: written before checksums, read unverified). */
  indexed: boolean;
  /** File size when read. */
  size: number;
  stamp: SourceStamp;
}

/** Read options of the whole-file loaders. */
export interface LoadOptions {
  /** Check every batch against the checksum index. Default true. */
  verify?: boolean;
}

/** Read and validate the part at `file`, whole (small datasets; large ones stream through openPartSource). */
export async function loadPart(file: string, options: LoadOptions = {}): Promise<LoadedPart> {
  const source = await openPartSource(file);
  try {
    const table = await readAllBatches(source, options.verify ?? true);
    return {
      name: source.name,
      path: file,
      meta: source.meta,
      table,
      shape: source.shape,
      scan: { dataEnd: source.committedEnd, tornBytes: source.tornBytes, hasEndMarker: source.hasEndMarker },
      indexed: source.index !== null,
      size: source.file.size,
      stamp: await currentStamp(file),
    };
  } finally {
    await source.close();
  }
}

/** data.arrow, read whole. */
export interface LoadedDataFile {
  path: string;
  meta: DatasetMeta;
  table: Table;
  shape: SchemaShape;
  /** sha256 of the file's bytes. */
  sha256: string;
  /** Whether its checksum index was present and from the same merge. */
  indexed: boolean;
}

/**
 * Read and validate the consolidated file at `file`. When `info` comes from the same merge, the
 * whole file must hash to its `data_sha256`; a mismatch names the damaged batch when the checksum
 * index can tell which.
 */
export async function loadDataFile(file: string, info: DatasetInfo | null = null, options: LoadOptions = {}): Promise<LoadedDataFile> {
  const source = await openDataSource(file);
  try {
    const sha256 = await sha256OfFile(file);
    const expectedSha256 = info !== null && info.merge_id === source.meta.merge_id ? info.data_sha256 : null;
    if ((options.verify ?? true) && expectedSha256 !== null && sha256 !== expectedSha256) {
      const where = await readAllBatches(source, true).then(() => '', (err: Error) => ` (${err.message.split('\n')[0].replace(`${file}: `, '')})`);
      throw new PrototokenError(`its sha256 differs from the one dataset_info.json recorded when it was merged: the file is damaged${where}`, {
        file,
        fix: 'delete data.arrow and run `prototoken merge` on the folder to rebuild it from the parts',
      });
    }
    const table = await readAllBatches(source, options.verify ?? true);
    return { path: file, meta: source.meta, table, shape: source.shape, sha256, indexed: source.index !== null };
  } finally {
    await source.close();
  }
}

/** Every committed batch of `source` as one Table (the in-memory path). */
async function readAllBatches(source: SourceFile, verify: boolean): Promise<Table> {
  const batches: RecordBatch[] = [];
  for (const ref of source.batches) batches.push((await source.readBatch(ref, verify)).batch);
  return batches.length ? new Table(batches) : new Table(source.file.schema);
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

/** data.arrow of a folder and whether dataset_info.json describes it (same merge). */
export interface MergedData {
  data: LoadedDataFile;
  infoMatches: boolean;
}

/**
 * Load `dir`/data.arrow (null when absent). When `info` comes from the same merge (equal
 * merge_id), the file must have the sha256 recorded there: Arrow has no checksums of its own, so
 * this is what catches damaged bytes inside the columns. A different merge_id means a merge was
 * interrupted between writing data.arrow and dataset_info.json; `infoMatches` is then false.
 */
export async function loadMergedData(dir: string, info: DatasetInfo | null, options: LoadOptions = {}): Promise<MergedData | null> {
  const file = path.join(dir, DATA_FILE);
  if (!(await exists(file))) return null;
  const data = await loadDataFile(file, info, options);
  return { data, infoMatches: info !== null && info.merge_id === data.meta.merge_id };
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

/** Whether `dir` holds data.arrow. */
export function hasDataFile(dir: string): Promise<boolean> {
  return exists(path.join(dir, DATA_FILE));
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
