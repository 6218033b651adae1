/**
 * Text files: the texts a run works through, each with a stable id (ids decide shards,
 * splits and resume, so they must not change between runs).
 *
 * - `.jsonl` / `.ndjson`: one JSON object per line, `{"id": ..., "text": "..."}`; `id` (string or
 *   number) is optional and defaults to the 1-based line number. Blank lines are skipped. The text
 *   is used exactly as stored.
 * - Anything else is plain text. If it contains `<|endoftext|>`, texts are the pieces between
 *   those markers; otherwise they are blocks separated by blank lines (lines of only whitespace).
 *   The whitespace around a marker or blank line belongs to the separator, so each piece is trimmed
 *   at both ends; inside a text nothing is changed. A text's id is the 1-based line number of its
 *   first line.
 *
 * Duplicate ids, empty texts and an empty file are errors naming file:line. Files are UTF-8: bytes
 * that are not (a Latin-1 "café") are an error naming the line, never replaced by U+FFFD; a
 * caller that knows the file is Latin-1 says so (`encoding: 'latin1'`).
 */
import { isUtf8 } from 'node:buffer';
import { promises as fsp } from 'node:fs';
import { PrototokenError, errorMessage } from '../util/errors.js';

/** One text and its id. */
export interface CorpusText {
  id: string;
  text: string;
}

const END_OF_TEXT = '<|endoftext|>';

/** How the bytes of a text file are decoded. */
export type TextEncoding = 'utf-8' | 'latin1';

/** Read the texts of `file` (format by extension, see the module comment). */
export async function readTexts(file: string, options: { encoding?: TextEncoding } = {}): Promise<CorpusText[]> {
  let content: string;
  try {
    const bytes = await fsp.readFile(file);
    if ((options.encoding ?? 'utf-8') === 'latin1') content = bytes.toString('latin1');
    else {
      if (!isUtf8(bytes)) throw notUtf8(bytes, file);
      content = bytes.toString('utf8');
    }
  } catch (err) {
    if (err instanceof PrototokenError) throw err;
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PrototokenError(missing ? 'text file not found' : `cannot read the text file (${errorMessage(err)})`, {
      file,
      fix: 'check the path passed as the texts (a .jsonl file or a plain .txt file)',
    });
  }
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1); // a byte-order mark is not part of any text
  const texts = /\.(jsonl|ndjson)$/i.test(file) ? parseJsonl(content, file) : parsePlain(content);
  if (texts.length === 0) {
    throw new PrototokenError('holds no texts', {
      file,
      fix: 'JSONL needs one {"id": ..., "text": "..."} object per line; plain text needs blocks separated by blank lines or <|endoftext|>',
    });
  }
  const firstLine = new Map<string, number>();
  for (const t of texts) {
    const seen = firstLine.get(t.id);
    if (seen !== undefined) {
      throw new PrototokenError(`duplicate text id '${t.id}' (lines ${seen} and ${t.line})`, {
        file: `${file}:${t.line}`,
        fix: 'give every text a unique id',
      });
    }
    firstLine.set(t.id, t.line);
  }
  return texts.map(({ id, text }) => ({ id, text }));
}

interface Located extends CorpusText {
  line: number;
}

function parseJsonl(content: string, file: string): Located[] {
  const out: Located[] = [];
  const lines = content.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (!/\S/.test(raw)) return; // blank (a test, not a trimmed copy: a line may be 100 MB)
    const where = `${file}:${line}`;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw new PrototokenError(`not valid JSON (${errorMessage(err)})`, { file: where, fix: 'each line must be one JSON object like {"id": "a", "text": "..."}' });
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new PrototokenError('not a JSON object', { file: where, fix: 'each line must be one JSON object like {"id": "a", "text": "..."}' });
    }
    const { id, text } = obj as { id?: unknown; text?: unknown };
    if (typeof text !== 'string') {
      throw new PrototokenError(text === undefined ? 'no "text" field' : `"text" is a ${typeof text}, not a string`, {
        file: where,
        fix: 'give every line a "text" string',
      });
    }
    if (!/\S/.test(text)) throw new PrototokenError('"text" is empty', { file: where, fix: 'remove the line or give it a text' });
    if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
      throw new PrototokenError(`"id" is a ${typeof id}; use a string or a number`, { file: where });
    }
    const textId = id === undefined || id === null ? String(line) : String(id);
    if (textId === '') throw new PrototokenError('"id" is empty', { file: where, fix: 'use a non-empty id or leave it out' });
    out.push({ id: textId, text, line });
  });
  return out;
}

function parsePlain(content: string): Located[] {
  const separator = content.includes(END_OF_TEXT) ? END_OF_TEXT : /\n[ \t\r\f\v]*\n/;
  const out: Located[] = [];
  let offset = 0;
  let lineAtOffset = 1;
  const lineOf = (pos: number): number => {
    // Pieces come in order, so the line count only ever moves forward.
    for (let i = offset; i < pos; i++) if (content.charCodeAt(i) === 10) lineAtOffset++;
    offset = pos;
    return lineAtOffset;
  };
  for (const piece of splitKeepingOffsets(content, separator)) {
    const lead = piece.text.length - piece.text.trimStart().length;
    const text = piece.text.trim();
    if (text === '') continue;
    const line = lineOf(piece.start + lead);
    out.push({ id: String(line), text, line });
  }
  return out;
}

/** Split `s` on `sep`, returning each piece with its start offset. */
function splitKeepingOffsets(s: string, sep: string | RegExp): { text: string; start: number }[] {
  const pieces: { text: string; start: number }[] = [];
  const re = typeof sep === 'string' ? new RegExp(sep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : new RegExp(sep.source, 'g');
  let start = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    pieces.push({ text: s.slice(start, m.index), start });
    start = m.index + m[0].length;
  }
  pieces.push({ text: s.slice(start), start });
  return pieces;
}

/** The error for bytes that are not UTF-8, naming the line and byte of the first bad sequence. */
function notUtf8(bytes: Buffer, file: string): PrototokenError {
  const at = firstInvalidUtf8(bytes);
  let line = 1;
  for (let i = bytes.indexOf(10); i !== -1 && i < at; i = bytes.indexOf(10, i + 1)) line++;
  // The bad byte and the continuation bytes after it (an overlong or cut sequence is all of them).
  let end = at + 1;
  while (end < Math.min(bytes.length, at + 4) && (bytes[end] & 0xc0) === 0x80) end++;
  const shown = [...bytes.subarray(at, end)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
  return new PrototokenError(`not UTF-8: ${end - at > 1 ? 'bytes' : 'byte'} ${shown} at byte offset ${at} ${end - at > 1 ? 'are' : 'is'} not valid UTF-8 (a Latin-1 or Windows-1252 file?); texts are read as UTF-8 and never guessed`, {
    file: `${file}:${line}`,
    fix: `convert the file to UTF-8, e.g. \`iconv -f latin1 -t utf-8 ${file} > ${file.replace(/(\.[^./\\]*)?$/, '.utf8$1')}\``,
  });
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (bytes.length when none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: sequence length and the allowed range of the second byte (no overlongs, no surrogates, <= U+10FFFF).
    const [n, lo, hi] = b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
      : b === 0xe0 ? [3, 0xa0, 0xbf] : b === 0xed ? [3, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf]
      : b === 0xf0 ? [4, 0x90, 0xbf] : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : [0, 0, 0];
    if (n === 0 || i + n > bytes.length || bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (let k = 2; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += n;
  }
  return bytes.length;
}
