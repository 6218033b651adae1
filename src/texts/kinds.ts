/**
 * The paper's three kinds of text: natural text (a corpus file), random token sequences, and text
 * the model itself generated from corpus prefixes. Random and generated texts carry their token
 * ids, because decoding then re-encoding them need not give the same ids back.
 */
import type { CausalLM } from '../lm/types.js';
import type { TextTokenizer } from '../lm/tokenizer.js';
import { generate } from '../lm/generate.js';
import { Prng, deriveSeed } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';
import { readTexts } from './text_file.js';
import { windowId } from './windows.js';
import type { TextItem } from './targets.js';

export const TEXT_KINDS = ['natural', 'random', 'generated'] as const;
export type TextKind = (typeof TEXT_KINDS)[number];


export interface TextKindOptions {
  kind: TextKind;
  /** Corpus file: the texts (natural) or the prefixes (generated). Not used by random. */
  file: string | null;
  /** How many texts (random), prompts (generated); natural: the first `count`, null = all. */
  count: number | null;
  /** Tokens per random/generated text. */
  length: number;
  seed: number;
  /**
   * Generated only: continuations sampled per prompt. Above 1, every prompt is a different token
   * sequence (a corpus text whose prompt repeats an earlier one is skipped) and continuation c of
   * corpus text `x` is `generated-x#c`, so the prompt is the story of `storyOf`. Default 1.
   */
  continuations?: number;
}

/** Corpus tokens (after BOS) that prompt a generated text. */
const PROMPT_TOKENS = 4;

/** Build the texts of one source. */
export async function textsOfKind(opts: TextKindOptions, tokenizer: TextTokenizer, lm: CausalLM): Promise<TextItem[]> {
  switch (opts.kind) {
    case 'natural': {
      const texts = await readTexts(needFile(opts));
      return opts.count === null ? texts : texts.slice(0, opts.count);
    }
    case 'random':
      return randomTexts(tokenizer, lm.config.vocabSize, opts.count ?? 32, opts.length, opts.seed);
    case 'generated':
      return generatedTexts(lm, tokenizer, await readTexts(needFile(opts)), opts);
  }
}

/** Uniform random sequences over the ids that are not special tokens. */
export function randomTexts(tokenizer: TextTokenizer, vocabSize: number, count: number, length: number, seed: number): TextItem[] {
  const allowed: number[] = [];
  for (let id = 0; id < Math.min(vocabSize, tokenizer.vocabSize); id++) if (!tokenizer.specialIds.has(id)) allowed.push(id);
  const out: TextItem[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Prng(deriveSeed(seed, i));
    const ids = Array.from({ length }, () => allowed[rng.int(0, allowed.length)]);
    out.push({ id: `random-${i}`, text: tokenizer.decode(ids), ids });
  }
  return out;
}

/**
 * Continuations (temperature 1, seeded per text) of the first tokens of corpus texts. End-of-text
 * ids are banned while sampling, so every text reaches `length` tokens. Streams are keyed by the
 * corpus index (not by the prompts kept), and continuation 0 uses the stream of a single
 * continuation, so adding continuations or skipping repeated prompts changes no other text.
 */
async function generatedTexts(lm: CausalLM, tokenizer: TextTokenizer, corpus: readonly { id: string; text: string }[], opts: TextKindOptions): Promise<TextItem[]> {
  const count = Math.min(opts.count ?? 32, corpus.length);
  const continuations = opts.continuations ?? 1;
  if (!Number.isInteger(continuations) || continuations < 1) throw new Error(`generatedTexts: continuations must be a whole number >= 1, got ${continuations}`);
  const promptTokens = PROMPT_TOKENS + (tokenizer.bosId === null ? 0 : 1);
  const room = maxTextLength('generated', lm.config.maxPositions, tokenizer);
  if (opts.length > room) {
    throw new PrototokenError(`generated texts of ${opts.length} tokens after a ${promptTokens}-token prompt exceed the model's ${lm.config.maxPositions} positions`, {
      fix: `use a length of at most ${room}`,
    });
  }
  const banIds = [tokenizer.eosId, tokenizer.bosId].filter((x): x is number => x !== null);
  const out: TextItem[] = [];
  const prompts = new Set<string>();
  for (let i = 0, kept = 0; i < corpus.length && kept < count; i++) {
    const prompt = [...(tokenizer.bosId === null ? [] : [tokenizer.bosId]), ...tokenizer.encodePrefix(corpus[i].text, PROMPT_TOKENS)];
    // Many stories open alike ("Once upon a time"); continuations of one prompt must be one context.
    const key = prompt.join(',');
    if (continuations > 1 && prompts.has(key)) continue;
    prompts.add(key);
    kept++;
    for (let c = 0; c < continuations; c++) {
      const seed = c === 0 ? deriveSeed(opts.seed, i) : deriveSeed(deriveSeed(opts.seed, i), c);
      const seq = await generate(lm, prompt, { maxNewTokens: opts.length, temperature: 1, seed, banIds });
      const ids = seq.slice(prompt.length);
      const id = `generated-${corpus[i].id}`;
      out.push({ id: continuations > 1 ? windowId(id, c) : id, text: tokenizer.decode(ids), ids });
    }
  }
  return out;
}

/** The longest text `kind` can provide on a model with `maxPositions` (generated texts need room for their prompt). */
export function maxTextLength(kind: TextKind, maxPositions: number, tokenizer: TextTokenizer): number {
  return kind === 'generated' ? maxPositions - PROMPT_TOKENS - (tokenizer.bosId === null ? 0 : 1) : maxPositions;
}

function needFile(opts: TextKindOptions): string {
  if (!opts.file) throw new PrototokenError(`the ${opts.kind} texts need a corpus file`, { fix: 'pass --texts FILE (JSONL or plain text)' });
  return opts.file;
}
