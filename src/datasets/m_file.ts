/**
 * The shared m of a dataset: `m.safetensors`, one F32 tensor named "m" of shape [d], written with
 * lm/safetensors.ts (atomic tmp + rename). Its fingerprint is the sha256 of the float32 bytes
 * (little-endian), so it identifies m itself, independent of the file's header or metadata.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../lm/safetensors.js';
import { PrototokenError } from '../util/errors.js';
import { exists, fsyncDir } from '../util/fs_atomic.js';
import { M_FILE } from './folder.js';

/** sha256 (hex) of the float32 bytes of `m`. */
export function fingerprintM(m: Float32Array): string {
  // Typed arrays use the host byte order; the fingerprint is defined on little-endian bytes.
  if (endianness() !== 'LE') throw new PrototokenError('big-endian hosts are not supported');
  return createHash('sha256').update(new Uint8Array(m.buffer, m.byteOffset, m.byteLength)).digest('hex');
}

/** Write `m` as `<dir>/m.safetensors` with string `metadata` in the header. Returns its fingerprint. */
export async function writeSharedM(dir: string, m: Float32Array, metadata: Record<string, string> = {}): Promise<string> {
  const fingerprint = fingerprintM(m);
  const file = path.join(dir, M_FILE);
  await writeSafetensors(file, { m: { shape: [m.length], data: m } }, { ...metadata, sha256: fingerprint });
  await fsyncDir(dir);
  return fingerprint;
}

/** The shared m of the dataset in `dir`, or null when it has no m.safetensors. */
export async function readSharedM(dir: string): Promise<Float32Array | null> {
  const file = path.join(dir, M_FILE);
  if (!(await exists(file))) return null;
  const st = await SafetensorsFile.open(file);
  try {
    const info = st.has('m') ? st.info('m') : null;
    if (!info || info.dtype !== 'F32' || info.shape.length !== 1) {
      throw new PrototokenError('expected one F32 tensor "m" of shape [d]', {
        file,
        fix: 'write it with prototoken (the solver saves the shared m there), or delete it and rerun',
      });
    }
    return await st.read('m');
  } finally {
    await st.close();
  }
}
