/** CausalLM.hiddenStates on every fixture model: layer 0 is the input, the last layer feeds the logits, causality. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir, type LoadedModel } from '../../src/lm/load.js';
import { useBackend } from '../helpers/backend.js';
import { MODEL_FIXTURES, fixtureDir } from '../helpers/fixtures.js';
import { Prng } from '../../src/util/prng.js';

for (const name of MODEL_FIXTURES) {
  describe(`hiddenStates: ${name}`, () => {
    let model: LoadedModel;
    before(async () => {
      await useBackend('wasm');
      model = await loadModelDir(fixtureDir(name));
    });
    after(() => model.lm.dispose());

    const input = (B: number, T: number): tf.Tensor3D => tf.tensor3d(new Prng(7).normals(B * T * model.lm.config.hiddenSize), [B, T, model.lm.config.hiddenSize]);

    it('layer 0 returns the inputs, and an unknown layer is refused', () => {
      const x = input(2, 5);
      const h = model.lm.hiddenStates(x, 0);
      assert.deepEqual(h.arraySync(), x.arraySync());
      assert.throws(() => model.lm.hiddenStates(x, model.lm.config.numLayers + 1), /does not exist/);
      tf.dispose([x, h]);
    });

    it('is causal and batch-invariant at every layer, without leaking tensors', () => {
      const x = input(3, 6);
      model.lm.hiddenStates(x, 1).dispose(); // warm the position cache
      const before = tf.memory().numTensors;
      for (let L = 1; L <= model.lm.config.numLayers; L++) {
        const full = tf.tidy(() => model.lm.hiddenStates(x, L).arraySync());
        // The first 4 positions do not see positions 4-5; row 1 alone equals row 1 of the batch.
        const prefix = tf.tidy(() => model.lm.hiddenStates(tf.slice(x, [0, 0, 0], [3, 4, -1]), L).arraySync());
        const single = tf.tidy(() => model.lm.hiddenStates(tf.slice(x, [1, 0, 0], [1, 6, -1]), L).arraySync()[0]);
        for (let t = 0; t < 4; t++) prefix[2][t].forEach((v, j) => assert.ok(Math.abs(v - full[2][t][j]) < 1e-4 * (1 + Math.abs(v)), `layer ${L} pos ${t}`));
        single.forEach((row, t) => row.forEach((v, j) => assert.ok(Math.abs(v - full[1][t][j]) < 1e-4 * (1 + Math.abs(v)), `layer ${L} pos ${t} batch`)));
      }
      assert.ok(tf.memory().numTensors - before <= 12, 'only position tables for the new length remain');
      x.dispose();
    });
  });
}
