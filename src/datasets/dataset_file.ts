/**
 * One Arrow file of a dataset (a stream part or data.arrow) opened for batch-by-batch reading,
 * with its settings checked and its checksum index applied.
 *
 * The index decides which batches are committed: a part's batches without an index line are an
 * uncommitted tail (torn, like a half-written batch); index lines whose bytes are gone mean the
 * part was cut (torn too); but a committed batch whose bytes are all there and whose framing or
 * checksum disagrees is damage, an error naming the file, the batch and its byte offset. A file
 * without an index (written before checksums) reads as before, unverified, with a warning.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { columnsOfRecordBatch } from './arrow_columns.js';
import { FILE_MAGIC, openArrowFile, openArrowStream, type ArrowFile, type BatchRef, type ReadBatch } from './arrow_read.js';
import { checksum, checksumMismatch, readIndex, type IndexEntry, type LoadedIndex } from './checksums.js';
import {
  DATASET_META_KEY, PART_META_KEY, parseDatasetMeta, parsePartMeta, type DatasetInfo, type DatasetMeta, type DatasetSettings, type PartMeta,
} from './info.js';
import type { SolutionColumns } from './columns.js';
import { checkSchema, type SchemaShape } from './schema.js';
import { DATA_FILE, parsePartFileName, sha256OfFile } from './folder.js';
import { exists } from '../util/fs_atomic.js';

const PART_FIX = 'the part is damaged: delete it (and its .index.jsonl) and rerun its shard; resume re-solves only its texts';
const DATA_FIX = 'delete it and run `prototoken merge` on the folder to rebuild it (and data.index.jsonl) from the parts';

/** An open part or data.arrow; `close()` it when done. */
export interface SourceFile<M extends PartMeta | DatasetMeta = PartMeta | DatasetMeta> {
  readonly name: string;
  readonly path: string;
  readonly kind: 'part' | 'data';
  readonly meta: M;
  readonly shape: SchemaShape;
  readonly file: ArrowFile;
  /** Committed record batches, in file order. */
  readonly batches: BatchRef[];
  readonly rows: number;
  /** Where the committed data ends (a resumed part's next batch goes here). */
  readonly committedEnd: number;
  /** Bytes after the committed data that are not a clean end marker: torn or uncommitted, ignored. */
  readonly tornBytes: number;
  /** Whether the writer closed the part cleanly (end marker right after the committed data). */
  readonly hasEndMarker: boolean;
  /** The checksum index, or null (an unverified, pre-checksum file). */
  readonly index: LoadedIndex | null;
  /** Index entry of batch i (only when indexed). */
  entryOf(batch: number): IndexEntry | null;
  /** Read batch `ref`; with `verify`, its bytes must match the index. */
  readBatch(ref: BatchRef, verify: boolean): Promise<ReadBatch>;
  close(): Promise<void>;
}

/** Open a stream part and reconcile it with its index. */
export async function openPartSource(file: string): Promise<SourceFile<PartMeta>> {
  const arrow = await openArrowStream(file);
  try {
    const name = path.basename(file);
    const shape = checkSchema(arrow.schema, file);
    const meta = parsePartMeta(arrow.schema.metadata.get(PART_META_KEY), file);
    const fromName = parsePartFileName(name);
    if (fromName && (fromName.index !== meta.shard.index || fromName.count !== meta.shard.count)) {
      throw new PrototokenError(`the file name says shard ${fromName.index}/${fromName.count} but its metadata says ${meta.shard.index}/${meta.shard.count}`, {
        file,
        fix: 'part files must keep the names they were written under; rename it back',
      });
    }
    checkShapeMatches(meta, shape, file);
    const index = await readIndex(file);
    const scan = arrow.scan!;
    let batches = arrow.batches;
    if (index) {
      checkIndexFile(index, name);
      await checkSchemaEntry(arrow, index, file, PART_FIX);
      const committed = index.entries.filter((e) => e.kind === 'batch');
      const kept: BatchRef[] = [];
      committed.forEach((e, k) => {
        const b = arrow.batches[k];
        if (e.batch !== k) throw indexDamage(index, `entry ${k + 2} is batch ${e.batch}, expected ${k}`);
        if (b && b.offset === e.offset && b.length === e.length && b.rows === e.rows) kept.push(b);
        else if (e.offset + e.length <= arrow.size && (kept.length === k)) {
          throw new PrototokenError(`record batch ${k} at byte offset ${e.offset}: its framing (${b ? `${b.length} bytes, ${b.rows} rows` : 'unreadable'}) disagrees with the checksum index (${e.length} bytes, ${e.rows} rows)`, { file, fix: PART_FIX });
        }
      });
      batches = kept;
    }
    const lastEnd = batches.length ? batches[batches.length - 1].offset + batches[batches.length - 1].length : scan.messages[0].length;
    const hasEndMarker = scan.hasEndMarker && scan.dataEnd === lastEnd;
    const tornBytes = arrow.size - lastEnd - (hasEndMarker ? 8 : 0);
    return makeSource(name, file, 'part', meta, shape, arrow, batches, lastEnd, tornBytes, hasEndMarker, index, PART_FIX);
  } catch (err) {
    await arrow.close();
    throw err;
  }
}

