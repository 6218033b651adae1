/**
 * Safetensors reading and writing, without loading whole checkpoints into memory.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {...}}`, then the tensor bytes;
 * offsets are relative to the first byte after the header.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs_atomic.js';

/** Dtypes `read` converts to float32. */
export const SUPPORTED_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** Bytes per element of every dtype the format defines; lets us check offsets even for dtypes we cannot convert. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/** A header larger than this is not a safetensors header but garbage (or another format). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Bytes read per positional read: bounds the scratch memory for half-precision conversion. */
const CHUNK_BYTES = 16 * 1024 * 1024;

/** What the header says about one tensor. */
export interface TensorInfo { dtype: string; shape: number[] }
/** `begin`/`end`: absolute byte range in the file. */
interface TensorEntry extends TensorInfo { begin: number; end: number }

const REDOWNLOAD = 're-download the model folder (the file is incomplete or corrupt)';

/** One open `.safetensors` file; tensors are read one at a time on demand. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    private readonly entries: Map<string, TensorEntry>,
    /** The optional `__metadata__` string map of the header. */
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  /** Open `file`, parse and validate its header. Throws `PrototokenError` on a missing or corrupt file. */
  static async open(file: string): Promise<SafetensorsFile> {
    // Tensor bytes are viewed in place as little-endian typed arrays.
    if (endianness() !== 'LE') throw new PrototokenError('big-endian hosts are not supported', { file });
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      const problem = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'weights file not found' : errorMessage(err);
      throw new PrototokenError(problem, {
        file,
        fix: 'check the path, or re-download the model folder (it needs model.safetensors, or the index and every shard)',
      });
    }
    try {
      const { entries, metadata } = await readHeader(handle, file);
      return new SafetensorsFile(file, handle, entries, metadata);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Tensor names in header order. */
  names(): string[] { return [...this.entries.keys()]; }
  /** Whether the file holds `name`. */
  has(name: string): boolean { return this.entries.has(name); }

  /** Dtype and shape of `name`, without reading its data. */
  info(name: string): TensorInfo {
    return { dtype: this.entry(name).dtype, shape: [...this.entry(name).shape] };
  }

  /** Read `name` and convert it to float32 (F32, F16 and BF16 are supported). */
  async read(name: string): Promise<Float32Array> {
    const e = this.entry(name);
    if (!(SUPPORTED_DTYPES as readonly string[]).includes(e.dtype)) {
      throw new PrototokenError(
        `tensor '${name}' has dtype ${e.dtype}, which prototoken cannot read (supported: ${SUPPORTED_DTYPES.join(', ')})`,
        { file: this.path, fix: 'convert the checkpoint to float32, float16 or bfloat16 safetensors' },
      );
    }
    const out = new Float32Array(e.shape.reduce((a, b) => a * b, 1));
    if (e.dtype === 'F32') {
      // Read straight into the result: no scratch copy for the common dtype.
      const bytes = new Uint8Array(out.buffer);
      for (let off = 0; off < bytes.length; off += CHUNK_BYTES) {
        await readFully(this.handle, bytes.subarray(off, off + CHUNK_BYTES), e.begin + off, this.path);
      }
      return out;
    }
    // 16-bit dtypes go through a bounded scratch buffer so a 1 GB tensor never needs 1.5 GB.
    const table = e.dtype === 'F16' ? f16Table() : null;
    const outBits = new Uint32Array(out.buffer);
    const scratch = new Uint16Array(Math.min(out.length, CHUNK_BYTES / 2));
    for (let at = 0; at < out.length; at += scratch.length) {
      const bits = scratch.subarray(0, Math.min(scratch.length, out.length - at));
      await readFully(this.handle, new Uint8Array(scratch.buffer, 0, bits.length * 2), e.begin + at * 2, this.path);
      if (table) for (let i = 0; i < bits.length; i++) out[at + i] = table[bits[i]];
      // bfloat16 is the top half of a float32, so a shift is exact (NaN, Inf and subnormals included).
      else for (let i = 0; i < bits.length; i++) outBits[at + i] = bits[i] << 16;
    }
    return out;
  }

  /** Release the file handle. */
  close(): Promise<void> { return this.handle.close(); }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw missingTensor(name, [this.path], this.names());
    return e;
  }
}

