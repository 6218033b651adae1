/**
 * TensorBoard event files without TensorFlow: scalar summaries as hand-encoded `Event` protobufs in
 * TFRecord framing. The only npm writers depend on tfjs-node, which this project cannot require.
 *
 * TFRecord: uint64 LE length | uint32 LE masked CRC-32C of those 8 bytes | data | uint32 LE masked
 * CRC-32C of data. Each writer creates a file of its own (TensorBoard merges every event file in a
 * folder), so a resumed run simply adds a file and never rewrites an old one.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { maskedCrc32c } from './crc32c.js';
import { PrototokenError, errorMessage } from './errors.js';
import { fsyncDir, readFileAligned, writeAll } from './fs_atomic.js';
import { ProtoDecodeError, ProtoReader, ProtoWriter, WireType } from './protobuf.js';

export interface TfEventsOptions {
  /** Flush to disk after this many buffered records. Default 20. */
  flushEvery?: number;
  /** Clock for wall_time, seconds. Default Date.now()/1000. */
  now?: () => number;
}

/** One scalar of an event. */
export interface TfScalar {
  tag: string;
  value: number;
}

/** One decoded `Event` (only the fields this writer uses; others are skipped). */
export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: TfScalar[];
}

/** What TensorBoard expects as the first record of every event file. */
const FILE_VERSION = 'brain.Event:2';
/** Field numbers of tensorflow/core/util/event.proto and framework/summary.proto. */
const EVENT = { wallTime: 1, step: 2, fileVersion: 3, summary: 5 } as const;
const SUMMARY = { value: 1 } as const;
const VALUE = { tag: 1, simpleValue: 2 } as const;
const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

/** Distinguishes writers one process opens within the same second. */
let fileCounter = 0;

export class TfEventsWriter {
  private pending: Uint8Array[] = [];
  private position = 0;
  /** Writes run one after another, in call order, whether started by flush() or by a full buffer. */
  private chain: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly handle: fsp.FileHandle,
    private readonly flushEvery: number,
    private readonly now: () => number,
  ) {}

  /** Create a new event file in `logdir` (created if missing) holding the file_version record. */
  static async open(logdir: string, opts: TfEventsOptions = {}): Promise<TfEventsWriter> {
    const flushEvery = opts.flushEvery ?? 20;
    if (!Number.isInteger(flushEvery) || flushEvery < 1) throw new RangeError(`TfEventsOptions.flushEvery must be a positive integer, got ${flushEvery}`);
    const now = opts.now ?? (() => Date.now() / 1000);
    const fix = 'check that the log folder is writable';
    await fsp.mkdir(logdir, { recursive: true }).catch((err: unknown) => {
      throw new PrototokenError(`cannot create the log folder: ${errorMessage(err)}`, { file: logdir, fix });
    });
    for (;;) {
      const file = path.join(logdir, `events.out.tfevents.${Math.floor(now())}.${os.hostname()}.${process.pid}.${fileCounter++}`);
      let handle: fsp.FileHandle;
      try {
        handle = await fsp.open(file, 'wx'); // never append to another writer's file
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new PrototokenError(`cannot create the event file: ${errorMessage(err)}`, { file, fix });
      }
      const writer = new TfEventsWriter(file, handle, flushEvery, now);
      writer.enqueue(encodeEvent({ wallTime: now(), step: 0, fileVersion: FILE_VERSION, values: [] }));
      try {
        await writer.flush();
        await fsyncDir(logdir);
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
      return writer;
    }
  }

  /** Queue one scalar. */
  scalar(tag: string, value: number, step: number): void {
    this.scalars({ [tag]: value }, step);
  }

  /** Several scalars of the same step in one Event. An empty `values` writes nothing. */
  scalars(values: Record<string, number>, step: number): void {
    if (this.closing) throw new Error(`${this.file}: event writer is closed`);
    if (!Number.isSafeInteger(step)) throw new RangeError(`tfevents step must be an integer, got ${step}`);
    const list = Object.entries(values).map(([tag, value]) => {
      if (tag === '') throw new RangeError('tfevents tag must not be empty');
      if (typeof value !== 'number') throw new TypeError(`tfevents value of "${tag}" must be a number, got ${typeof value}`);
      return { tag, value };
    });
    if (list.length === 0) return;
    this.enqueue(encodeEvent({ wallTime: this.now(), step, values: list }));
  }

  /** Write all queued records (in order, after any write already running). */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.chain = this.chain.then(() => this.write(batch));
    return this.chain;
  }

  /** flush + fsync + close. Calling it again returns the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.flush();
        await this.handle.sync();
      } finally {
        await this.handle.close();
      }
    })();
    return this.closing;
  }

  private enqueue(data: Uint8Array): void {
    this.pending.push(frameRecord(data));
    // A failed background write rejects the chain, so the next flush() or close() reports it.
    if (this.pending.length >= this.flushEvery) this.flush().catch(() => undefined);
  }

  private async write(batch: Uint8Array[]): Promise<void> {
    if (batch.length === 0) return;
    const bytes = Buffer.concat(batch);
    try {
      await writeAll(this.handle, bytes, this.position);
    } catch (err) {
      throw new PrototokenError(`cannot write the event file: ${errorMessage(err)}`, { file: this.file, fix: 'check free disk space' });
    }
    this.position += bytes.length;
  }
}

/** Read back a tfevents file: verify every record's two CRCs (throw naming file + byte offset on mismatch) and decode the events. */
export async function readTfEvents(file: string): Promise<TfEvent[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileAligned(file);
  } catch (err) {
    throw new PrototokenError(`cannot read the event file: ${errorMessage(err)}`, { file, fix: 'check the path' });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: TfEvent[] = [];
  const damaged = (at: number, what: string) =>
    new PrototokenError(`record at byte ${at}: ${what}`, {
      file,
      fix: 'the event file is damaged; move it out of the log folder (TensorBoard reads the other files)',
    });
  for (let at = 0; at < bytes.length; ) {
    if (bytes.length - at < HEADER_BYTES + FOOTER_BYTES) throw damaged(at, `truncated record (${bytes.length - at} bytes left)`);
    const lengthCrc = crcMismatch(bytes.subarray(at, at + 8), view.getUint32(at + 8, true));
    if (lengthCrc) throw damaged(at, `length CRC mismatch ${lengthCrc}`);
    const length = view.getBigUint64(at, true);
    const dataAt = at + HEADER_BYTES;
    if (length > BigInt(bytes.length - dataAt - FOOTER_BYTES)) throw damaged(at, `record length ${length} runs past the end of the file (${bytes.length} bytes)`);
    const data = bytes.subarray(dataAt, dataAt + Number(length));
    const dataCrc = crcMismatch(data, view.getUint32(dataAt + data.length, true));
    if (dataCrc) throw damaged(at, `data CRC mismatch ${dataCrc}, data at bytes ${dataAt}..${dataAt + data.length - 1}`);
    try {
      events.push(decodeEvent(new ProtoReader(data, dataAt)));
    } catch (err) {
      if (err instanceof ProtoDecodeError) throw damaged(at, `malformed Event: ${err.message}`);
      throw err;
    }
    at = dataAt + data.length + FOOTER_BYTES;
  }
  return events;
}

