/** Random and model-generated text sources on the embedded model. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { loadSource, randomTexts } from '../../src/datasets/sources.js';
import { prepareTargets } from '../../src/solver/targets.js';
import { useBackend } from '../helpers/backend.js';
import { CORPUS, EMBEDDED_MODEL } from '../helpers/fixtures.js';

describe('text sources', () => {
  let model: LoadedModel;
  before(async () => {
    await useBackend('wasm');
    model = await loadModelDir(EMBEDDED_MODEL);
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
    const a = await loadSource(opts, model.tokenizer, model.lm);
    const b = await loadSource(opts, model.tokenizer, model.lm);
    const c = await loadSource({ ...opts, seed: 10 }, model.tokenizer, model.lm);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((t) => t.ids), c.map((t) => t.ids));
    assert.deepEqual(a.map((t) => t.id), ['generated-validation-0', 'generated-validation-1']);
    for (const t of a) {
      assert.equal(t.ids?.length, 12);
      assert.ok(!t.ids?.some((id) => id === model.tokenizer.bosId || id === model.tokenizer.eosId));
    }
  });

  it('natural texts come from the file, limited to count', async () => {
    const texts = await loadSource({ kind: 'natural', file: CORPUS, count: 3, length: 8, seed: 0 }, model.tokenizer, model.lm);
    assert.equal(texts.length, 3);
    assert.equal(texts[0].id, 'validation-0');
  });
});