/** Open data.arrow and apply its index when it belongs to the same merge. */
export async function openDataSource(file: string): Promise<SourceFile<DatasetMeta> & { indexIgnored: boolean }> {
  // data.arrow is an IPC stream; one merged before this format change is an IPC file (ARROW1 magic).
  const legacy = await startsWithFileMagic(file);
  const arrow = legacy ? await openArrowFile(file) : await openArrowStream(file);
  try {
    const scan = arrow.scan;
    if (scan && (!scan.hasEndMarker || scan.tornBytes > 0)) {
      throw new PrototokenError(`not a complete Arrow IPC file: the stream of ${arrow.size} bytes ends without its end-of-stream marker (cut short, or written by an interrupted merge)`, { file, fix: DATA_FIX });
    }
    const end = scan ? { offset: scan.dataEnd, length: arrow.size - scan.dataEnd } : arrow.footer!;
    const shape = checkSchema(arrow.schema, file);
    const meta = parseDatasetMeta(arrow.schema.metadata.get(DATASET_META_KEY), file);
    checkShapeMatches(meta, shape, file);
    let index = await readIndex(file);
    let indexIgnored = false;
    if (index && index.header.merge_id !== meta.merge_id) {
      // A merge killed between renaming the index and data.arrow: the index describes the other file.
      index = null;
      indexIgnored = true;
    }
    if (index) {
      checkIndexFile(index, path.basename(file));
      await checkSchemaEntry(arrow, index, file, DATA_FIX);
      const entries = index.entries.filter((e) => e.kind === 'batch');
      if (entries.length !== arrow.batches.length) {
        throw new PrototokenError(`the file holds ${arrow.batches.length} record batches, its checksum index ${entries.length}`, { file, fix: DATA_FIX });
      }
      entries.forEach((e, k) => {
        const b = arrow.batches[k];
        if (b.offset !== e.offset || b.length !== e.length || b.rows !== e.rows) {
          throw new PrototokenError(`record batch ${k} at byte offset ${b.offset}: its framing disagrees with the checksum index (offset ${e.offset}, ${e.length} bytes)`, { file, fix: DATA_FIX });
        }
      });
      const endEntry = index.entries.find((e) => e.kind === 'end');
      if (endEntry) {
        const bytes = await arrow.readBytes(end.offset, end.length);
        if (endEntry.offset !== end.offset || endEntry.length !== end.length || checksum(bytes) !== endEntry.sha256) throw checksumMismatch(file, endEntry, DATA_FIX);
      }
    }
    const source = makeSource(path.basename(file), file, 'data', meta, shape, arrow, arrow.batches, arrow.size, 0, true, index, DATA_FIX);
    return { ...source, indexIgnored };
  } catch (err) {
    await arrow.close();
    throw err;
  }
}

async function startsWithFileMagic(file: string): Promise<boolean> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    throw new PrototokenError(`cannot read (${errorMessage(err)})`, { file, fix: 'check the path and permissions' });
  }
  try {
    const head = new Uint8Array(FILE_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && FILE_MAGIC.every((b, i) => head[i] === b);
  } finally {
    await handle.close();
  }
}

function makeSource<M extends PartMeta | DatasetMeta>(
  name: string,
  file: string,
  kind: 'part' | 'data',
  meta: M,
  shape: SchemaShape,
  arrow: ArrowFile,
  batches: BatchRef[],
  committedEnd: number,
  tornBytes: number,
  hasEndMarker: boolean,
  index: LoadedIndex | null,
  fix: string,
): SourceFile<M> {
  const entries = new Map<number, IndexEntry>();
  for (const e of index?.entries ?? []) if (e.kind === 'batch') entries.set(e.batch, e);
  return {
    name,
    path: file,
    kind,
    meta,
    shape,
    file: arrow,
    batches,
    rows: batches.reduce((n, b) => n + b.rows, 0),
    committedEnd,
    tornBytes,
    hasEndMarker,
    index,
    entryOf: (batch) => entries.get(batch) ?? null,
    async readBatch(ref, verify) {
      const read = await arrow.readBatch(ref);
      const entry = entries.get(ref.index);
      if (verify && entry && checksum(read.bytes) !== entry.sha256) throw checksumMismatch(file, entry, fix);
      return read;
    },
    close: () => arrow.close(),
  };
}

function checkIndexFile(index: LoadedIndex, name: string): void {
  if (index.header.file !== name) throw indexDamage(index, `it describes ${index.header.file}, not ${name}`);
}

