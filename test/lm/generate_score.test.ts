/** Greedy generation and H_LM scoring of the real stories260k model against its references. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { generate } from '../../src/lm/generate.js';
import { scoreTexts } from '../../src/lm/score.js';
import { useBackend } from '../helpers/backend.js';
import { fixtureDir, readJson } from '../helpers/fixtures.js';

interface Refs {
  token_ids: number[];
  mean_cross_entropy: number;
  greedy_from_bos: { n_new: number; token_ids: number[]; text: string };
}

describe('stories260k generation and scoring', () => {
  let model: LoadedModel;
  const refs = readJson<Refs>(join(fixtureDir('stories260k'), 'reference_logits.json'));
  before(async () => {
    await useBackend('wasm');
    model = await loadModelDir(fixtureDir('stories260k'));
  });
  after(() => model.lm.dispose());

  it('greedy generation from BOS equals the stored 60-token continuation', async () => {
    const ids = await generate(model.lm, [1], { maxNewTokens: refs.greedy_from_bos.n_new });
    assert.deepEqual(ids, refs.greedy_from_bos.token_ids);
    assert.equal(model.tokenizer.decode(ids, { skipSpecialTokens: true }), refs.greedy_from_bos.text);
  });

  it('stops on a stop id and keeps it', async () => {
    const greedy = refs.greedy_from_bos.token_ids;
    const stopAt = greedy[10];
    const ids = await generate(model.lm, [1], { maxNewTokens: 60, stopIds: [stopAt] });
    assert.deepEqual(ids, greedy.slice(0, greedy.indexOf(stopAt, 1) + 1));
  });

  it('banned ids are never emitted', async () => {
    const greedy = refs.greedy_from_bos.token_ids;
    const banned = greedy[1]; // the greedy first token
    const ids = await generate(model.lm, [1], { maxNewTokens: 30, banIds: [banned, 1] });
    assert.equal(ids.length, 31);
    assert.ok(!ids.slice(1).includes(banned) && !ids.slice(1).includes(1));
    const sampled = await generate(model.lm, [1], { maxNewTokens: 30, temperature: 1, seed: 2, banIds: [1, 2] });
    assert.ok(!sampled.slice(1).some((t) => t === 1 || t === 2));
  });

  it('sampling is reproducible from its seed and differs across seeds', async () => {
    const a = await generate(model.lm, [1], { maxNewTokens: 20, temperature: 1, seed: 7 });
    const b = await generate(model.lm, [1], { maxNewTokens: 20, temperature: 1, seed: 7 });
    const c = await generate(model.lm, [1], { maxNewTokens: 20, temperature: 1, seed: 8 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('H_LM with BOS equals the reference mean cross-entropy times the token count', async () => {
    const textIds = refs.token_ids.slice(1);
    await scoreTexts(model.lm, [textIds], { bosId: 1 }); // warm the model's per-length position cache (kept by design, not a leak)
    const before = tf.memory().numTensors;
    const [s] = await scoreTexts(model.lm, [textIds], { bosId: 1 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(s.scoredTokens, textIds.length);
    assert.ok(Math.abs(s.nats / textIds.length - refs.mean_cross_entropy) < 1e-4, `${s.nats / textIds.length}`);
    assert.ok(Math.abs(s.bits - s.nats / Math.LN2) < 1e-9);
  });

  it('batched scoring of texts of different lengths equals one-by-one scoring', async () => {
    const texts = [refs.token_ids.slice(1), refs.token_ids.slice(1, 9), refs.greedy_from_bos.token_ids.slice(1, 40)];
    const together = await scoreTexts(model.lm, texts, { bosId: 1, batchSize: 3 });
    for (const [i, t] of texts.entries()) {
      const [alone] = await scoreTexts(model.lm, [t], { bosId: 1 });
      assert.ok(Math.abs(alone.nats - together[i].nats) < 1e-3, `text ${i}`);
    }
  });

  it('refuses a text longer than the model allows', async () => {
    const long = new Array(600).fill(300);
    await assert.rejects(scoreTexts(model.lm, [long], { bosId: 1 }), /allows 512/);
  });
});
