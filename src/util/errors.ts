/**
 * Errors that reach a person. The CLI prints `message` alone (no stack) and exits non-zero, so
 * the message must name the input at fault and say how to fix it.
 */
export class PrototokenError extends Error {
  /** The file or input the problem is about, when there is one. */
  readonly file: string | undefined;
  /** What the user can do about it. */
  readonly fix: string | undefined;

  constructor(problem: string, where?: { file?: string; fix?: string }) {
    const parts = [where?.file ? `${where.file}: ${problem}` : problem];
    if (where?.fix) parts.push(`Fix: ${where.fix}`);
    super(parts.join('\n'));
    this.name = 'PrototokenError';
    this.file = where?.file;
    this.fix = where?.fix;
  }
}

/** Narrow an unknown thrown value to a readable message. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
