/** Windows: many N-token targets per story, and the story-level split. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadTokenizer, type TextTokenizer } from '../../src/lm/tokenizer.js';
import { countExactCopies, storyOf, windowId, windowTargets, windowTexts } from '../../src/texts/windows.js';
import { splitOf } from '../../src/texts/split.js';
import { readTexts } from '../../src/texts/text_file.js';
import { CORPUS, EMBEDDED_MODEL } from '../helpers/fixtures.js';

describe('windows', () => {
  let tok: TextTokenizer;
  let stories: { id: string; text: string }[];
  before(async () => {
    tok = await loadTokenizer(EMBEDDED_MODEL);
    stories = (await readTexts(CORPUS)).slice(0, 20);
  });

  it('storyOf strips only a final #<digits>', () => {
    assert.equal(storyOf('12#3'), '12');
    assert.equal(storyOf('12'), '12');
    assert.equal(storyOf('a#b#0'), 'a#b');
    assert.equal(storyOf('a#3x'), 'a#3x');
    assert.equal(storyOf('a#'), 'a#');
    assert.equal(storyOf('#7'), '');
    assert.equal(storyOf(windowId('validation-3', 11)), 'validation-3');
  });

  it('each window is exactly the story tokens at k*stride; counts, ids and order follow the formula', () => {
    for (const [window, stride] of [[16, 16], [16, 5], [7, 20]]) {
      const { windows, tooShort } = windowTexts(stories, tok, { window, stride });
      assert.equal(tooShort.length, 0);
      let at = 0;
      for (const s of stories) {
        const ids = tok.encode(s.text);
        const fit = Math.floor((ids.length - window) / stride) + 1;
        const mine = windows.slice(at, at + fit);
        at += fit;
        mine.forEach((w, k) => {
          assert.equal(w.id, `${s.id}#${k}`);
          assert.equal(w.storyId, s.id);
          assert.equal(w.index, k);
          assert.deepEqual(w.ids, ids.slice(k * stride, k * stride + window));
          assert.equal(w.text, tok.decode(w.ids));
        });
        // One more window would run past the end of the story.
        assert.ok(fit * stride + window > ids.length, `${s.id}: ${fit} windows of ${window}/${stride} in ${ids.length} tokens`);
      }
      assert.equal(at, windows.length);
      assert.equal(new Set(windows.map((w) => w.id)).size, windows.length, 'ids are unique');
    }
  });

  it('stride defaults to the window (no overlap), the cap keeps the first K windows', () => {
    const all = windowTexts(stories, tok, { window: 12 });
    assert.deepEqual(all, windowTexts(stories, tok, { window: 12, stride: 12, windowsPerText: null }));
    const capped = windowTexts(stories, tok, { window: 12, windowsPerText: 2 });
    assert.deepEqual(capped.windows, all.windows.filter((w) => w.index < 2));
    assert.equal(capped.windows.length, 2 * stories.length);
  });

  it('--first-window skips the openings: windows K.. keep their ids, and the cap counts from K', () => {
    const all = windowTexts(stories, tok, { window: 12 });
    const inside = windowTexts(stories, tok, { window: 12, firstWindow: 3, windowsPerText: 2 });
    assert.deepEqual(inside.windows, all.windows.filter((w) => w.index >= 3 && w.index < 5));
    assert.ok(inside.windows.every((w) => w.id === `${w.storyId}#${w.index}`));
    assert.equal(windowTexts(stories, tok, { window: 12, firstWindow: 10_000 }).windows.length, 0);
  });

  it('a story shorter than the window gives none and is reported; given ids are used as they are', () => {
    const texts = [{ id: 's', text: 'Hi.' }, { id: 'r', text: 'ignored', ids: [5, 6, 7, 8, 9] }];
    const { windows, tooShort } = windowTexts(texts, tok, { window: 4, stride: 1 });
    assert.deepEqual(tooShort, [{ id: 's', tokens: tok.encode('Hi.').length }]);
    assert.deepEqual(windows.map((w) => [w.id, w.ids]), [['r#0', [5, 6, 7, 8]], ['r#1', [6, 7, 8, 9]]]);
    assert.throws(() => windowTargets(texts.slice(0, 1), tok, { window: 4 }, 'f.jsonl'), /f\.jsonl: no text has a whole window of 4 tokens[^]*--window/);
    assert.throws(() => windowTexts(texts, tok, { window: 4, stride: 0 }), /--stride must be a whole number >= 1/);
    assert.throws(() => windowTexts(texts, tok, { window: 0 }), /--window must be a whole number >= 1/);
  });

  it('windowTargets: Int32 ids equal to the windows, N = window', () => {
    const { targets } = windowTargets(stories, tok, { window: 9, stride: 4 }, 'corpus');
    const { windows } = windowTexts(stories, tok, { window: 9, stride: 4 });
    assert.deepEqual(targets.map((t) => [t.id, Array.from(t.ids), t.text]), windows.map((w) => [w.id, w.ids, w.text]));
  });

  it('every window of a story shares its split; ids without a marker keep theirs', () => {
    const { windows } = windowTexts(stories, tok, { window: 8, stride: 3 });
    for (const w of windows) assert.equal(splitOf(w.id), splitOf(w.storyId), w.id);
    const ratios = { train: 0.34, val: 0.33, test: 0.33 };
    const perStory = new Map<string, Set<string>>();
    for (const w of windows) perStory.set(w.storyId, (perStory.get(w.storyId) ?? new Set()).add(splitOf(w.id, ratios)));
    for (const [id, splits] of perStory) assert.equal(splits.size, 1, `story ${id} is in ${[...splits].join(', ')}`);
    assert.ok(new Set(windows.map((w) => splitOf(w.id, ratios))).size > 1, 'the ratios do split the stories');
    // Pinned by test/jobs/shard.test.ts before windows existed.
    assert.deepEqual(['validation-0', 'validation-1', 't0', 'hello'].map((id) => splitOf(id)), ['train', 'train', 'val', 'val']);
  });

  it('countExactCopies counts test windows whose ids occur in train', () => {
    const train = [{ ids: [1, 2, 3] }, { ids: Int32Array.from([4, 5]) }];
    assert.equal(countExactCopies([{ ids: [1, 2, 3] }, { ids: [4, 5] }, { ids: [1, 2] }, { ids: [12, 3] }], train), 2);
    assert.equal(countExactCopies([], train), 0);
  });
});
