/**
 * Windows: many N-token targets from one story. The story is tokenized once (without BOS, like
 * every target) and its token ids are sliced at offsets 0, S, 2S, ...; a window carries its ids,
 * because decoding a slice and encoding the text again need not give the same ids back.
 *
 * A window's id is `<story id>#<k>` (k = 0, 1, 2, ... the window index). The window marker is the
 * LAST `#` followed by digits only, so a story id may itself contain `#` (`a#b#3` is window 3 of
 * story `a#b`; `a#3x` is a story of its own). One consequence: a plain text whose id already ends
 * in `#<digits>` counts as a window of the story before the `#` for the split (see `splitOf`).
 */
import type { TextTokenizer } from '../lm/tokenizer.js';
import type { PreparedTargets, TextItem } from './targets.js';
import { PrototokenError } from '../util/errors.js';
import { textTokens } from './tokens.js';

/** How stories are cut into windows. */
export interface WindowOptions {
  /** Tokens per window (N). */
  window: number;
  /** Tokens between the starts of consecutive windows (< window: overlapping, > window: gaps). Default = window. */
  stride?: number;
  /** At most this many windows per story, the first ones (from `firstWindow` on); null = all that fit. Default null. */
  windowsPerText?: number | null;
  /** Index of the first window taken: windows from inside stories, past their openings. Default 0. */
  firstWindow?: number;
}

/** One window of a story. */
export interface Window extends TextItem {
  /** `<storyId>#<index>`. */
  id: string;
  storyId: string;
  /** Window index k: the window starts at token k * stride of the story. */
  index: number;
  /** Exactly the story's tokens [k * stride, k * stride + window). */
  ids: number[];
  /** Decode of `ids`. */
  text: string;
}

/** Windows of a corpus, and the stories too short for even one window. */
export interface WindowedTexts {
  windows: Window[];
  /** Stories with fewer than `window` tokens: id and token count. */
  tooShort: { id: string; tokens: number }[];
}

const WINDOW_MARKER = /#(\d+)$/;

/** The id of window `index` of story `storyId`. */
export function windowId(storyId: string, index: number): string {
  return `${storyId}#${index}`;
}

/** The story a text id belongs to: `"12#3"` -> `"12"`, `"a#b#0"` -> `"a#b"`, `"12"` -> `"12"`. */
export function storyOf(textId: string): string {
  const m = WINDOW_MARKER.exec(textId);
  return m ? textId.slice(0, m.index) : textId;
}

/** Cut every story into windows (see the module comment); order: story by story, then by index. */
export function windowTexts(texts: readonly TextItem[], tokenizer: TextTokenizer, opts: WindowOptions): WindowedTexts {
  const { window, stride, cap } = checkWindowOptions(opts);
  const first = opts.firstWindow ?? 0;
  // Tokens the windows taken reach to: a prefix when their number is capped, else the whole story.
  const need = (first + cap - 1) * stride + window;
  const windows: Window[] = [];
  const tooShort: WindowedTexts['tooShort'] = [];
  for (const t of texts) {
    const story = textTokens(t, tokenizer, need);
    if (story.length < window) {
      tooShort.push({ id: t.id, tokens: story.length });
      continue;
    }
    const fit = Math.floor((story.length - window) / stride) + 1;
    for (let k = first; k < Math.min(fit, first + cap); k++) {
      const ids = story.slice(k * stride, k * stride + window);
      windows.push({ id: windowId(t.id, k), storyId: t.id, index: k, ids, text: tokenizer.decode(ids) });
    }
  }
  return { windows, tooShort };
}

/**
 * Solver targets of every window (N = opts.window). Throws, naming `file`, when no story has a
 * whole window.
 */
export function windowTargets(texts: readonly TextItem[], tokenizer: TextTokenizer, opts: WindowOptions, file: string): PreparedTargets {
  const { windows, tooShort } = windowTexts(texts, tokenizer, opts);
  if (windows.length === 0) {
    throw new PrototokenError(`no text has a whole window of ${opts.window} tokens (${tooShort.length} too short)`, {
      file,
      fix: 'use a smaller --window or longer texts',
    });
  }
  return { targets: windows.map((w) => ({ id: w.id, text: w.text, ids: Int32Array.from(w.ids) })), tooShort };
}

/**
 * How many of `test` have token ids equal to those of some item of `train`: windows an encoder
 * could pass by memorising, to be reported next to any test score.
 */
export function countExactCopies(test: readonly { ids: ArrayLike<number> }[], train: readonly { ids: ArrayLike<number> }[]): number {
  const key = (ids: ArrayLike<number>): string => Array.prototype.join.call(ids, ',');
  const seen = new Set(train.map((t) => key(t.ids)));
  return test.filter((t) => seen.has(key(t.ids))).length;
}

/** Validated options with defaults filled in. */
export function checkWindowOptions(opts: WindowOptions): { window: number; stride: number; cap: number } {
  const stride = opts.stride ?? opts.window;
  const perText = opts.windowsPerText ?? null;
  const bad = (what: string, v: number): never => {
    throw new PrototokenError(`${what} must be a whole number >= 1, got ${v}`, { fix: `pass a positive integer ${what}` });
  };
  if (!Number.isInteger(opts.window) || opts.window < 1) bad('--window', opts.window);
  if (!Number.isInteger(stride) || stride < 1) bad('--stride', stride);
  if (perText !== null && (!Number.isInteger(perText) || perText < 1)) bad('--windows-per-text', perText);
  return { window: opts.window, stride, cap: perText ?? Number.POSITIVE_INFINITY };
}
