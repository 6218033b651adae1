/**
 * A data-parallel training worker (see grad_pool.ts): its own backend, the frozen LM and a replica
 * of the encoder. For each share of a batch it copies the current weights from shared memory,
 * differentiates the share's mean loss and writes the gradients back into shared memory.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { loadModelDir } from '../lm/load.js';
import { errorMessage } from '../util/errors.js';
import { stepGradients } from './grad_step.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './grad_pool.js';
import { buildEncoder } from './spec.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('grad_worker.ts runs as a worker thread of GradientPool');

const send = (r: WorkerReply): void => port.postMessage(r);

try {
  await initBackend(init.backend, { quiet: true });
  const model = await loadModelDir(init.modelDir);
  const encoder = buildEncoder(init.spec, { lm: model.lm, bosId: model.tokenizer.bosId, stats: init.stats, reference: init.reference });
  const d = model.lm.config.hiddenSize;
  const learnedM = init.learnM ? tf.variable(tf.tensor1d(init.m), true) : null;
  const m: tf.Tensor = learnedM ?? tf.tensor2d(init.m, [1, d]);
  const vars = new Map<string, tf.Variable>([...encoder.variables, ...(learnedM ? [['m', learnedM] as [string, tf.Variable]] : [])]);
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  const trainable = init.slots.filter((s) => s.trainable);
  const params = trainable.map((s) => [s.name, vars.get(s.name) as tf.Variable] as const);

  port.on('message', (req: WorkerRequest) => {
    if (req.type === 'close') {
      port.close();
      return;
    }
    try {
      for (const slot of init.slots) {
        if (!req.syncAll && !slot.trainable) continue;
        const v = vars.get(slot.name);
        if (!v) throw new Error(`the replica has no weight ${slot.name}`);
        tf.tidy(() => v.assign(tf.tensor(weights.subarray(slot.offset, slot.offset + slot.size), slot.shape)));
      }
      const out = stepGradients(encoder, model.lm, m, params, req.examples, req.n, init.loss);
      const present = trainable.map((slot) => {
        const g = out.grads.get(slot.name);
        if (g) grads.set(g.dataSync() as Float32Array, slot.gradOffset);
        return g !== undefined;
      });
      const terms = Array.from(out.terms.dataSync());
      tf.dispose([...out.grads.values(), out.terms]);
      send({ type: 'done', terms, present, numTensors: tf.memory().numTensors });
    } catch (err) {
      send({ type: 'error', message: errorMessage(err), stack: (err as Error).stack });
    }
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'error', message: errorMessage(err), stack: (err as Error).stack });
}
