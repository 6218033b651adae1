/**
 * Checksum sidecars: `part-SSSSS-of-NNNNN.index.jsonl` next to each part, `data.index.jsonl` next
 * to data.arrow. Arrow IPC has no checksums of its own, so without these a flipped bit inside a
 * column's values would read back as a plausible number.
 *
 * One JSON object per line: first a header (`kind: "header"`, which file, which hash, and for
 * data.arrow the merge_id it belongs to), then one entry per message in file order (`schema`,
 * `batch`, and for data.arrow the `end`: the end-of-stream marker) with its byte offset, length,
 * rows and sha256.
 *
 * The writer appends and fsyncs a batch's line first, then the batch itself, so a part that has
 * grown by a whole batch always has its checksum. A line whose batch is missing or cut short
 * (killed between or during the two writes) is a torn tail: ignored by readers, cut and re-solved
 * by the next writer. A batch without a line cannot come from a crash; it is ignored the same way.
 * A line without its newline is torn too and ignored.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PrototokenError, errorMessage } from '../util/errors.js';

/** The hash every entry uses (node:crypto, hardware-accelerated where the CPU has SHA extensions). */
export const INDEX_HASH = 'sha256';
/** Value of the header's `format`. */
export const INDEX_FORMAT = 'prototoken-index';

/** First line of a sidecar. */
export interface IndexHeader {
  kind: 'header';
  format: typeof INDEX_FORMAT;
  version: 1;
  /** Base name of the Arrow file this index describes. */
  file: string;
  hash: typeof INDEX_HASH;
  /** data.arrow only: the merge that wrote both, so a half-finished merge's index is never trusted. */
  merge_id?: string;
}

/** One checksummed message. */
export interface IndexEntry {
  kind: 'schema' | 'batch' | 'end';
  /** Position among record batches (0-based); -1 for the schema and the end. */
  batch: number;
  offset: number;
  length: number;
  rows: number;
  sha256: string;
  /** Batches: rows and solved rows per split, so a loader can plan without reading the batch. */
  split_rows?: SplitRows;
}

/** Per split, [rows, solved rows]. */
export type SplitRows = Record<'train' | 'val' | 'test', [number, number]>;

/** The split counts of a batch's rows. */
export function splitRowsOf(split: readonly string[], solved: ArrayLike<number>): SplitRows {
  const out: SplitRows = { train: [0, 0], val: [0, 0], test: [0, 0] };
  split.forEach((s, i) => {
    const c = out[s as keyof SplitRows];
    if (!c) return;
    c[0]++;
    if (solved[i]) c[1]++;
  });
  return out;
}

/** A sidecar as read. */
export interface LoadedIndex {
  path: string;
  header: IndexHeader;
  entries: IndexEntry[];
  /** Byte length of the complete lines (where the next line goes). */
  end: number;
  /** Bytes of a torn last line, ignored. */
  tornBytes: number;
}

/** `part-00000-of-00002.arrows` -> `part-00000-of-00002.index.jsonl`; `data.arrow` -> `data.index.jsonl`. */
export function indexFileFor(arrowFile: string): string {
  const dir = path.dirname(arrowFile);
  const base = path.basename(arrowFile).replace(/\.arrows?$/, '');
  return path.join(dir, `${base}.index.jsonl`);
}

/** sha256 of `bytes`, hex. */
export function checksum(bytes: Uint8Array): string {
  return createHash(INDEX_HASH).update(bytes).digest('hex');
}

/** The header line for `arrowFile`. */
export function indexHeader(arrowFile: string, mergeId?: string): IndexHeader {
  const h: IndexHeader = { kind: 'header', format: INDEX_FORMAT, version: 1, file: path.basename(arrowFile), hash: INDEX_HASH };
  if (mergeId !== undefined) h.merge_id = mergeId;
  return h;
}

/** One line of the sidecar, newline included. */
export function indexLine(x: IndexHeader | IndexEntry): string {
  return `${JSON.stringify(x)}\n`;
}

/** Read the sidecar of `arrowFile`; null when there is none (a dataset written before checksums). */
export async function readIndex(arrowFile: string): Promise<LoadedIndex | null> {
  const file = indexFileFor(arrowFile);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PrototokenError(`cannot read the checksum index (${errorMessage(err)})`, { file, fix: 'check the permissions' });
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = complete.split('\n').filter((l) => l !== '');
  const bad = (lineNo: number, what: string): PrototokenError =>
    new PrototokenError(`line ${lineNo}: ${what}`, {
      file,
      fix: `the checksum index is damaged; run \`prototoken verify ${path.dirname(file)}\`, and if the Arrow file is fine, delete the index (the file then reads unverified)`,
    });
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw bad(i + 1, 'not JSON');
    }
  });
  const header = parsed[0] as Partial<IndexHeader> | undefined;
  if (!header || header.kind !== 'header' || header.format !== INDEX_FORMAT || header.hash !== INDEX_HASH) {
    throw bad(1, `not a ${INDEX_FORMAT} header with hash ${INDEX_HASH}`);
  }
  const entries: IndexEntry[] = [];
  parsed.slice(1).forEach((raw, i) => {
    const e = raw as Partial<IndexEntry>;
    const ints = [e.batch, e.offset, e.length, e.rows].every((v) => Number.isSafeInteger(v));
    if (!ints || (e.kind !== 'schema' && e.kind !== 'batch' && e.kind !== 'end') || typeof e.sha256 !== 'string') {
      throw bad(i + 2, 'not an index entry');
    }
    entries.push(e as IndexEntry);
  });
  const end = Buffer.byteLength(complete, 'utf8');
  return { path: file, header: header as IndexHeader, entries, end, tornBytes: Buffer.byteLength(text, 'utf8') - end };
}

/** The error for bytes that do not match their recorded checksum. */
export function checksumMismatch(file: string, entry: IndexEntry, fix: string): PrototokenError {
  const what = entry.kind === 'batch' ? `record batch ${entry.batch}` : entry.kind === 'end' ? 'the end-of-stream marker' : 'the schema message';
  return new PrototokenError(
    `${what} (bytes ${entry.offset}..${entry.offset + entry.length}, ${entry.rows} rows) does not match its recorded sha256: the file is damaged at or after byte offset ${entry.offset}`,
    { file, fix },
  );
}
