/**
 * Golden tests: every architecture against the float64 references shipped with the fixture
 * models, on the wasm and cpu backends, batch 1 and batch > 1, with the fixtures' tolerances.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM } from '../../src/lm/load.js';
import type { CausalLM } from '../../src/lm/types.js';
import { tokenNll } from '../../src/lm/cross_entropy.js';
import { useBackend, TEST_BACKENDS } from '../helpers/backend.js';
import { type GradCase, type PositionRefs, type Tolerance, fixtureDir, readJson } from '../helpers/fixtures.js';

interface Case {
  model: string;
  tokenIds: number[];
  tokenRefs: PositionRefs;
  embeds: number[][];
  embedsRefs: PositionRefs;
  grad: GradCase;
  tol: Tolerance;
}

function loadCase(model: string): Case {
  const dir = fixtureDir(model);
  if (model === 'stories260k') {
    const logits = readJson<PositionRefs & { token_ids: number[] }>(join(dir, 'reference_logits.json'));
    const g = readJson<{ embeds_case: PositionRefs & { inputs_embeds: number[][] }; grad_case: GradCase; tolerance: Tolerance }>(
      join(dir, 'reference_grad.json'),
    );
    return { model, tokenIds: logits.token_ids, tokenRefs: logits, embeds: g.embeds_case.inputs_embeds, embedsRefs: g.embeds_case, grad: g.grad_case, tol: g.tolerance };
  }
  const r = readJson<{
    token_case: PositionRefs & { token_ids: number[] };
    embeds_case: PositionRefs & { inputs_embeds: number[][] };
    grad_case: GradCase;
    tolerance: Tolerance;
  }>(join(dir, 'reference_logits.json'));
  return { model, tokenIds: r.token_case.token_ids, tokenRefs: r.token_case, embeds: r.embeds_case.inputs_embeds, embedsRefs: r.embeds_case, grad: r.grad_case, tol: r.tolerance };
}

/** Compare one sequence's logits [T, V] with the references, by the fixture's rule. */
function checkPositions(logits: Float32Array, V: number, refs: PositionRefs, tol: Tolerance, what: string): number {
  const close = (ours: number, ref: number): boolean => Math.abs(ours - ref) <= tol.logits_lse_abs + tol.logits_lse_rel * Math.abs(ref);
  let worst = 0;
  refs.logits_first8.forEach((row, t) => {
    const base = t * V;
    row.forEach((ref, j) => {
      worst = Math.max(worst, Math.abs(logits[base + j] - ref));
      assert.ok(close(logits[base + j], ref), `${what}: logit[${t}][${j}] = ${logits[base + j]} vs ${ref}`);
    });
    let max = -Infinity;
    let arg = 0;
    for (let v = 0; v < V; v++) {
      if (logits[base + v] > max) {
        max = logits[base + v];
        arg = v;
      }
    }
    assert.equal(arg, refs.argmax[t], `${what}: argmax at ${t}`);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[base + v] - max);
    const lse = max + Math.log(s);
    assert.ok(close(lse, refs.logsumexp[t]), `${what}: logsumexp[${t}] = ${lse} vs ${refs.logsumexp[t]}`);
    for (const [id, ref] of refs.top5[t]) {
      assert.ok(close(logits[base + id], ref), `${what}: top5 logit ${id} at ${t} = ${logits[base + id]} vs ${ref}`);
    }
    const ours = Array.from(logits.subarray(base, base + V)).map((x, i) => [i, x]).sort((a, b) => b[1] - a[1]).slice(0, 5).map((p) => p[0]);
    assert.deepEqual(ours, refs.top5[t].map((p) => p[0]), `${what}: top5 ids at ${t}`);
  });
  return worst;
}

for (const backend of TEST_BACKENDS) {
  for (const model of ['stories260k', 'tiny-random-neox', 'tiny-random-neox-seq']) {
    describe(`${model} on ${backend}`, () => {
      let lm: CausalLM;
      const c = loadCase(model);
      before(async () => {
        await useBackend(backend);
        lm = await loadCausalLM(fixtureDir(model));
      });
      after(() => lm.dispose());

      it('token-id path matches the reference logits', async () => {
        const logits = tf.tidy(() => lm.forward(lm.embed(tf.tensor2d(c.tokenIds, [1, c.tokenIds.length], 'int32'))));
        const data = (await logits.data()) as Float32Array;
        logits.dispose();
        checkPositions(data, lm.config.vocabSize, c.tokenRefs, c.tol, 'ids');
      });

      it('inputs_embeds path matches the reference logits', async () => {
        const logits = tf.tidy(() => lm.forward(tf.tensor3d([c.embeds])));
        const data = (await logits.data()) as Float32Array;
        logits.dispose();
        checkPositions(data, lm.config.vocabSize, c.embedsRefs, c.tol, 'embeds');
      });

      it('loss and gradient w.r.t. inputs_embeds match the reference', async () => {
        const x = tf.tensor3d([c.embeds]);
        const targets = tf.tensor2d([c.grad.target_ids], undefined, 'int32');
        const { value, grads } = tf.valueAndGrads((inp: tf.Tensor) => tf.sum(tokenNll(lm.forward(inp as tf.Tensor3D), targets)))([x]);
        const loss = (await value.data())[0];
        const grad = (await grads[0].data()) as Float32Array;
        tf.dispose([x, targets, value, ...grads]);
        assert.ok(Math.abs(loss - c.grad.loss) <= c.tol.loss_rel * Math.abs(c.grad.loss), `loss ${loss} vs ${c.grad.loss}`);
        const bound = c.tol.grad_rel_to_max * c.grad.grad_max_abs;
        c.grad.grad_inputs_embeds.flat().forEach((ref, i) => {
          assert.ok(Math.abs(grad[i] - ref) <= bound, `grad[${i}] = ${grad[i]} vs ${ref} (bound ${bound})`);
        });
      });

      it('a batch of 3 equals three batches of 1', async () => {
        const rows = [c.embeds, c.embeds.map((r) => r.map((v) => -0.5 * v)), c.embeds.slice().reverse()];
        const batched = tf.tidy(() => lm.forward(tf.tensor3d(rows)));
        const all = (await batched.data()) as Float32Array;
        batched.dispose();
        const per = all.length / 3;
        for (let b = 0; b < 3; b++) {
          const single = tf.tidy(() => lm.forward(tf.tensor3d([rows[b]])));
          const one = (await single.data()) as Float32Array;
          single.dispose();
          for (let i = 0; i < per; i++) assert.ok(Math.abs(one[i] - all[b * per + i]) <= 1e-5 + 1e-5 * Math.abs(one[i]), `row ${b} entry ${i}`);
        }
        // The first row is the reference case: the batched path must also meet the references.
        checkPositions(all.subarray(0, per), lm.config.vocabSize, c.embedsRefs, c.tol, 'batched');
      });

      it('leaks no tensors over 20 forward+backward steps', () => {
        const x = tf.tensor3d([c.embeds, c.embeds]);
        const targets = tf.tensor2d([c.grad.target_ids, c.grad.target_ids], undefined, 'int32');
        const step = (): void => {
          const { value, grads } = tf.valueAndGrads((inp: tf.Tensor) => tf.sum(tokenNll(lm.forward(inp as tf.Tensor3D), targets)))([x]);
          tf.dispose([value, ...grads]);
        };
        step(); // warm the per-length caches
        const before = tf.memory().numTensors;
        for (let i = 0; i < 20; i++) step();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([x, targets]);
      });
    });
  }
}