/** Undefined when `stored` is the masked CRC of `bytes`, else both values for the message. */
function crcMismatch(bytes: Uint8Array, stored: number): string | undefined {
  const computed = maskedCrc32c(bytes);
  return computed === stored ? undefined : `(stored 0x${hex(stored)}, computed 0x${hex(computed)})`;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** One TFRecord around `data`. */
function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + data.length + FOOTER_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return out;
}

function encodeEvent(ev: TfEvent): Uint8Array {
  const w = new ProtoWriter().double(EVENT.wallTime, ev.wallTime).varint(EVENT.step, ev.step);
  if (ev.fileVersion !== undefined) w.string(EVENT.fileVersion, ev.fileVersion);
  if (ev.values.length > 0) {
    const summary = new ProtoWriter();
    for (const v of ev.values) summary.bytes(SUMMARY.value, new ProtoWriter().string(VALUE.tag, v.tag).float(VALUE.simpleValue, v.value).finish());
    w.bytes(EVENT.summary, summary.finish());
  }
  return w.finish();
}

function decodeEvent(r: ProtoReader): TfEvent {
  const ev: TfEvent = { wallTime: 0, step: 0, values: [] };
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === EVENT.wallTime) {
      r.expect(field, wire, WireType.fixed64);
      ev.wallTime = r.double();
    } else if (field === EVENT.step) {
      r.expect(field, wire, WireType.varint);
      ev.step = r.varint();
    } else if (field === EVENT.fileVersion) {
      r.expect(field, wire, WireType.lengthDelimited);
      ev.fileVersion = r.string();
    } else if (field === EVENT.summary) {
      r.expect(field, wire, WireType.lengthDelimited);
      ev.values.push(...decodeSummary(r.message()));
    } else {
      r.skip(wire);
    }
  }
  return ev;
}

/** The simple_value scalars of a Summary; values of other kinds (images, tensors) are skipped. */
function decodeSummary(r: ProtoReader): TfScalar[] {
  const out: TfScalar[] = [];
  while (!r.done) {
    const { field, wire } = r.key();
    if (field !== SUMMARY.value) {
      r.skip(wire);
      continue;
    }
    r.expect(field, wire, WireType.lengthDelimited);
    const v = r.message();
    let tag = '';
    let value: number | undefined;
    while (!v.done) {
      const k = v.key();
      if (k.field === VALUE.tag) {
        v.expect(k.field, k.wire, WireType.lengthDelimited);
        tag = v.string();
      } else if (k.field === VALUE.simpleValue) {
        v.expect(k.field, k.wire, WireType.fixed32);
        value = v.float();
      } else {
        v.skip(k.wire);
      }
    }
    if (value !== undefined) out.push({ tag, value });
  }
  return out;
}