async function readHeader(
  handle: fsp.FileHandle,
  file: string,
): Promise<{ entries: Map<string, TensorEntry>; metadata: Record<string, string> }> {
  const size = (await handle.stat()).size;
  if (size < 8) throw new PrototokenError(`file has only ${size} bytes: not safetensors`, { file, fix: REDOWNLOAD });
  const lenBuf = Buffer.alloc(8);
  await readFully(handle, lenBuf, 0, file);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
    throw new PrototokenError(
      `header length field says ${headerLen} bytes, but the file has only ${size} bytes (or it is not safetensors)`,
      { file, fix: REDOWNLOAD },
    );
  }
  const headerBuf = Buffer.alloc(headerLen);
  await readFully(handle, headerBuf, 8, file);
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (err) {
    throw new PrototokenError(`header is not valid JSON (${errorMessage(err)})`, { file, fix: REDOWNLOAD });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new PrototokenError('header is not a JSON object', { file, fix: REDOWNLOAD });
  }
  const dataStart = 8 + headerLen;
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const e = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const { dtype, shape, data_offsets: offsets } = e;
    if (
      typeof dtype !== 'string' || !isCountArray(shape) || !isCountArray(offsets) ||
      offsets.length !== 2 || offsets[0] > offsets[1]
    ) {
      throw new PrototokenError(
        `header entry for tensor '${name}' is malformed (want {dtype, shape, data_offsets: [begin, end]}, ` +
          `got ${JSON.stringify(value)})`,
        { file, fix: REDOWNLOAD },
      );
    }
    const [begin, end] = [dataStart + offsets[0], dataStart + offsets[1]];
    // Checked before the dtype: a cut-off download is the common cause and its fix is the clearest.
    if (end > size) {
      throw new PrototokenError(
        `tensor '${name}' ends at byte ${end} but the file has only ${size} bytes: the file is truncated`,
        { file, fix: 're-download it (the download was probably interrupted)' },
      );
    }
    const elemBytes = DTYPE_BYTES[dtype];
    const count = shape.reduce((a, b) => a * b, 1);
    if (elemBytes !== undefined && end - begin !== count * elemBytes) {
      throw new PrototokenError(
        `tensor '${name}' has data_offsets [${offsets.join(', ')}] (${end - begin} bytes) but shape ` +
          `[${shape.join(', ')}] of ${dtype} needs ${count * elemBytes} bytes`,
        { file, fix: REDOWNLOAD },
      );
    }
    entries.set(name, { dtype, shape, begin, end });
  }
  return { entries, metadata };
}

function isCountArray(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((n) => Number.isSafeInteger(n) && n >= 0);
}

/** Fill `buf` from `position`; a short read means the file shrank under us. */
async function readFully(handle: fsp.FileHandle, buf: Uint8Array, position: number, file: string): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new PrototokenError(`unexpected end of file`, { file, fix: REDOWNLOAD });
    done += bytesRead;
  }
}

