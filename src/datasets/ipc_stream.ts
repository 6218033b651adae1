/**
 * Arrow IPC stream framing: find where the last complete message ends, so a part killed mid-write
 * can be read (and resumed) up to its last complete record batch.
 *
 * A stream is a sequence of messages, each `0xFFFFFFFF, int32 metadataLength, metadata
 * (flatbuffer, padded to 8), body (message.bodyLength bytes)`, ended by `0xFFFFFFFF 0x00000000`
 * (end of stream, written by a clean close). A writer killed by SIGKILL leaves a *prefix* of a
 * message at the end: a header or body shorter than its own framing says. That is a torn tail:
 * reported, ignored by readers, cut off by the next writer of the part. Anything else that does
 * not parse (a bad marker, metadata that is not a message, a message of the wrong kind) is
 * corruption and an error that names the file.
 */
import { Message, MessageHeader, RecordBatchStreamWriter } from 'apache-arrow';
import type { RecordBatch, Schema } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';

const CONTINUATION = 0xffffffff;
/** The end-of-stream marker. */
export const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** One complete message: bytes [offset, offset + length). */
export interface StreamMessage {
  offset: number;
  length: number;
  type: 'schema' | 'batch';
}

/** What `scanStream` found. */
export interface StreamScan {
  messages: StreamMessage[];
  /** End of the last complete message (schema or batch): where the next batch goes. */
  dataEnd: number;
  /** Whether an end-of-stream marker follows `dataEnd` (the writer closed cleanly). */
  hasEndMarker: boolean;
  /** Bytes after the last complete message / end marker: a torn write, ignored. */
  tornBytes: number;
}

/**
 * Scan the framing of a stream held in `bytes` (the part named `file`). Throws a PrototokenError
 * if the schema message itself is incomplete or anything is corrupt; a torn tail is not an error.
 */
export function scanStream(bytes: Uint8Array, file: string): StreamScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.byteLength;
  const messages: StreamMessage[] = [];
  let pos = 0;
  let hasEndMarker = false;
  const corrupt = (what: string): PrototokenError =>
    new PrototokenError(`corrupt Arrow stream: ${what} at byte ${pos} of ${size}`, {
      file,
      fix: 'the file was damaged after it was written; delete this part and rerun its shard (resume re-solves only its texts)',
    });
  while (pos < size) {
    if (size - pos < 8) break; // torn inside a message prefix
    if (view.getUint32(pos, true) !== CONTINUATION) throw corrupt('no message marker');
    const metaLength = view.getInt32(pos + 4, true);
    if (metaLength === 0) {
      hasEndMarker = true;
      pos += 8;
      if (pos !== size) throw corrupt('data after the end-of-stream marker');
      break;
    }
    if (metaLength < 0 || metaLength % 8 !== 0) throw corrupt(`impossible metadata length ${metaLength}`);
    if (pos + 8 + metaLength > size) break; // torn inside the metadata
    let message: Message;
    try {
      message = Message.decode(bytes.subarray(pos + 8, pos + 8 + metaLength));
    } catch (err) {
      throw corrupt(`unreadable message metadata (${(err as Error).message})`);
    }
    const first = messages.length === 0;
    const expected = first ? MessageHeader.Schema : MessageHeader.RecordBatch;
    if (message.headerType !== expected) {
      throw corrupt(`a ${MessageHeader[message.headerType] ?? message.headerType} message where a ${first ? 'schema' : 'record batch'} belongs`);
    }
    const bodyLength = message.bodyLength;
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) throw corrupt(`impossible body length ${bodyLength}`);
    const end = pos + 8 + metaLength + bodyLength;
    if (end > size) break; // torn inside the body
    messages.push({ offset: pos, length: end - pos, type: first ? 'schema' : 'batch' });
    pos = end;
  }
  if (messages.length === 0) {
    throw new PrototokenError(`incomplete Arrow stream: the ${size}-byte file does not even hold its schema message`, {
      file,
      fix: 'the part is truncated or not an Arrow stream; delete it and rerun its shard',
    });
  }
  const last = messages[messages.length - 1];
  const dataEnd = last.offset + last.length;
  return { messages, dataEnd, hasEndMarker, tornBytes: size - pos };
}

/** Serialize `batches` as a stream and return its messages' bytes (schema first). */
function serialize(schema: Schema, batches: RecordBatch[]): { bytes: Uint8Array; scan: StreamScan } {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  for (const b of batches) writer.write(b);
  writer.finish();
  const bytes = writer.toUint8Array(true);
  return { bytes, scan: scanStream(bytes, '<in-memory stream>') };
}

/** The bytes of the schema message alone: how every part file starts. */
export function schemaMessageBytes(schema: Schema): Uint8Array {
  const { bytes, scan } = serialize(schema, []);
  const m = scan.messages[0];
  return bytes.slice(m.offset, m.offset + m.length);
}

/**
 * The bytes of one record batch message, ready to append to a stream whose schema message is
 * already on disk (a second schema message mid-stream would make the part unreadable).
 */
export function batchMessageBytes(batch: RecordBatch): Uint8Array {
  const { bytes, scan } = serialize(batch.schema, [batch]);
  const m = scan.messages[1];
  return bytes.subarray(m.offset, m.offset + m.length);
}
