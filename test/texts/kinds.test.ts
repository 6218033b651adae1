/** Random and model-generated text sources on the embedded model. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadedModel } from '../../src/lm/load.js';
import { textsOfKind, randomTexts } from '../../src/texts/kinds.js';
import { prepareTargets } from '../../src/texts/targets.js';
import { readTexts } from '../../src/texts/text_file.js';
import { storyOf } from '../../src/texts/windows.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { CORPUS } from '../helpers/fixtures.js';

describe('text sources', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadEmbeddedModel();
  });
  after(() => model.lm.dispose());

  it('random texts: seeded, of the asked length, never special ids, roughly uniform', () => {
    const a = randomTexts(model.tokenizer, 512, 50, 40, 1);
    const b = randomTexts(model.tokenizer, 512, 50, 40, 1);
    const c = randomTexts(model.tokenizer, 512, 50, 40, 2);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0].ids, c[0].ids);
    const counts = new Map<number, number>();
    for (const t of a) {
      assert.equal(t.ids?.length, 40);
      for (const id of t.ids ?? []) {
        assert.ok(!model.tokenizer.specialIds.has(id), `special id ${id}`);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    // 2000 draws over ~509 ids: most ids appear, none dominates.
    assert.ok(counts.size > 400, `${counts.size} distinct ids`);
    assert.ok(Math.max(...counts.values()) < 20);
  });

  it('random targets keep their exact ids (no re-tokenization)', () => {
    const texts = randomTexts(model.tokenizer, 512, 3, 12, 5);
    const { targets } = prepareTargets(texts, model.tokenizer, 12, 'random');
    targets.forEach((t, i) => assert.deepEqual(Array.from(t.ids), texts[i].ids));
  });

  it('generated texts continue corpus prefixes, reproducibly from the seed', async () => {
    const opts = { kind: 'generated' as const, file: CORPUS, count: 2, length: 12, seed: 9 };
    const a = await textsOfKind(opts, model.tokenizer, model.lm);
    const b = await textsOfKind(opts, model.tokenizer, model.lm);
    const c = await textsOfKind({ ...opts, seed: 10 }, model.tokenizer, model.lm);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((t) => t.ids), c.map((t) => t.ids));
    assert.deepEqual(a.map((t) => t.id), ['generated-validation-0', 'generated-validation-1']);
    for (const t of a) {
      assert.equal(t.ids?.length, 12);
      assert.ok(!t.ids?.some((id) => id === model.tokenizer.bosId || id === model.tokenizer.eosId));
    }
  });

  it('continuations: K per distinct prompt, grouped by id, seeded, continuation 0 = the single continuation', async () => {
    const opts = { kind: 'generated' as const, file: CORPUS, count: 3, length: 6, seed: 9, continuations: 3 };
    const a = await textsOfKind(opts, model.tokenizer, model.lm);
    assert.deepEqual(await textsOfKind(opts, model.tokenizer, model.lm), a);
    assert.notDeepEqual((await textsOfKind({ ...opts, seed: 10 }, model.tokenizer, model.lm)).map((t) => t.ids), a.map((t) => t.ids));
    assert.equal(a.length, 9);
    const contexts = [...new Set(a.map((t) => storyOf(t.id)))];
    assert.equal(contexts.length, 3);
    for (const c of contexts) assert.deepEqual(a.filter((t) => storyOf(t.id) === c).map((t) => t.id), [0, 1, 2].map((k) => `${c}#${k}`));
    // Each continuation has its own stream (this small model may still repeat itself over 6 tokens).
    assert.ok(new Set(a.map((t) => t.ids?.join(','))).size >= 7, a.map((t) => t.text).join(' | '));
    // Every context is another prompt; a corpus text passed over repeats the prompt of one before it.
    const corpus = await readTexts(CORPUS);
    const promptOf = (i: number): string => model.tokenizer.encode(corpus[i].text, { addBos: true }).slice(0, 5).join(',');
    const chosen = contexts.map((c) => corpus.findIndex((t) => `generated-${t.id}` === c));
    assert.equal(new Set(chosen.map(promptOf)).size, 3);
    const last = chosen[chosen.length - 1];
    const skipped = Array.from({ length: last }, (_, i) => i).filter((i) => !chosen.includes(i));
    assert.ok(skipped.length > 0, 'the first corpus texts share prompts, so some are passed over');
    for (const i of skipped) assert.ok(chosen.some((j) => j < i && promptOf(j) === promptOf(i)), `corpus text ${i} was passed over`);
    // Continuation 0 is the text a single continuation gives.
    const single = await textsOfKind({ ...opts, continuations: 1, count: last + 1 }, model.tokenizer, model.lm);
    for (const c of contexts) assert.deepEqual(a.find((t) => t.id === `${c}#0`)?.ids, single.find((t) => t.id === c)?.ids);
  });

  it('natural texts come from the file, limited to count', async () => {
    const texts = await textsOfKind({ kind: 'natural', file: CORPUS, count: 3, length: 8, seed: 0 }, model.tokenizer, model.lm);
    assert.equal(texts.length, 3);
    assert.equal(texts[0].id, 'validation-0');
  });
});
