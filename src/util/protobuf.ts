/**
 * The few protocol-buffer wire-format pieces the TensorBoard event writer needs (varints, fixed
 * 32/64-bit numbers, length-delimited fields), so that no protobuf runtime or generated code is
 * pulled in for three tiny messages. Field numbers and message shapes live with their users.
 */

/** Wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** Appends fields to a growing buffer; `finish()` returns the encoded message. */
export class ProtoWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  /** A varint field (int64/uint64/bool/enum). Negative numbers take 10 bytes, as int64 requires. */
  varint(field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf varint field ${field}: ${value} is not a safe integer`);
    this.key(field, WireType.varint);
    this.rawVarint(value);
    return this;
  }

  /** A `double` field. */
  double(field: number, value: number): this {
    this.key(field, WireType.fixed64);
    this.reserve(8);
    this.view.setFloat64(this.len, value, true);
    this.len += 8;
    return this;
  }

  /** A `float` field (the value is rounded to float32). */
  float(field: number, value: number): this {
    this.key(field, WireType.fixed32);
    this.reserve(4);
    this.view.setFloat32(this.len, value, true);
    this.len += 4;
    return this;
  }

  /** A `string` field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A `bytes` or embedded-message field. */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, WireType.lengthDelimited);
    this.rawVarint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  /** The encoded message (a copy; the writer may be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private key(field: number, wire: WireType): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`protobuf field number ${field} out of range`);
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(value: number): void {
    this.reserve(10);
    if (value >= 0) {
      // Division, not bit shifts: JS shifts truncate to 32 bits and steps can exceed 2^31.
      let n = value;
      while (n >= 0x80) {
        this.buf[this.len++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      this.buf[this.len++] = n;
      return;
    }
    // Negative int64 is its 64-bit two's complement (10 bytes); BigInt is only paid for here.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= BigInt(0x80)) {
      this.buf[this.len++] = Number(v & BigInt(0x7f)) | 0x80;
      v >>= BigInt(7);
    }
    this.buf[this.len++] = Number(v);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** Thrown on malformed input; `offset` counts from the start of the outermost message. */
export class ProtoDecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtoDecodeError';
  }
}

/** Reads fields one at a time: `while (!r.done) { const { field, wire } = r.key(); ... r.skip(wire) }`. */
export class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  /** `base`: where `bytes` starts in the outermost buffer, so errors in nested messages give absolute offsets. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** The next field's number and wire type. */
  key(): { field: number; wire: number } {
    const at = this.pos;
    const k = this.varint();
    const field = Math.floor(k / 8);
    if (field < 1) throw this.error('field number 0', at);
    return { field, wire: k % 8 };
  }

  /** A varint, read as a signed int64 (exact up to 2^53). */
  varint(): number {
    const at = this.pos;
    let v = BigInt(0);
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.bytes.length) throw this.error('truncated varint', at);
      const b = this.bytes[this.pos++];
      v |= BigInt(b & 0x7f) << BigInt(shift);
      if (b < 0x80) return Number(BigInt.asIntN(64, v));
    }
    throw this.error('varint longer than 10 bytes', at);
  }

  double(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  float(): number {
    return this.view.getFloat32(this.take(4), true);
  }

  /** A length-delimited field's payload (a view, not a copy). */
  bytesField(): Uint8Array {
    const n = this.lengthPrefix();
    const start = this.take(n);
    return this.bytes.subarray(start, start + n);
  }

  /** An embedded message field, as a reader of its own. */
  message(): ProtoReader {
    const n = this.lengthPrefix();
    const start = this.take(n);
    return new ProtoReader(this.bytes.subarray(start, start + n), this.base + start);
  }

  string(): string {
    const at = this.pos;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytesField());
    } catch (err) {
      if (err instanceof ProtoDecodeError) throw err;
      throw this.error('string is not valid UTF-8', at);
    }
  }

  /** Skip a field of wire type `wire` whose key has been read (unknown fields are legal). */
  skip(wire: number): void {
    if (wire === WireType.varint) this.varint();
    else if (wire === WireType.fixed64) this.take(8);
    else if (wire === WireType.lengthDelimited) this.bytesField();
    else if (wire === WireType.fixed32) this.take(4);
    else throw this.error(`unsupported wire type ${wire}`, this.pos);
  }

  /** Fail, naming the field, unless its wire type is the one its message declares. */
  expect(field: number, wire: number, expected: WireType): void {
    if (wire !== expected) throw this.error(`field ${field} has wire type ${wire}, expected ${expected}`, this.pos);
  }

  private lengthPrefix(): number {
    const at = this.pos;
    const n = this.varint();
    if (n < 0) throw this.error('negative length', at);
    return n;
  }

  /** Consume `n` bytes; returns where they start. */
  private take(n: number): number {
    if (this.pos + n > this.bytes.length) throw this.error(`truncated field (${n} bytes needed, ${this.bytes.length - this.pos} left)`, this.pos);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private error(message: string, at: number): ProtoDecodeError {
    return new ProtoDecodeError(message, this.base + at);
  }
}
