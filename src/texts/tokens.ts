/**
 * The token ids of a text, as many as a command needs. Most commands use a text's first N tokens
 * (solve, score, eval, capacity, windows of a capped count), so only a prefix is tokenized and a
 * 100 MB line costs what a short story does. Only where every window of a story is wanted is the
 * whole text needed; a huge one is then tokenized in pieces, with progress lines, so its memory
 * stays that of a piece and a person sees why it takes long.
 */
import type { TextTokenizer } from '../lm/tokenizer.js';
import { formatSeconds } from '../util/progress.js';

/** A text to solve; `ids` (when set) are the exact target tokens (random or generated texts). */
export interface TextItem {
  id: string;
  text: string;
  ids?: readonly number[];
}

/** Texts longer than this (UTF-16 units) are tokenized whole in pieces, with progress. */
export const HUGE_TEXT_CHARS = 1 << 20;
/** Characters per piece of a huge text. */
const PIECE_CHARS = 1 << 18;
/** Characters each side of a cut checked for a clean join. */
const JOIN_CONTEXT = 256;
/** Spaces tried per cut before giving up on pieces. */
const CUT_TRIES = 16;
/** Milliseconds between progress lines. */
const PROGRESS_MS = 2000;

/** Where notes about slow tokenization go. Default: stderr lines. */
export type TokenNotes = (line: string) => void;

const stderrLine: TokenNotes = (line) => void process.stderr.write(`${line}\n`);

/** The first `need` token ids of `item` (Infinity: all of them); ids it carries are taken as they are. */
export function textTokens(item: TextItem, tokenizer: TextTokenizer, need: number, notes: TokenNotes = stderrLine): number[] {
  if (item.ids) return Number.isFinite(need) ? item.ids.slice(0, need) : [...item.ids];
  if (Number.isFinite(need)) return tokenizer.encodePrefix(item.text, need);
  return item.text.length > HUGE_TEXT_CHARS ? encodeInPieces(item, tokenizer, notes) : tokenizer.encode(item.text);
}

/**
 * All token ids of a huge text, piece by piece. Pieces end at a space where the join is clean:
 * the tokens of the text around the cut equal those of its two sides, under one of the ways a
 * tokenizer treats the space between words (dropped and implied by the next piece's start, as
 * SentencePiece-style tokenizers do; or kept with either side, as byte-level BPE does). Tokens far
 * from a cut do not depend on it, so the pieces add up to the whole text's tokens. Where no space
 * near a cut joins cleanly, the rest of the text is tokenized in one go.
 */
export function encodeInPieces(item: TextItem, tokenizer: TextTokenizer, notes: TokenNotes, pieceChars = PIECE_CHARS): number[] {
  const text = item.text;
  const out: number[] = [];
  const started = Date.now();
  let lastNote = started;
  let p = 0;
  while (p < text.length) {
    const cut = text.length - p > pieceChars * 1.5 ? cleanCut(text, p + pieceChars, p + pieceChars / 2, tokenizer) : null;
    const end = cut?.end ?? text.length;
    for (const id of tokenizer.encode(text.slice(p, end))) out.push(id);
    p = cut?.next ?? text.length;
    const now = Date.now();
    if (now - lastNote >= PROGRESS_MS && p < text.length) {
      lastNote = now;
      notes(`tokenizing text "${item.id}" (${(text.length / 1e6).toFixed(1)}M characters; every window is wanted, so all of it): ` +
        `${((100 * p) / text.length).toFixed(0)}%, ${formatSeconds((now - started) / 1000)} elapsed`);
    }
  }
  return out;
}

/** A clean cut at a space in [from, at]: the current piece ends at `end`, the next starts at `next`. */
function cleanCut(text: string, at: number, from: number, tokenizer: TextTokenizer): { end: number; next: number } | null {
  for (let q = text.lastIndexOf(' ', at), tries = 0; q >= from && tries < CUT_TRIES; q = text.lastIndexOf(' ', q - 1), tries++) {
    const left = text.slice(Math.max(0, q - JOIN_CONTEXT), q);
    const right = text.slice(q + 1, q + 1 + JOIN_CONTEXT);
    const whole = tokenizer.encode(`${left} ${right}`).join(',');
    const joins = (a: string, b: string): boolean => [...tokenizer.encode(a), ...tokenizer.encode(b)].join(',') === whole;
    if (joins(left, right)) return { end: q, next: q + 1 };
    if (joins(left, ` ${right}`)) return { end: q, next: q };
    if (joins(`${left} `, right)) return { end: q + 1, next: q + 1 };
  }
  return null;
}
