/**
 * Writing data.arrow one record batch at a time, with its checksum index.
 *
 * data.arrow is an Arrow IPC *stream* (schema message, batch messages, end-of-stream marker), the
 * format Hugging Face `datasets` reads (`pa.ipc.open_stream`, its arrow builder and cache files);
 * pyarrow and polars read it too. Random access does not need a footer: data.index.jsonl has every
 * batch's offset. Everything goes to a temporary file; `commit` fsyncs and renames the index first,
 * then data.arrow, so a crash leaves the old file (whose merge_id then differs from the new
 * index's, which is ignored).
 */
import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Schema } from 'apache-arrow';
import { fsyncDir, tempNameFor, writeAll, writeFileAtomic } from '../util/fs_atomic.js';
import { checksum, indexFileFor, indexHeader, indexLine, type IndexEntry, type SplitRows } from './checksums.js';
import { END_OF_STREAM, schemaMessageBytes } from './ipc_stream.js';

/** A data.arrow being written. */
export interface DataFileSink {
  /** Append one record-batch message (from `batchMessageBytes`); `sha256` when already known (verbatim copy of a verified batch). */
  appendBatch(bytes: Uint8Array, rows: number, splitRows: SplitRows, sha256?: string): Promise<void>;
  /** End-of-stream marker, fsync; returns the sha256 of the whole file. Nothing is visible until `commit`. */
  finish(): Promise<{ sha256: string; batches: number; rows: number }>;
  /** Rename the index, then the file, into place. */
  commit(): Promise<void>;
  /** Remove the temporary file (after a failure). */
  abort(): Promise<void>;
}

/** Start writing `file` (data.arrow) with `schema`; `mergeId` ties the index to this file. */
export async function createDataFileSink(file: string, schema: Schema, mergeId: string): Promise<DataFileSink> {
  const tmp = tempNameFor(file);
  const handle = await fsp.open(tmp, 'w');
  const whole: Hash = createHash('sha256');
  const entries: IndexEntry[] = [];
  let batches = 0;
  let pos = 0;
  let rows = 0;
  let finished = false;
  // One write in flight while the caller prepares the next batch; its errors surface on the next call.
  let inFlight: Promise<void> = Promise.resolve();
  const write = async (bytes: Uint8Array): Promise<void> => {
    whole.update(bytes);
    const at = pos;
    pos += bytes.byteLength;
    await inFlight;
    inFlight = writeAll(handle, bytes, at);
    inFlight.catch(() => undefined);
  };
  const schemaBytes = schemaMessageBytes(schema);
  try {
    entries.push({ kind: 'schema', batch: -1, offset: pos, length: schemaBytes.byteLength, rows: 0, sha256: checksum(schemaBytes) });
    await write(schemaBytes);
    await inFlight;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return {
    async appendBatch(bytes, n, splitRows, sha256) {
      entries.push({ kind: 'batch', batch: batches++, offset: pos, length: bytes.byteLength, rows: n, sha256: sha256 ?? checksum(bytes), split_rows: splitRows });
      rows += n;
      await write(bytes);
    },
    async finish() {
      const tail = END_OF_STREAM;
      entries.push({ kind: 'end', batch: -1, offset: pos, length: tail.byteLength, rows: 0, sha256: checksum(tail) });
      await write(tail);
      await inFlight;
      await handle.sync();
      await handle.close();
      finished = true;
      return { sha256: whole.digest('hex'), batches, rows };
    },
    async commit() {
      const lines = [indexLine(indexHeader(file, mergeId)), ...entries.map(indexLine)].join('');
      await writeFileAtomic(indexFileFor(file), lines);
      await fsp.rename(tmp, file);
      await fsyncDir(path.dirname(file));
    },
    async abort() {
      await inFlight.catch(() => undefined);
      if (!finished) await handle.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
    },
  };
}
