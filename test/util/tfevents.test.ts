// TensorBoard event files: TFRecord framing with masked CRC-32C, Event/Summary protobufs, and a
// reader that checks every CRC. Expected bytes come from the format's definition, not the writer.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { crc32c, maskCrc } from '../../src/util/crc32c.js';
import { PrototokenError } from '../../src/util/errors.js';
import { ProtoReader, ProtoWriter } from '../../src/util/protobuf.js';
import { TfEventsWriter, readTfEvents } from '../../src/util/tfevents.js';

const made: string[] = [];
const tmpdir = async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfevents-'));
  made.push(dir);
  return dir;
};
after(() => Promise.all(made.map((d) => fsp.rm(d, { recursive: true, force: true }))));
const f32 = (x: number) => Math.fround(x);

test('crc32c matches the standard check values', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
});

test('maskCrc rotates right by 15 and adds 0xa282ead8 mod 2^32', () => {
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(1), (0x00020000 + 0xa282ead8) >>> 0);
  assert.equal(maskCrc(0xffffffff), (0xffffffff + 0xa282ead8) % 2 ** 32);
});

test('protobuf varints round-trip, including > 2^31 and negative int64', () => {
  const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER, -1, -(2 ** 40)];
  const w = new ProtoWriter();
  values.forEach((v, i) => w.varint(i + 1, v));
  const bytes = w.finish();
  assert.deepEqual([...new ProtoWriter().varint(1, 300).finish()], [0x08, 0xac, 0x02]); // the protobuf docs' example
  assert.equal(new ProtoWriter().varint(1, -1).finish().length, 11); // key + 10 bytes
  const r = new ProtoReader(bytes);
  const back: number[] = [];
  while (!r.done) {
    const { field, wire } = r.key();
    assert.equal(wire, 0);
    assert.equal(field, back.length + 1);
    back.push(r.varint());
  }
  assert.deepEqual(back, values);
});

test('writer output: version record first, then scalars with steps, times and float32 values; every CRC checked', async () => {
  const dir = path.join(await tmpdir(), 'nested', 'logs');
  let t = 1700000000.25;
  const w = await TfEventsWriter.open(dir, { flushEvery: 3, now: () => (t += 1) });
  assert.match(path.basename(w.file), new RegExp(`^events\\.out\\.tfevents\\.1700000001\\.${os.hostname().replace(/\./g, '\\.')}\\.${process.pid}\\.\\d+$`));
  w.scalar('loss', 1.2345678, 1);
  w.scalars({ 'train/loss': 0.1, 'train/acc': 0.75, big: 3e38 }, 2);
  w.scalar('loss', -2.5, 2 ** 33);
  w.scalar('nan', NaN, 4);
  w.scalars({}, 5); // nothing to write
  await w.close();
  await w.close(); // idempotent
  assert.throws(() => w.scalar('late', 1, 6), /closed/);

  const events = await readTfEvents(w.file);
  assert.equal(events.length, 5);
  assert.deepEqual(events[0], { wallTime: 1700000002.25, step: 0, fileVersion: 'brain.Event:2', values: [] });
  assert.deepEqual(
    events.slice(1).map((e) => e.step),
    [1, 2, 2 ** 33, 4],
  );
  assert.deepEqual(
    events.slice(1).map((e) => e.wallTime),
    [1700000003.25, 1700000004.25, 1700000005.25, 1700000006.25],
  );
  assert.deepEqual(events[1].values, [{ tag: 'loss', value: f32(1.2345678) }]);
  assert.notEqual(events[1].values[0].value, 1.2345678); // really stored as float32
  assert.deepEqual(events[2].values, [
    { tag: 'train/loss', value: f32(0.1) },
    { tag: 'train/acc', value: 0.75 },
    { tag: 'big', value: f32(3e38) },
  ]);
  assert.deepEqual(events[3].values, [{ tag: 'loss', value: -2.5 }]);
  assert.ok(Number.isNaN(events[4].values[0].value));

  // Independent walk over the framing: lengths and both masked CRCs of every record.
  const bytes = await fsp.readFile(w.file);
  let at = 0;
  let records = 0;
  while (at < bytes.length) {
    const len = Number(bytes.readBigUInt64LE(at));
    assert.equal(bytes.readUInt32LE(at + 8), maskCrc(crc32c(bytes.subarray(at, at + 8))), `length CRC of record ${records}`);
    assert.equal(bytes.readUInt32LE(at + 12 + len), maskCrc(crc32c(bytes.subarray(at + 12, at + 12 + len))), `data CRC of record ${records}`);
    at += 12 + len + 4;
    records++;
  }
  assert.equal(at, bytes.length);
  assert.equal(records, 5);
});

