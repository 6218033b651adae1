/**
 * The two ways this package writes files: whole files replaced atomically (tmp + fsync + rename +
 * fsync of the folder), and appends that are fsync'd before the call returns. A reader, or a
 * process restarted after SIGKILL or power loss, sees either the old or the new state.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** A temporary name next to `file` (same folder, so rename is atomic). Dot-prefixed: no part pattern matches it. */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Delete temporary files of `names` in `dir` left by a process killed before its rename. Only call
 * this as the single writer of those names (a live writer's temporary file would vanish).
 */
export async function removeStaleTemps(dir: string, names: readonly string[]): Promise<void> {
  const prefixes = names.map((n) => `.${n}.tmp-`);
  const entries = await fsp.readdir(dir).catch((): string[] => []);
  await Promise.all(entries.filter((e) => prefixes.some((p) => e.startsWith(p))).map((e) => fsp.rm(path.join(dir, e), { force: true })));
}

/** A file being replaced atomically: `append` its bytes, then `commit()` it or `abort()`. */
export interface AtomicFile {
  /** Write `bytes` after those appended so far (to the temporary file next to the target). */
  append(bytes: Uint8Array): Promise<void>;
  /** fsync, close, rename over the target, fsync the folder. */
  commit(): Promise<void>;
  /** Close (ignoring errors) and delete the temporary file; the target is left as it was. */
  abort(): Promise<void>;
}

/** Open a temporary file that `commit()` renames over `file`: a crash leaves the old file (or none), never a partial one. */
export async function openFileAtomic(file: string): Promise<AtomicFile> {
  const tmp = tempNameFor(file);
  const handle = await fsp.open(tmp, 'w');
  let pos = 0;
  return {
    async append(bytes) {
      await writeAll(handle, bytes, pos);
      pos += bytes.byteLength;
    },
    async commit() {
      await handle.sync();
      await handle.close();
      await fsp.rename(tmp, file);
      await fsyncDir(path.dirname(file));
    },
    async abort() {
      await handle.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
    },
  };
}

/** Write `chunks` to `file` atomically: a crash leaves the old file (or none), never a partial one. */
export async function writeFileAtomic(file: string, chunks: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const atomic = await openFileAtomic(file);
  try {
    const list = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const c of list) await atomic.append(c);
    await atomic.commit();
  } catch (err) {
    await atomic.abort();
    throw err;
  }
}

/** Node refuses single reads and writes above 2 GiB; larger files go through in pieces of this size. */
const IO_CHUNK = 1 << 30;

/** Write every byte of `bytes` at `position` (a single write may be short). */
export async function writeAll(handle: fsp.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done), position + done);
    done += bytesWritten;
  }
}

/** Make a rename or file creation in `dir` durable. Some platforms cannot open folders; that is not an error. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some network filesystems refuse fsync on a folder; rename there is as durable as it gets.
  } finally {
    await handle?.close();
  }
}

/** Whether `p` exists (any kind of entry). */
export async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Read a whole file into a Uint8Array of its own (offset 0 of a fresh ArrayBuffer), so Arrow can
 * view 4- and 8-byte columns in place, and so files above fs.readFile's 2 GiB limit still load.
 */
export async function readFileAligned(file: string): Promise<Uint8Array> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(out, done, Math.min(IO_CHUNK, size - done), done);
      if (bytesRead === 0) return out.subarray(0, done); // shrank while we read (a writer truncated it)
      done += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}
