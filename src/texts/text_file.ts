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
 * Duplicate ids, empty texts and an empty file are errors naming file:line.
 */
import { promises as fsp } from 'node:fs';
import { PrototokenError, errorMessage } from '../util/errors.js';

/** One text and its id. */
export interface CorpusText {
  id: string;
  text: string;
}

const END_OF_TEXT = '<|endoftext|>';

/** Read the texts of `file` (format by extension, see the module comment). */
export async function readTexts(file: string): Promise<CorpusText[]> {
  let content: string;
  try {
    content = await fsp.readFile(file, 'utf8');
  } catch (err) {
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
    if (raw.trim() === '') return;
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
    if (text.trim() === '') throw new PrototokenError('"text" is empty', { file: where, fix: 'remove the line or give it a text' });
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
