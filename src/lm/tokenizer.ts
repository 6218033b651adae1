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
    decode(ids, opts) {
      return tok.decode([...ids], { skip_special_tokens: opts?.skipSpecialTokens ?? true });
    },
  };
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
