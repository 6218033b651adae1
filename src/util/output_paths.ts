/** Checks on where a command will write, made before any work starts so a bad path loses nothing. */
import { promises as fsp } from 'node:fs';
import { PrototokenError } from './errors.js';

/** Refuse an output folder that exists as a file. */
export async function checkOutputFolder(out: string): Promise<void> {
  const stat = await fsp.stat(out).catch(() => null);
  if (stat && !stat.isDirectory()) throw new PrototokenError('--out must be a folder, but this is a file', { file: out, fix: 'pass a new or existing folder' });
}
