/**
 * The files of a dataset folder and how each is loaded and validated.
 *
 * A part is read up to its last complete record batch (see ipc_stream.ts); data.arrow must be a
 * whole Arrow IPC file. Either way the schema and the prototoken metadata are checked, and any
 * problem is a PrototokenError naming the file.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { Table } from 'apache-arrow';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { exists, readFileAligned } from '../util/fs_atomic.js';
import {
  DATASET_META_KEY, PART_META_KEY, parseDatasetInfo, parseDatasetMeta, parsePartMeta,
  type DatasetInfo, type DatasetMeta, type DatasetSettings, type PartMeta, type SourceStamp,
} from './info.js';
import { scanStream, type StreamScan } from './ipc_stream.js';
import { checkSchema, type SchemaShape } from './schema.js';
import { parsePartFileName, type ShardSpec } from './shard.js';

/** The consolidated Arrow IPC file written by merge. */
export const DATA_FILE = 'data.arrow';
/** Settings, counts and statistics (written by merge). */
export const INFO_FILE = 'dataset_info.json';
/** Hugging Face dataset card (written by merge). */
export const CARD_FILE = 'README.md';
/** The shared m, when m is not per text. */
export const M_FILE = 'm.safetensors';

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

/** A part read up to its last complete batch. */
export interface LoadedPart {
  name: string;
  path: string;
  meta: PartMeta;
  table: Table;
  shape: SchemaShape;
  scan: StreamScan;
  /** File size when read. */
  size: number;
  stamp: SourceStamp;
}

/** Read and validate the part at `file`. */
export async function loadPart(file: string): Promise<LoadedPart> {
  const name = path.basename(file);
  const bytes = await readOrExplain(file);
  const scan = scanStream(bytes, file);
  const table = decode(bytes.subarray(0, scan.dataEnd), file);
  const shape = checkSchema(table.schema, file);
  const meta = parsePartMeta(table.schema.metadata.get(PART_META_KEY), file);
  const fromName = parsePartFileName(name);
  if (fromName && (fromName.index !== meta.shard.index || fromName.count !== meta.shard.count)) {
    throw new PrototokenError(`the file name says shard ${fromName.index}/${fromName.count} but its metadata says ${meta.shard.index}/${meta.shard.count}`, {
      file,
      fix: 'part files must keep the names they were written under; rename it back',
    });
  }
  checkShapeMatches(meta, shape, file);
  return { name, path: file, meta, table, shape, scan, size: bytes.byteLength, stamp: stampOf(name, bytes) };
}

/** data.arrow, read whole. */
export interface LoadedDataFile {
  path: string;
  meta: DatasetMeta;
  table: Table;
  shape: SchemaShape;
  /** sha256 of the file's bytes. */
  sha256: string;
}

const FILE_MAGIC = new TextEncoder().encode('ARROW1');

/** Read and validate the consolidated file at `file`. */
export async function loadDataFile(file: string): Promise<LoadedDataFile> {
  const bytes = await readOrExplain(file);
  const fix = 'delete it and run `prototoken merge` on the folder to rebuild it from the parts';
  const hasMagic = (at: number): boolean => at >= 0 && FILE_MAGIC.every((b, i) => bytes[at + i] === b);
  if (!hasMagic(0) || !hasMagic(bytes.byteLength - FILE_MAGIC.length) || bytes.byteLength < 2 * FILE_MAGIC.length + 8) {
    throw new PrototokenError(`not a complete Arrow IPC file (${bytes.byteLength} bytes; the ARROW1 markers at start and end are missing)`, { file, fix });
  }
  const table = decode(bytes, file, fix);
  const shape = checkSchema(table.schema, file);
  const meta = parseDatasetMeta(table.schema.metadata.get(DATASET_META_KEY), file);
  checkShapeMatches(meta, shape, file);
  return { path: file, meta, table, shape, sha256: createHash('sha256').update(bytes).digest('hex') };
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
export async function loadMergedData(dir: string, info: DatasetInfo | null): Promise<MergedData | null> {
  const file = path.join(dir, DATA_FILE);
  if (!(await exists(file))) return null;
  const data = await loadDataFile(file);
  const infoMatches = info !== null && info.merge_id === data.meta.merge_id;
  if (infoMatches && info.data_sha256 !== data.sha256) {
    throw new PrototokenError('its sha256 differs from the one dataset_info.json recorded when it was merged: the file is damaged', {
      file,
      fix: 'delete data.arrow and run `prototoken merge` on the folder to rebuild it from the parts',
    });
  }
  return { data, infoMatches };
}

/** The identity of a part's bytes: its size and the sha256 of its last 4 KiB. */
export function stampOf(name: string, bytes: Uint8Array): SourceStamp {
  const tail = bytes.subarray(Math.max(0, bytes.byteLength - TAIL_BYTES));
  return { file: name, size: bytes.byteLength, tail_sha256: createHash('sha256').update(tail).digest('hex') };
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

async function readOrExplain(file: string): Promise<Uint8Array> {
  try {
    return await readFileAligned(file);
  } catch (err) {
    throw new PrototokenError(`cannot read (${errorMessage(err)})`, { file, fix: 'check the path and permissions' });
  }
}

function decode(bytes: Uint8Array, file: string, fix = 'the file is corrupt: delete it and rerun its shard'): Table {
  try {
    const table = tableFromIPC(bytes);
    // Arrow decodes lazily; touch every batch so a broken body fails here, not in a caller.
    for (const b of table.batches) void b.numRows;
    return table;
  } catch (err) {
    throw new PrototokenError(`cannot decode the Arrow data (${errorMessage(err)})`, { file, fix });
  }
}

function checkShapeMatches(s: DatasetSettings, shape: SchemaShape, file: string): void {
  const perText = s.m.mode === 'per-text';
  if (s.model.d_model !== shape.d || perText !== shape.perTextM) {
    throw new PrototokenError(
      `metadata (d_model ${s.model.d_model}, m ${s.m.mode}) disagrees with the columns (d ${shape.d}, ${shape.perTextM ? 'with' : 'without'} an m column)`,
      { file, fix: 'the file is corrupt or was edited; delete it and rebuild it' },
    );
  }
}