test('the first record is the exact bytes of Event{wall_time, step 0, file_version}', async () => {
  const w = await TfEventsWriter.open(await tmpdir(), { now: () => 2 });
  await w.close();
  const bytes = new Uint8Array(await fsp.readFile(w.file));
  // 09 <double 2.0> 10 00 1a 0d "brain.Event:2"
  const data = [0x09, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x10, 0x00, 0x1a, 0x0d, ...new TextEncoder().encode('brain.Event:2')];
  assert.equal(bytes.length, 12 + data.length + 4);
  assert.equal(Number(Buffer.from(bytes).readBigUInt64LE(0)), data.length);
  assert.deepEqual([...bytes.subarray(12, 12 + data.length)], data);
});

test('records are buffered until flushEvery, flush() or close()', async () => {
  const w = await TfEventsWriter.open(await tmpdir(), { flushEvery: 4 });
  const size = async () => (await fsp.stat(w.file)).size;
  const header = await size();
  assert.ok(header > 0, 'the version record is on disk at open');
  for (let s = 1; s <= 3; s++) w.scalar('x', s, s);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await size(), header, 'three records stay buffered');
  w.scalar('x', 4, 4); // the fourth triggers a write
  await w.flush();
  const four = await size();
  assert.ok(four > header);
  w.scalar('x', 5, 5);
  await w.flush();
  assert.ok((await size()) > four);
  await w.close();
  assert.deepEqual(
    (await readTfEvents(w.file)).map((e) => e.values[0]?.value),
    [undefined, 1, 2, 3, 4, 5],
  );
});

test('each writer makes a new file in the same folder', async () => {
  const dir = await tmpdir();
  const a = await TfEventsWriter.open(dir, { now: () => 5 });
  const b = await TfEventsWriter.open(dir, { now: () => 5 });
  a.scalar('x', 1, 1);
  b.scalar('x', 2, 2);
  await Promise.all([a.close(), b.close()]);
  assert.notEqual(a.file, b.file);
  assert.equal((await fsp.readdir(dir)).length, 2);
  assert.equal((await readTfEvents(b.file))[1].values[0].value, 2);
});

test('readTfEvents names the file and the offset of a damaged record', async () => {
  const w = await TfEventsWriter.open(await tmpdir());
  w.scalar('a', 1, 1);
  w.scalar('b', 2, 2);
  await w.close();
  const good = await fsp.readFile(w.file);
  const second = 12 + Number(good.readBigUInt64LE(0)) + 4; // start of record 1
  const third = second + 12 + Number(good.readBigUInt64LE(second)) + 4;

  const corrupt = async (at: number, expected: RegExp) => {
    const bad = Buffer.from(good);
    bad[at] ^= 0x01;
    await fsp.writeFile(w.file, bad);
    await assert.rejects(readTfEvents(w.file), (err: unknown) => {
      assert.ok(err instanceof PrototokenError);
      assert.equal(err.file, w.file);
      assert.match(err.message, expected);
      return true;
    });
  };
  await corrupt(second + 14, new RegExp(`record at byte ${second}: data CRC mismatch`));
  await corrupt(third + 2, new RegExp(`record at byte ${third}: length CRC mismatch`));
  await corrupt(third + 9, new RegExp(`record at byte ${third}: length CRC mismatch`)); // the stored CRC itself
  await corrupt(good.length - 1, new RegExp(`record at byte ${third}: data CRC mismatch`)); // the footer

  await fsp.writeFile(w.file, good.subarray(0, good.length - 3));
  await assert.rejects(readTfEvents(w.file), new RegExp(`record at byte ${third}: record length \\d+ runs past the end`));
  await fsp.writeFile(w.file, Buffer.concat([good, Buffer.alloc(5)]));
  await assert.rejects(readTfEvents(w.file), new RegExp(`record at byte ${good.length}: truncated record`));
});

test('malformed Event bytes under valid CRCs are reported, not misread', async () => {
  const w = await TfEventsWriter.open(await tmpdir());
  await w.close();
  // A record whose data is a key with a truncated varint, framed with correct CRCs.
  const data = Uint8Array.from([0x10, 0x80]);
  const rec = Buffer.alloc(12 + data.length + 4);
  rec.writeBigUInt64LE(BigInt(data.length), 0);
  rec.writeUInt32LE(maskCrc(crc32c(rec.subarray(0, 8))), 8);
  rec.set(data, 12);
  rec.writeUInt32LE(maskCrc(crc32c(data)), 12 + data.length);
  const start = (await fsp.stat(w.file)).size;
  await fsp.appendFile(w.file, rec);
  await assert.rejects(readTfEvents(w.file), new RegExp(`record at byte ${start}: malformed Event: truncated varint at byte ${start + 13}`));
});

test('bad arguments are refused', async () => {
  await assert.rejects(TfEventsWriter.open(await tmpdir(), { flushEvery: 0 }), /flushEvery/);
  const w = await TfEventsWriter.open(await tmpdir());
  assert.throws(() => w.scalar('x', 1, 1.5), /integer/);
  assert.throws(() => w.scalar('', 1, 1), /empty/);
  await w.close();
  await assert.rejects(readTfEvents(path.join(await tmpdir(), 'missing')), PrototokenError);
});
