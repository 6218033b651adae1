/**
 * Errors that reach a person. The CLI prints `message` alone (no stack) and exits non-zero, so
 * the message must name the input at fault and say how to fix it.
 */
export class PrototokenError extends Error {
  /** What is wrong, without the file and the fix (to restate it under another fix). */
  readonly problem: string;
  /** The file or input the problem is about, when there is one. */
  readonly file: string | undefined;
  /** What the user can do about it. */
  readonly fix: string | undefined;

  constructor(problem: string, where?: { file?: string; fix?: string }) {
    const parts = [where?.file ? `${where.file}: ${problem}` : problem];
    if (where?.fix) parts.push(`Fix: ${where.fix}`);
    super(parts.join('\n'));
    this.name = 'PrototokenError';
    this.problem = problem;
    this.file = where?.file;
    this.fix = where?.fix;
  }
}

/** Narrow an unknown thrown value to a readable message. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a system error code means for the person at the keyboard, and what they can do. */
const SYSTEM_ERRORS: Record<string, { problem: string; fix: string }> = {
  ENOSPC: { problem: 'no space left on the device', fix: 'free disk space, or write somewhere else' },
  EDQUOT: { problem: 'disk quota exceeded', fix: 'free space in your quota, or write somewhere else' },
  EACCES: { problem: 'permission denied', fix: 'check the permissions, or use another path' },
  EPERM: { problem: 'operation not permitted', fix: 'check the permissions, or use another path' },
  EROFS: { problem: 'read-only file system', fix: 'write somewhere else' },
  ENOENT: { problem: 'no such file or folder', fix: 'check the path' },
  EISDIR: { problem: 'is a folder where a file was expected', fix: 'pass a file path' },
  ENOTDIR: { problem: 'a part of this path is a file, not a folder', fix: 'check the path' },
  EEXIST: { problem: 'already exists', fix: 'remove it, or use another path' },
  ENAMETOOLONG: { problem: 'the path is too long', fix: 'use a shorter path' },
  EMFILE: { problem: 'too many open files', fix: 'raise the limit (ulimit -n), or run fewer jobs at once' },
  EIO: { problem: 'input/output error (the disk or network share failed)', fix: 'check the device, then run the command again' },
};

/**
 * A file-system error (ENOSPC, EACCES, ENOENT, ...) as a message about the path it concerns, or
 * null when `err` is not one: the environment's problem, told as such, never an "internal error".
 */
export function systemErrorAsUserError(err: unknown): PrototokenError | null {
  if (!(err instanceof Error)) return null;
  const { code, path: file, dest } = err as NodeJS.ErrnoException & { dest?: string };
  const known = typeof code === 'string' ? SYSTEM_ERRORS[code] : undefined;
  if (!known) return null;
  const where = typeof dest === 'string' && code === 'EEXIST' ? dest : file;
  return new PrototokenError(`${known.problem} (${code})`, { file: where, fix: known.fix });
}
