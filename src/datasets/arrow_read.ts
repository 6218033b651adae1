/**
 * Arrow files on disk, read one record batch at a time: an IPC stream (parts and data.arrow;
 * framing scanned with small reads, bodies skipped) or an IPC file (a data.arrow merged by an
 * earlier version; batches located through its footer). Only the
 * framing is held in memory; a batch is read, decoded and handed out on request, so memory stays
 * O(one batch) however large the file.
 */
import { promises as fsp } from 'node:fs';
import { tableFromIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { FileBlock, Footer } from 'apache-arrow/ipc/metadata/file';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { parseFrame, scanFrames, schemaMessageBytes, type StreamMessage, type StreamScan } from './ipc_stream.js';

/** "ARROW1", the magic at both ends of an IPC file. */
export const FILE_MAGIC = new TextEncoder().encode('ARROW1');
/** The magic padded to 8 bytes: where an IPC file's first message starts. */
export const FILE_HEAD_BYTES = 8;
/** Bytes read at a message position in one go; enough for any prototoken batch's metadata. */
const HEAD_READ = 64 * 1024;
/** Node refuses single reads above 2 GiB. */
const IO_CHUNK = 1 << 30;

/** Where a record batch lives in its file. */
export interface BatchRef {
  /** Position among the file's record batches. */
  index: number;
  offset: number;
  length: number;
  rows: number;
}

/** A record batch read from disk, with the exact bytes of its message (for checksums). */
export interface ReadBatch {
  ref: BatchRef;
  batch: RecordBatch;
  bytes: Uint8Array;
}

/** An open Arrow file; `close()` it when done. */
export interface ArrowFile {
  readonly path: string;
  readonly format: 'stream' | 'file';
  readonly size: number;
  readonly schema: Schema;
  /** The schema message's position (a file written by Arrow JS may have none: its schema is in the footer). */
  readonly schemaMessage: StreamMessage | null;
  readonly batches: BatchRef[];
  /** Streams: framing scan (torn tail, end marker). Files: null. */
  readonly scan: StreamScan | null;
  /** Files: bytes from the end of the last message to the end of the file (end marker, footer, magic). */
  readonly footer: { offset: number; length: number } | null;
  /** Raw bytes of a region (own, 8-byte aligned buffer). */
  readBytes(offset: number, length: number): Promise<Uint8Array>;
  /** Read and decode one batch; damage that stops decoding is an error naming file, batch and offset. */
  readBatch(ref: BatchRef): Promise<ReadBatch>;
  close(): Promise<void>;
}

/** Open a part (IPC stream) and scan its framing. */
export async function openArrowStream(file: string): Promise<ArrowFile> {
  const handle = await openOrExplain(file);
  try {
    const { size } = await handle.stat();
    const frames = scanFrames(size, file, HEAD_READ);
    let next = frames.next();
    while (!next.done) next = frames.next(await readAt(handle, next.value.offset, next.value.length, 0));
    const scan = next.value;
    const schemaMsg = scan.messages[0];
    const schemaBytes = await readAt(handle, schemaMsg.offset, schemaMsg.length, 0);
    const schema = decodeSchema(schemaBytes, file);
    const batches = scan.messages.slice(1).map((m, index) => ({ index, offset: m.offset, length: m.length, rows: m.rows }));
    return makeArrowFile(file, handle, 'stream', size, schema, schemaMsg, schemaBytes, batches, scan, null);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Open an IPC file (an older data.arrow): check both magics, read the footer, and the metadata of every batch. */
export async function openArrowFile(file: string): Promise<ArrowFile> {
  const handle = await openOrExplain(file);
  const fix = 'delete it and run `prototoken merge` on the folder to rebuild it from the parts';
  try {
    const { size } = await handle.stat();
    const hasMagic = async (at: number): Promise<boolean> => {
      if (at < 0 || at + FILE_MAGIC.length > size) return false;
      const b = await readAt(handle, at, FILE_MAGIC.length, 0);
      return FILE_MAGIC.every((x, i) => b[i] === x);
    };
    if (size < 2 * FILE_MAGIC.length + 8 || !(await hasMagic(0)) || !(await hasMagic(size - FILE_MAGIC.length))) {
      throw new PrototokenError(`not a complete Arrow IPC file (${size} bytes; the ARROW1 markers at start and end are missing)`, { file, fix });
    }
    const lenAt = size - FILE_MAGIC.length - 4;
    const footerLength = new DataView((await readAt(handle, lenAt, 4, 0)).buffer).getInt32(0, true);
    const footerAt = lenAt - footerLength;
    if (footerLength <= 0 || footerAt < FILE_HEAD_BYTES) {
      throw new PrototokenError(`impossible footer length ${footerLength} at byte ${lenAt}`, { file, fix });
    }
    let footer: Footer;
    try {
      footer = Footer.decode(await readAt(handle, footerAt, footerLength, 0));
    } catch (err) {
      throw new PrototokenError(`unreadable footer at byte ${footerAt} (${errorMessage(err)})`, { file, fix });
    }
    const batches: BatchRef[] = [];
    let index = 0;
    for (const block of footer.recordBatches() as Iterable<FileBlock>) {
      const offset = Number(block.offset);
      const length = block.metaDataLength + Number(block.bodyLength);
      const bad = (what: string): PrototokenError =>
        new PrototokenError(`record batch ${index} at byte offset ${offset}: ${what}`, { file, fix });
      if (!(offset >= FILE_HEAD_BYTES && offset + length <= footerAt)) throw bad('the footer points outside the file');
      const head = await readAt(handle, offset, Math.min(block.metaDataLength, footerAt - offset), 0);
      const step = parseFrame(head, offset, footerAt, false);
      if (step.kind !== 'message') throw bad(step.kind === 'corrupt' ? step.what : 'message cut short');
      if (step.length !== length) throw bad(`its framing says ${step.length} bytes, the footer ${length}`);
      batches.push({ index: index++, offset, length, rows: step.rows });
    }
    // Our writer puts the schema message first, as pyarrow does; Arrow JS's file writer does not.
    const first = parseFrame(await readAt(handle, FILE_HEAD_BYTES, Math.min(HEAD_READ, size - FILE_HEAD_BYTES), 0), FILE_HEAD_BYTES, footerAt, true);
    const schemaMessage = first.kind === 'message' ? { offset: FILE_HEAD_BYTES, length: first.length, type: 'schema' as const, rows: 0 } : null;
    const lastEnd = batches.length ? batches[batches.length - 1].offset + batches[batches.length - 1].length
      : schemaMessage ? schemaMessage.offset + schemaMessage.length : FILE_HEAD_BYTES;
    return makeArrowFile(file, handle, 'file', size, footer.schema, schemaMessage, schemaMessageBytes(footer.schema), batches, null, { offset: lastEnd, length: size - lastEnd });
  } catch (err) {
    await handle.close();
    throw err;
  }
}

function makeArrowFile(
  file: string,
  handle: fsp.FileHandle,
  format: 'stream' | 'file',
  size: number,
  schema: Schema,
  schemaMessage: StreamMessage | null,
  decodePrefix: Uint8Array,
  batches: BatchRef[],
  scan: StreamScan | null,
  footer: { offset: number; length: number } | null,
): ArrowFile {
  return {
    path: file,
    format,
    size,
    schema,
    schemaMessage,
    batches,
    scan,
    footer,
    readBytes: (offset, length) => readAt(handle, offset, length, 0),
    async readBatch(ref) {
      // Room for the schema message in front, so the batch decodes as a one-batch stream without another copy.
      const buffer = await readAt(handle, ref.offset, ref.length, decodePrefix.byteLength);
      buffer.set(decodePrefix, 0);
      const bytes = buffer.subarray(decodePrefix.byteLength);
      const step = parseFrame(bytes, ref.offset, ref.offset + ref.length, false);
      const damaged = (what: string): PrototokenError =>
        new PrototokenError(`record batch ${ref.index} at byte offset ${ref.offset} cannot be decoded (${what})`, {
          file,
          fix: format === 'file' ? 'delete data.arrow and run `prototoken merge` to rebuild it' : 'the part is damaged: delete it and rerun its shard',
        });
      if (step.kind !== 'message' || step.length !== ref.length) throw damaged(step.kind === 'corrupt' ? step.what : 'its framing changed since the file was opened');
      let batch: RecordBatch;
      try {
        const table = tableFromIPC(buffer);
        batch = table.batches[0];
        if (!batch || batch.numRows !== ref.rows) throw new Error(`expected ${ref.rows} rows`);
      } catch (err) {
        throw damaged(errorMessage(err));
      }
      return { ref, batch, bytes };
    },
    close: () => handle.close(),
  };
}

function decodeSchema(schemaBytes: Uint8Array, file: string): Schema {
  try {
    return tableFromIPC(schemaBytes).schema;
  } catch (err) {
    throw new PrototokenError(`cannot decode the Arrow schema (${errorMessage(err)})`, { file, fix: 'the file is corrupt: delete it and rebuild it' });
  }
}

async function openOrExplain(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (err) {
    throw new PrototokenError(`cannot read (${errorMessage(err)})`, { file, fix: 'check the path and permissions' });
  }
}

/** `length` bytes at `offset`, placed after `room` free bytes of a fresh (8-byte aligned) buffer. */
async function readAt(handle: fsp.FileHandle, offset: number, length: number, room: number): Promise<Uint8Array> {
  const out = new Uint8Array(room + length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, room + done, Math.min(IO_CHUNK, length - done), offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? out : out.subarray(0, room + done);
}
