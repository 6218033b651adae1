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
import { Message, MessageHeader, RecordBatchStreamWriter, type RecordBatch, type Schema } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';

const CONTINUATION = 0xffffffff;
/** The end-of-stream marker. */
export const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** One complete message: bytes [offset, offset + length). */
export interface StreamMessage {
  offset: number;
  length: number;
  type: 'schema' | 'batch';
  /** Rows of a record batch (0 for the schema). */
  rows: number;
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

/** What the 8-byte prefix and metadata at one position say. */
export type FrameStep =
  | { kind: 'torn' }
  | { kind: 'end' }
  | { kind: 'message'; metaLength: number; length: number; type: 'schema' | 'batch'; rows: number }
  | { kind: 'corrupt'; what: string };

/** Bytes `parseFrame` needs to see at a position: the prefix first, then prefix + metadata. */
export const FRAME_PREFIX = 8;

/**
 * Parse the message starting at `pos` of a `size`-byte stream, given `head` = the bytes from `pos`
 * (at least the prefix and metadata when they exist; fewer means the tail is torn). `first` says
 * whether a schema message is expected. Pure, so in-memory and file-backed scans share it.
 */
export function parseFrame(head: Uint8Array, pos: number, size: number, first: boolean): FrameStep {
  if (size - pos < FRAME_PREFIX || head.byteLength < FRAME_PREFIX) return { kind: 'torn' };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0, true) !== CONTINUATION) return { kind: 'corrupt', what: 'no message marker' };
  const metaLength = view.getInt32(4, true);
  if (metaLength === 0) return { kind: 'end' };
  if (metaLength < 0 || metaLength % 8 !== 0) return { kind: 'corrupt', what: `impossible metadata length ${metaLength}` };
  if (pos + FRAME_PREFIX + metaLength > size || head.byteLength < FRAME_PREFIX + metaLength) return { kind: 'torn' };
  let message: Message;
  try {
    message = Message.decode(head.subarray(FRAME_PREFIX, FRAME_PREFIX + metaLength));
  } catch (err) {
    return { kind: 'corrupt', what: `unreadable message metadata (${(err as Error).message})` };
  }
  const expected = first ? MessageHeader.Schema : MessageHeader.RecordBatch;
  if (message.headerType !== expected) {
    return { kind: 'corrupt', what: `a ${MessageHeader[message.headerType] ?? message.headerType} message where a ${first ? 'schema' : 'record batch'} belongs` };
  }
  const bodyLength = message.bodyLength;
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) return { kind: 'corrupt', what: `impossible body length ${bodyLength}` };
  const length = FRAME_PREFIX + metaLength + bodyLength;
  if (pos + length > size) return { kind: 'torn' };
  const rows = first ? 0 : (message.header() as { length: number }).length;
  return { kind: 'message', metaLength, length, type: first ? 'schema' : 'batch', rows };
}

/** The error for a frame that does not parse. */
export function corruptStream(file: string, what: string, pos: number, size: number, batch: number): PrototokenError {
  const where = batch < 0 ? 'in the schema message' : `in record batch ${batch}`;
  return new PrototokenError(`corrupt Arrow stream: ${what} at byte ${pos} of ${size} (${where})`, {
    file,
    fix: 'the file was damaged after it was written; delete this part and rerun its shard (resume re-solves only its texts)',
  });
}

/** The error for a stream without a complete schema message. */
export function noSchema(file: string, size: number): PrototokenError {
  return new PrototokenError(`incomplete Arrow stream: the ${size}-byte file does not even hold its schema message`, {
    file,
    fix: 'the part is truncated or not an Arrow stream; delete it and rerun its shard',
  });
}

/** Turn the messages found and where scanning stopped into a StreamScan. */
export function finishScan(messages: StreamMessage[], stoppedAt: number, hasEndMarker: boolean, size: number, file: string): StreamScan {
  if (messages.length === 0) throw noSchema(file, size);
  const last = messages[messages.length - 1];
  return { messages, dataEnd: last.offset + last.length, hasEndMarker, tornBytes: size - stoppedAt };
}

/** A read the framing loop asks for: `length` bytes at `offset` (fewer back means the data ends there). */
export interface FrameRead {
  offset: number;
  length: number;
}

/**
 * The framing loop over a `size`-byte stream (the part named `file`), shared by the in-memory scan
 * and the file-backed one: it yields each read it needs and is resumed with those bytes, so a
 * synchronous and an asynchronous driver run the very same steps. At a message position it asks
 * for up to `headRead` bytes; when the metadata turns out longer, once more for exactly prefix +
 * metadata. Returns what `scanStream` returns and throws what it throws.
 */
export function* scanFrames(size: number, file: string, headRead: number): Generator<FrameRead, StreamScan, Uint8Array> {
  const messages: StreamMessage[] = [];
  let pos = 0;
  let hasEndMarker = false;
  while (pos < size) {
    let head = yield { offset: pos, length: Math.min(headRead, size - pos) };
    let step = parseFrame(head, pos, size, messages.length === 0);
    if (step.kind === 'torn' && head.byteLength >= FRAME_PREFIX && head.byteLength < size - pos) {
      // Metadata longer than the first read: read exactly prefix + metadata and look again.
      const metaLength = new DataView(head.buffer, head.byteOffset).getInt32(4, true);
      head = yield { offset: pos, length: Math.min(FRAME_PREFIX + Math.max(0, metaLength), size - pos) };
      step = parseFrame(head, pos, size, messages.length === 0);
    }
    if (step.kind === 'torn') break;
    if (step.kind === 'corrupt') throw corruptStream(file, step.what, pos, size, messages.length - 1);
    if (step.kind === 'end') {
      hasEndMarker = true;
      pos += FRAME_PREFIX;
      if (pos !== size) throw corruptStream(file, 'data after the end-of-stream marker', pos, size, messages.length - 1);
      break;
    }
    messages.push({ offset: pos, length: step.length, type: step.type, rows: step.rows });
    pos += step.length;
  }
  return finishScan(messages, pos, hasEndMarker, size, file);
}

/**
 * Scan the framing of a stream held in `bytes` (the part named `file`). Throws a PrototokenError
 * if the schema message itself is incomplete or anything is corrupt; a torn tail is not an error.
 */
export function scanStream(bytes: Uint8Array, file: string): StreamScan {
  // Every read is the rest of the bytes, so the loop never needs a second look.
  const frames = scanFrames(bytes.byteLength, file, bytes.byteLength);
  let next = frames.next();
  while (!next.done) next = frames.next(bytes.subarray(next.value.offset, next.value.offset + next.value.length));
  return next.value;
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