/** IEEE 754 binary16 bit pattern -> number (exact; subnormals, ±Inf and NaN included). */
export function f16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (or ±0): no implicit leading 1
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bit pattern -> number (exact). */
export function bf16BitsToFloat32(bits: number): number {
  const u = new Uint32Array([(bits & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0];
}

let f16Cache: Float32Array | null = null;
/** All 65536 half values, built once: a lookup is much faster than decoding per element. */
function f16Table(): Float32Array {
  return (f16Cache ??= Float32Array.from({ length: 65536 }, (_, b) => f16BitsToFloat32(b)));
}

function missingTensor(name: string, files: string[], present: string[]): PrototokenError {
  // Names sharing the last component (e.g. `.weight` of the same module) are the likeliest intended ones.
  const leaf = name.split('.').slice(-2).join('.');
  const similar = present.filter((n) => n.endsWith(leaf));
  const shown = (similar.length ? similar : [...present].sort()).slice(0, 6);
  return new PrototokenError(
    `tensor '${name}' is not in the checkpoint (${present.length} tensors, e.g. ${shown.join(', ')})`,
    { file: files.join(', '), fix: 'check that config.json matches the weights, or re-download the model folder' },
  );
}

/** Tensors of a model folder, whether stored in one file or in shards. */
export interface WeightSource {
  /** Every tensor name, sorted. */
  names(): string[];
  /** Shape of `name` (throws a clear error if absent). */
  shape(name: string): number[];
  /** Read `name` as float32; with `expectedShape`, a different stored shape is a clear error. */
  read(name: string, expectedShape?: number[]): Promise<Float32Array>;
  /** Close every underlying file. */
  close(): Promise<void>;
}

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';

/** Open the weights of `modelDir`: `model.safetensors`, else the shards listed by `model.safetensors.index.json`. */
export async function openWeights(modelDir: string): Promise<WeightSource> {
  const files = await weightFiles(modelDir);
  const opened: SafetensorsFile[] = [];
  const byName = new Map<string, SafetensorsFile>();
  try {
    for (const f of files.shards) opened.push(await SafetensorsFile.open(path.join(modelDir, f)));
    for (const f of opened) for (const n of f.names()) byName.set(n, f);
    for (const [name, shard] of Object.entries(files.weightMap ?? {})) {
      if (byName.get(name)?.path !== path.join(modelDir, shard)) {
        throw new PrototokenError(`the index places tensor '${name}' in ${shard}, but that shard does not hold it`, {
          file: path.join(modelDir, INDEX_FILE),
          fix: REDOWNLOAD,
        });
      }
    }
  } catch (err) {
    await Promise.all(opened.map((f) => f.close()));
    throw err;
  }
  const all = [...byName.keys()].sort();
  const fileOf = (name: string): SafetensorsFile => {
    const f = byName.get(name);
    if (!f) throw missingTensor(name, opened.map((o) => o.path), all);
    return f;
  };
  return {
    names: () => [...all],
    shape: (name) => fileOf(name).info(name).shape,
    async read(name, expectedShape) {
      const f = fileOf(name);
      const got = f.info(name).shape;
      if (expectedShape && (got.length !== expectedShape.length || got.some((d, i) => d !== expectedShape[i]))) {
        throw new PrototokenError(
          `tensor '${name}' has shape [${got.join(', ')}] but config.json implies [${expectedShape.join(', ')}]`,
          { file: f.path, fix: 'the config and weights disagree: use the config.json that came with these weights' },
        );
      }
      return f.read(name);
    },
    close: async () => void (await Promise.all(opened.map((f) => f.close()))),
  };
}

/** The weight files of a folder, relative to it (sorted), plus the index's weight map when sharded. */
async function weightFiles(modelDir: string): Promise<{ shards: string[]; weightMap: Record<string, string> | null }> {
  if (await exists(path.join(modelDir, SINGLE_FILE))) return { shards: [SINGLE_FILE], weightMap: null };
  const indexPath = path.join(modelDir, INDEX_FILE);
  if (!(await exists(indexPath))) {
    throw new PrototokenError(`no ${SINGLE_FILE} or ${INDEX_FILE} in the model folder`, {
      file: modelDir,
      fix: 'download the safetensors weights of the model into this folder (PyTorch .bin checkpoints are not supported)',
    });
  }
  let index: unknown;
  try {
    index = JSON.parse(await fsp.readFile(indexPath, 'utf8'));
  } catch (err) {
    throw new PrototokenError(`cannot parse the shard index (${errorMessage(err)})`, { file: indexPath, fix: REDOWNLOAD });
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || !Object.values(map).every((v) => typeof v === 'string')) {
    throw new PrototokenError('the shard index has no weight_map of tensor name -> shard file', {
      file: indexPath,
      fix: REDOWNLOAD,
    });
  }
  const weightMap = map as Record<string, string>;
  return { shards: [...new Set(Object.values(weightMap))].sort(), weightMap };
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(() => true, () => false);
}

/**
 * SHA-256 identifying the weights of `modelDir`. For a single `model.safetensors` it is the file's own
 * hash (the same as the Hub's LFS sha256); for shards, the hash of `"<sha256>  <shard>\n"` lines over
 * the sorted shard names, like `sha256sum` output.
 */
export async function weightsFingerprint(modelDir: string): Promise<string> {
  const { shards, weightMap } = await weightFiles(modelDir);
  const hashes: string[] = [];
  for (const f of shards) hashes.push(await sha256File(path.join(modelDir, f)));
  if (!weightMap) return hashes[0];
  return createHash('sha256').update(shards.map((f, i) => `${hashes[i]}  ${f}\n`).join('')).digest('hex');
}

/** Streaming SHA-256 of one file (hex). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One float32 tensor to write. `data.length` must equal the product of `shape`. */
export interface F32Tensor { shape: number[]; data: Float32Array }

/**
 * Write float32 tensors as a safetensors file. Atomic: the data goes to a temporary file in the same
 * folder which is then renamed over `file`, so readers never see a half-written file.
 */
export async function writeSafetensors(
  file: string,
  tensors: Record<string, F32Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) {
      throw new PrototokenError(
        `tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`,
        { file },
      );
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  // Padding the header to 8 bytes keeps the data aligned for readers that map the file.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));

  const data = Object.values(tensors).map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  await writeFileAtomic(file, [len, headerBytes, ...data]);
}
