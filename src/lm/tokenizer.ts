/**
 * Text <-> token ids for a Hugging Face model folder, via `@huggingface/tokenizers` (the tokenizer core
 * of transformers.js) reading `tokenizer.json` and `tokenizer_config.json`.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { PrototokenError, errorMessage } from '../util/errors.js';

/** Options of `TextTokenizer.encode`. */
export interface EncodeOptions {
  /**
   * Prefix the BOS id (when the tokenizer has one). Default false: the plain text tokens, which are
   * what the solver must make the model emit. Pass true for model input, which starts with BOS.
   */
  addBos?: boolean;
}

/** Options of `TextTokenizer.decode`. */
export interface DecodeOptions {
  /** Drop special tokens such as BOS/EOS from the text. Default true. */
  skipSpecialTokens?: boolean;
}

/** A loaded tokenizer. */
export interface TextTokenizer {
  /** Token ids of `text`, never with EOS; with BOS only if `opts.addBos`. */
  encode(text: string, opts?: EncodeOptions): number[];
  /**
   * The first `maxTokens` ids of `encode(text)` (all of them when there are fewer), tokenizing only
   * a prefix of the text: time and memory follow `maxTokens`, not the text's length (a 100 MB line
   * costs what a short story does). See `encodePrefixWith`.
   */
  encodePrefix(text: string, maxTokens: number): number[];
  /** Text of `ids`. */
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  bosId: number | null;
  eosId: number | null;
  /** Whether the tokenizer's own post-processor prepends BOS, i.e. the model expects BOS-first input. */
  addsBosByDefault: boolean;
  /** Ids of special tokens (BOS, EOS, UNK, PAD, ...). */
  specialIds: ReadonlySet<number>;
  /** One more than the largest id the tokenizer can produce. */
  vocabSize: number;
  /** SHA-256 (hex) of the tokenizer.json bytes: identifies the tokenization a dataset was made with. */
  hash: string;
}

/** Load `<modelDir>/tokenizer.json` (required) and `<modelDir>/tokenizer_config.json` (optional). */
export async function loadTokenizer(modelDir: string): Promise<TextTokenizer> {
  const file = path.join(modelDir, 'tokenizer.json');
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const problem = missing ? 'tokenizer.json not found' : `cannot read tokenizer.json (${errorMessage(err)})`;
    throw new PrototokenError(problem, {
      file,
      fix:
        'the model folder needs the "fast" tokenizer file tokenizer.json; download it from the model repo ' +
        '(models that ship only tokenizer.model / vocab files are not supported)',
    });
  }
  const tokenizerJson = parseJsonObject(bytes.toString('utf8'), file);
  const configFile = path.join(modelDir, 'tokenizer_config.json');
  const configText = await fsp.readFile(configFile, 'utf8').catch(() => null);
  const config = configText === null ? {} : parseJsonObject(configText, configFile);

  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson, config);
  } catch (err) {
    throw new PrototokenError(`cannot build the tokenizer (${errorMessage(err)})`, {
      file,
      fix: 're-download tokenizer.json; if it is intact, this tokenizer type is not supported by @huggingface/tokenizers',
    });
  }
  return wrap(tok, config, createHash('sha256').update(bytes).digest('hex'));
}

function wrap(tok: Tokenizer, config: Record<string, unknown>, hash: string): TextTokenizer {
  const added = tok.get_added_tokens_decoder();
  const specialIds = new Set([...added].filter(([, t]) => t.special).map(([id]) => id));
  // Ask the post-processor rather than trusting add_bos_token: it is what HF pipelines actually run.
  const plain = tok.encode('a', { add_special_tokens: false }).ids;
  const withSpecial = tok.encode('a').ids;
  const prepended = withSpecial.length > plain.length && specialIds.has(withSpecial[0]) ? withSpecial[0] : null;
  const bosId = tokenIdOf(tok, config.bos_token) ?? prepended;
  const eosId = tokenIdOf(tok, config.eos_token);
  const addsBosByDefault = bosId !== null && prepended === bosId;
  let vocabSize = 0;
  for (const id of tok.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);

  return {
    bosId,
    eosId,
    addsBosByDefault,
    specialIds,
    vocabSize,
    hash,
    encode(text, opts) {
      // Special tokens are added by hand so the result never depends on the post-processor template
      // (which may also append EOS, or add nothing at all).
      const ids = tok.encode(text, { add_special_tokens: false }).ids;
      return opts?.addBos && bosId !== null ? [bosId, ...ids] : ids;
    },
    encodePrefix(text, maxTokens) {
      return encodePrefixWith((s) => tok.encode(s, { add_special_tokens: false }).ids, text, maxTokens);
    },
    decode(ids, opts) {
      return tok.decode([...ids], { skip_special_tokens: opts?.skipSpecialTokens ?? true });
    },
  };
}

/** Characters first tried per token wanted: generous (English text averages about 4), so one round usually does. */
const CHARS_PER_TOKEN = 8;
/** Texts up to this many characters (or twice the first cut) are tokenized whole, exactly as `encode`. */
const PREFIX_MIN_CHARS = 2048;
/** Tokens past the ones wanted that a cut must leave, so the cut's own effect stays clear of them. */
const PREFIX_MARGIN = 16;

/**
 * The first `maxTokens` ids of `encode(text)`, from prefixes of the text. A tokenizer's output
 * near the end of a cut prefix can differ from the whole text's (a word cut in half), but the
 * tokens well before the cut do not depend on it: a cut at c characters is accepted when it yields
 * `maxTokens + PREFIX_MARGIN` tokens and a cut at 2c agrees with it on the first `maxTokens`;
 * otherwise c doubles. A text shorter than 2c is tokenized whole, so short texts (every story of
 * a normal corpus) get exactly `encode`'s ids by construction.
 */
export function encodePrefixWith(encode: (text: string) => number[], text: string, maxTokens: number): number[] {
  if (!Number.isFinite(maxTokens)) return encode(text);
  let chars = Math.max(PREFIX_MIN_CHARS, (maxTokens + PREFIX_MARGIN) * CHARS_PER_TOKEN);
  for (;;) {
    if (2 * chars >= text.length) return encode(text).slice(0, maxTokens);
    const near = encode(cutAt(text, chars));
    if (near.length >= maxTokens + PREFIX_MARGIN) {
      const far = encode(cutAt(text, 2 * chars));
      if (far.length >= maxTokens && near.slice(0, maxTokens).every((id, i) => id === far[i])) return near.slice(0, maxTokens);
    }
    chars *= 2;
  }
}

/** The first `chars` UTF-16 units of `text`, never splitting a surrogate pair. */
function cutAt(text: string, chars: number): string {
  const code = text.charCodeAt(chars - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? chars - 1 : chars);
}

/** tokenizer_config.json stores special tokens as a string or as an AddedToken-like `{content}` object. */
function tokenIdOf(tok: Tokenizer, token: unknown): number | null {
  const content =
    typeof token === 'string'
      ? token
      : typeof token === 'object' && token !== null && typeof (token as { content?: unknown }).content === 'string'
        ? (token as { content: string }).content
        : null;
  return content === null ? null : (tok.token_to_id(content) ?? null);
}

function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PrototokenError(`not valid JSON (${errorMessage(err)})`, { file, fix: 're-download the file' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PrototokenError('not a JSON object', { file, fix: 're-download the file' });
  }
  return value as Record<string, unknown>;
}