function indexDamage(index: LoadedIndex, what: string): PrototokenError {
  return new PrototokenError(`checksum index does not fit its file: ${what}`, {
    file: index.path,
    fix: 'the index was edited or copied from another file; restore it, or delete it to read the file unverified',
  });
}

async function checkSchemaEntry(arrow: ArrowFile, index: LoadedIndex, file: string, fix: string): Promise<void> {
  const entry = index.entries.find((e) => e.kind === 'schema');
  const m = arrow.schemaMessage;
  if (!entry || !m) return;
  if (entry.offset !== m.offset || entry.length !== m.length || checksum(await arrow.readBytes(m.offset, m.length)) !== entry.sha256) {
    throw checksumMismatch(file, entry, fix);
  }
}

/** One committed batch of a source: decoded, as columns, and its message bytes. */
export interface ReadColumns extends ReadBatch {
  columns: SolutionColumns;
}

/** The committed batches of `source` that hold rows, in order, read one batch ahead (memory: two batches). */
export async function* readAhead(source: SourceFile, verify: boolean): AsyncGenerator<ReadColumns> {
  const refs = source.batches.filter((r) => r.rows > 0);
  // The disk works on the next batch while the caller computes on this one.
  const start = (i: number): Promise<ReadColumns> | null => {
    if (i >= refs.length) return null;
    const p = readColumns(source, refs[i], verify);
    p.catch(() => undefined); // surfaced when awaited; never an unhandled rejection if the caller stops first
    return p;
  };
  let next = start(0);
  for (let i = 0; next; i++) {
    const read = await next;
    next = start(i + 1);
    yield read;
  }
}

/** Call `fn` with the columns of every committed batch of `source`, read one batch ahead. */
export async function forEachColumns(
  source: SourceFile,
  verify: boolean,
  fn: (cols: SolutionColumns, ref: BatchRef, bytes: Uint8Array) => void | Promise<void>,
): Promise<void> {
  for await (const { columns, ref, bytes } of readAhead(source, verify)) await fn(columns, ref, bytes);
}

/** Batch `ref` of `source`, decoded and as columns. */
export async function readColumns(source: SourceFile, ref: BatchRef, verify: boolean): Promise<ReadColumns> {
  const read = await source.readBatch(ref, verify);
  return { ...read, columns: columnsOfRecordBatch(read.batch, source.shape, source.path) };
}

/** The settings must describe the columns actually stored. */
export function checkShapeMatches(s: DatasetSettings, shape: SchemaShape, file: string): void {
  const perText = s.m.mode === 'per-text';
  const all = s.restarts !== undefined;
  if (s.model.d_model !== shape.d || perText !== shape.perTextM || all !== shape.allRestarts) {
    throw new PrototokenError(
      `metadata (d_model ${s.model.d_model}, m ${s.m.mode}, ${all ? 'every restart kept' : 'best restart kept'}) disagrees with the columns ` +
        `(d ${shape.d}, ${shape.perTextM ? 'with' : 'without'} an m column, ${shape.allRestarts ? 'with' : 'without'} a restart column)`,
      { file, fix: 'the file is corrupt or was edited; delete it and rebuild it' },
    );
  }
}

/** data.arrow opened for reading, and whether dataset_info.json comes from the same merge. */
export type PreviousData = SourceFile<DatasetMeta> & { infoMatches: boolean; indexIgnored: boolean };

/**
 * `dir`/data.arrow, open, or null when there is none. Its batches are verified against
 * data.index.jsonl as they are read. A data.arrow without that index (merged before checksums)
 * has only the whole-file sha256 in dataset_info.json (`info`, when from the same merge), which is
 * then checked here, in one streaming pass; `wholeFile` checks it even when the batches are
 * indexed (the in-memory reader, which reads every byte anyway), naming the damaged batch if any.
 */
export async function openPreviousData(dir: string, info: DatasetInfo | null, verify: boolean, wholeFile = false): Promise<PreviousData | null> {
  const file = path.join(dir, DATA_FILE);
  if (!(await exists(file))) return null;
  const source = await openDataSource(file);
  const infoMatches = info !== null && info.merge_id === source.meta.merge_id;
  try {
    if (verify && infoMatches && (wholeFile || !source.index) && (await sha256OfFile(file)) !== info.data_sha256) {
      throw new PrototokenError(`its sha256 differs from the one dataset_info.json recorded when it was merged: the file is damaged${await damageOf(source)}`, {
        file,
        fix: 'delete data.arrow and run `prototoken merge` on the folder to rebuild it from the parts',
      });
    }
  } catch (err) {
    await source.close();
    throw err;
  }
  return { ...source, infoMatches };
}

/** ` (the first damaged batch)` when the checksum index can tell which, else ''. */
async function damageOf(source: SourceFile): Promise<string> {
  if (!source.index) return '';
  try {
    for (const ref of source.batches) await source.readBatch(ref, true);
    return '';
  } catch (err) {
    return ` (${errorMessage(err).split('\n')[0].replace(`${source.path}: `, '')})`;
  }
}
