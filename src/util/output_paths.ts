/**
 * Checks on where a command will write, made before any work starts so a bad path loses nothing:
 * the path is not an entry of the wrong kind, an existing file is replaced only when the user said
 * so, and the folder it goes into exists (or, for folders we create, its nearest existing ancestor
 * is a folder) and can be written. Each problem is one PrototokenError naming the path and the fix.
 *
 * A check is not a lock: something may change between the check and the write. The write itself
 * stays atomic (fs_atomic.ts); this only makes the common mistakes cost seconds instead of a run.
 */
import { type Stats, constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PrototokenError } from './errors.js';

export interface OutputFileOptions {
  /** The flag the path came from, for messages. Default '--out'. */
  flag?: string;
  /** An explicit `--overwrite`: an existing file may be replaced. Default false. */
  overwrite?: boolean;
  /** Create missing parent folders when writing (then only the nearest existing one is checked). Default false. */
  createParents?: boolean;
  /** Whether an existing file is this command's own earlier output, which it may replace without --overwrite. */
  ownOutput?: (file: string) => Promise<boolean>;
  /** A file name to suggest when a folder was given instead. Default 'out' plus the path's extension. */
  example?: string;
}

/**
 * Refuse an output file that cannot be written where the user pointed: a folder, an existing file
 * (unless `overwrite`, or it is the command's own earlier output), a missing or unwritable folder.
 */
export async function checkOutputFile(file: string, opts: OutputFileOptions = {}): Promise<void> {
  const flag = opts.flag ?? '--out';
  const stat = await statOrNull(file);
  if (stat?.isDirectory()) {
    throw new PrototokenError(`${flag} is a folder, but it names the file to write`, { file, fix: `pass a file path, e.g. ${path.join(file, opts.example ?? 'out')}` });
  }
  if (stat && !stat.isFile()) throw new PrototokenError(`${flag} exists and is not a regular file`, { file, fix: `pass another ${flag}` });
  if (stat && !opts.overwrite && !(await opts.ownOutput?.(file))) {
    throw new PrototokenError('already exists', { file, fix: `pass --overwrite to replace it, or another ${flag}` });
  }
  if (stat) await checkWritable(file, 'cannot replace this file', constants.W_OK);
  const parent = path.dirname(path.resolve(file));
  if (opts.createParents) await checkCreatable(parent, flag);
  else await checkParentFolder(path.dirname(file), flag);
}

/**
 * Refuse an output folder that is a file or cannot be written in. A missing folder is fine when
 * its nearest existing ancestor is a folder we may write in (commands create it, like mkdir -p).
 */
export async function checkOutputFolder(out: string, flag = '--out'): Promise<void> {
  const stat = await statOrNull(out);
  if (stat && !stat.isDirectory()) throw new PrototokenError(`${flag} must be a folder, but this is a file`, { file: out, fix: 'pass a new or existing folder' });
  if (stat) await checkWritable(out, 'cannot write in this folder', constants.W_OK | constants.X_OK);
  else await checkCreatable(path.dirname(path.resolve(out)), flag);
}

/** The folder a file goes into must exist (we do not invent folders for a file path) and be writable. */
async function checkParentFolder(dir: string, flag: string): Promise<void> {
  const shown = dir === '' ? '.' : dir;
  const stat = await statOrNull(shown);
  if (!stat) throw new PrototokenError(`this folder does not exist, so ${flag} cannot be written into it`, { file: shown, fix: `create it first (mkdir -p ${shown}), or pass another ${flag}` });
  if (!stat.isDirectory()) throw new PrototokenError(`this is a file, so ${flag} cannot be written into it`, { file: shown, fix: `pass another ${flag}` });
  await checkWritable(shown, 'cannot write in this folder', constants.W_OK | constants.X_OK);
}

/** The nearest existing ancestor of `dir` must be a writable folder, so the missing part can be created. */
async function checkCreatable(dir: string, flag: string): Promise<void> {
  let at = dir;
  for (;;) {
    const stat = await statOrNull(at);
    if (stat) {
      if (!stat.isDirectory()) throw new PrototokenError(`this is a file, so the folders of ${flag} cannot be created in it`, { file: at, fix: `pass another ${flag}` });
      await checkWritable(at, 'cannot write in this folder', constants.W_OK | constants.X_OK);
      return;
    }
    const up = path.dirname(at);
    if (up === at) return; // no root at all: let the write say so
    at = up;
  }
}

async function checkWritable(p: string, problem: string, mode: number): Promise<void> {
  try {
    await fsp.access(p, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EACCES';
    throw new PrototokenError(`${problem} (${code === 'EROFS' ? 'read-only file system' : 'permission denied'})`, {
      file: p,
      fix: 'write somewhere you have write permission, or change the permissions',
    });
  }
}

async function statOrNull(p: string): Promise<Stats | null> {
  return fsp.stat(p).catch(() => null);
}
