/**
 * Vector files: one float32 tensor of shape [d] in a safetensors file. Every fixed m the tool
 * reads or writes is one (`fit-m --out`, a dataset's m.safetensors, a checkpoint's m.safetensors),
 * and so is a shared start e (`solve --init FILE`).
 *
 * Metadata: `sha256` is the vector's fingerprint (sha256 of its little-endian float32 bytes, so it
 * names the vector itself whatever the header says); `model_fingerprint`, when present, is the
 * weights fingerprint of the model the vector was fitted to, and a reader that knows its model
 * refuses a vector fitted to another.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';
import { PrototokenError } from '../util/errors.js';
import { fsyncDir } from '../util/fs_atomic.js';
import { SafetensorsFile, writeSafetensors } from './safetensors.js';

/** Metadata key under which a vector file records the weights it was fitted to. */
export const VECTOR_MODEL_KEY = 'model_fingerprint';

/** The file a dataset folder or checkpoint snapshot keeps its m in. */
export const M_FILE_NAME = 'm.safetensors';

/** sha256 (hex) of the float32 bytes of `v`: the fingerprint of an m (or any vector). */
export function fingerprintM(v: Float32Array): string {
  // Typed arrays use the host byte order; the fingerprint is defined on little-endian bytes.
  if (endianness() !== 'LE') throw new PrototokenError('big-endian hosts are not supported');
  return createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
}

/**
 * Write `v` as tensor `name` of `file` (atomic: a reader sees the old file or the new one), with
 * its fingerprint and `metadata` in the header, and make the rename durable. Returns the fingerprint.
 */
export async function writeVectorFile(file: string, name: string, v: Float32Array, metadata: Record<string, string> = {}): Promise<string> {
  const sha256 = fingerprintM(v);
  await writeSafetensors(file, { [name]: { shape: [v.length], data: v } }, { ...metadata, sha256 });
  await fsyncDir(path.dirname(file));
  return sha256;
}

/**
 * The vector `name` of `file`, of `d` values (null: any); a folder stands for its m.safetensors (a
 * dataset folder or a checkpoint snapshot). When `modelFingerprint` is given and the file names
 * the model it was fitted to, that must be this model. A user's own file may call its one tensor
 * anything, so without a tensor `name` a file's only tensor is taken (`soleTensor: false` refuses
 * that). Every problem is a PrototokenError naming the file.
 */
export async function readVector(
  file: string,
  name: string,
  d: number | null,
  modelFingerprint: string | null,
  options: { soleTensor?: boolean } = {},
): Promise<Float32Array> {
  const at = (await fsp.stat(file).catch(() => null))?.isDirectory() ? path.join(file, M_FILE_NAME) : file;
  const st = await SafetensorsFile.open(at);
  try {
    const names = st.names();
    const key = st.has(name) ? name : (options.soleTensor ?? true) && names.length === 1 ? names[0] : null;
    if (!key) throw new PrototokenError(`no tensor "${name}" (found ${foundList(names)})${names.length > 1 ? `; this is not a vector file (a model's weights?)` : ''}`, { file: at, fix: whatVectorFile(name) });
    const info = st.info(key);
    if (info.shape.length !== 1 || (d !== null && info.shape[0] !== d)) {
      throw new PrototokenError(`"${key}" has shape [${info.shape}] but this model needs [${d ?? 'd'}]`, { file: at, fix: 'use a file made for this model' });
    }
    const made = st.metadata[VECTOR_MODEL_KEY];
    if (modelFingerprint && made && made !== modelFingerprint) {
      throw new PrototokenError(`this vector was fitted to other model weights (${made.slice(0, 12)}…, this model is ${modelFingerprint.slice(0, 12)}…)`, {
        file: at,
        fix: 'fit m for this model with `prototoken fit-m`',
      });
    }
    return await st.read(key);
  } finally {
    await st.close();
  }
}

/** Names shown when a file lacks the tensor asked for: a few, never a model's hundreds. */
const SHOWN_NAMES = 4;

function foundList(names: readonly string[]): string {
  if (names.length === 0) return 'no tensors';
  const shown = names.slice(0, SHOWN_NAMES).join(', ');
  return `${names.length} tensor${names.length === 1 ? '' : 's'}: ${shown}${names.length > SHOWN_NAMES ? `, and ${names.length - SHOWN_NAMES} more` : ''}`;
}

/** What a vector file is and how to get one, for the fix of a wrong file. */
function whatVectorFile(name: string): string {
  const what = `a vector file is a .safetensors file holding one float32 vector "${name}" of d_model values`;
  return name === 'm'
    ? `${what}: make one with \`prototoken fit-m --out m.safetensors\`, or pass a dataset folder (its m.safetensors) or a checkpoint's m.safetensors`
    : `${what} (e.g. the mean e of a dataset); or pass a solution dataset folder for per-text starts`;
}
