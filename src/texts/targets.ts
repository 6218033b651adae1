/**
 * Texts -> solver targets: the first N text tokens (no BOS: the LM must emit the text itself).
 * A text shorter than N is reported and skipped, never padded.
 */
import type { TextTokenizer } from '../lm/tokenizer.js';
import { PrototokenError } from '../util/errors.js';
import { type TextItem, textTokens } from './tokens.js';

export type { TextItem } from './tokens.js';

/** One text as the LM must emit it: its id and N target token ids. */
export interface TextTarget {
  id: string;
  ids: Int32Array;
  /** The decoded N-token target, i.e. exactly what the LM is asked to emit. */
  text: string;
}

export interface PreparedTargets {
  targets: TextTarget[];
  /** Texts with fewer than N tokens: id and token count. */
  tooShort: { id: string; tokens: number }[];
}

/** Tokenize (only as far as N tokens) and cut every text to N tokens; `file` names the source in errors. */
export function prepareTargets(texts: readonly TextItem[], tokenizer: TextTokenizer, N: number, file: string): PreparedTargets {
  const targets: PreparedTargets['targets'] = [];
  const tooShort: PreparedTargets['tooShort'] = [];
  for (const t of texts) {
    const ids = textTokens(t, tokenizer, N);
    if (ids.length < N) tooShort.push({ id: t.id, tokens: ids.length });
    else targets.push({ id: t.id, text: tokenizer.decode(ids.slice(0, N)), ids: Int32Array.from(ids.slice(0, N)) });
  }
  if (targets.length === 0) {
    throw new PrototokenError(`no text has at least N=${N} tokens (${tooShort.length} too short)`, {
      file,
      fix: 'use a smaller --length or longer texts',
    });
  }
  return { targets, tooShort };
}
