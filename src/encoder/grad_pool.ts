/**
 * Data-parallel training on every core: K - 1 worker threads, each with its own TF.js backend, the
 * frozen LM and a replica of the encoder, plus the training thread itself. A step's batch is cut
 * into K contiguous shares; every thread differentiates its share's mean loss (grad_step.ts), and
 * the gradient of the whole batch's mean is the share-size-weighted sum, formed in a fixed order
 * so a run is reproducible. The training thread alone owns the optimizer: after each update it
 * writes the weights into shared memory, and each worker copies them into its replica before its
 * next share, so the replicas stay identical to the trained weights.
 *
 * Memory per worker: the LM and one encoder; traffic per step: the weights once (shared memory,
 * no copy per worker) and each worker's gradients once.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../backend/index.js';
import type { EncoderExample } from './batch.js';
import type { EncoderContext } from './context.js';
import type { EncoderSpec } from './spec.js';
import { type StepGradients, stepGradients } from './grad_step.js';
import type { LossOptions } from './losses.js';
import type { ProtoEncoder } from './types.js';
import type { CausalLM } from '../lm/types.js';
import { PrototokenError } from '../util/errors.js';

/** Where one parameter sits in the shared arrays. */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  trainable: boolean;
  /** Where its gradient starts in a worker's gradient array (trainable slots only; -1 otherwise). */
  gradOffset: number;
}

/** What a worker needs to build its replica (sent once, when it starts). */
export interface WorkerInit {
  modelDir: string;
  backend: BackendChoice;
  spec: EncoderSpec;
  stats: EncoderContext['stats'];
  reference: EncoderContext['reference'];
  /** The fixed m [d], or the learned m's first value (then a parameter in `slots`). */
  m: Float32Array;
  learnM: boolean;
  loss: LossOptions;
  /** Every variable in order: trainable ones are differentiated, all are synchronised. */
  slots: ParamSlot[];
  /** All variables' values, [sum of sizes]. */
  weights: SharedArrayBuffer;
  /** This worker's gradients, [sum of trainable sizes] in slot order. */
  grads: SharedArrayBuffer;
}

/** Main -> worker. */
export type WorkerRequest = { type: 'step'; examples: EncoderExample[]; n: number; syncAll: boolean } | { type: 'close' };

/** Worker -> main. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; terms: number[]; present: boolean[]; numTensors: number }
  | { type: 'error'; message: string; stack?: string };

export interface GradientPoolOptions {
  /** Threads in all, the training thread included (>= 2). */
  threads: number;
  modelDir: string;
  backend: BackendChoice;
  spec: EncoderSpec;
  context: Omit<EncoderContext, 'lm' | 'bosId'>;
  loss: LossOptions;
}

/** The pool of a training run; `close()` it when the run ends. */
export class GradientPool {
  /** Tensors alive in each worker after its last share (leak checks). */
  readonly workerTensors: number[];
  private synced = false;

  private constructor(
    private readonly workers: Worker[],
    private readonly slots: ParamSlot[],
    private readonly weights: Float32Array,
    private readonly grads: Float32Array[],
    private readonly encoder: ProtoEncoder,
    private readonly lm: CausalLM,
    private readonly m: tf.Tensor,
    private readonly params: [string, tf.Variable][],
    private readonly loss: LossOptions,
  ) {
    this.workerTensors = workers.map(() => 0);
  }

  /**
   * Start `threads - 1` workers replicating `encoder` (and `learnedM`, when m is learned) for a run
   * whose fixed m is `mVec`. Resolves once every worker has built its replica.
   */
  static async open(encoder: ProtoEncoder, lm: CausalLM, mVec: Float32Array, learnedM: tf.Variable | null, opts: GradientPoolOptions): Promise<GradientPool> {
    if (!Number.isInteger(opts.threads) || opts.threads < 2) throw new Error(`GradientPool needs 2 or more threads, got ${opts.threads}`);
    const vars: [string, tf.Variable][] = [...encoder.variables];
    if (learnedM) vars.push(['m', learnedM]);
    const slots: ParamSlot[] = [];
    let offset = 0;
    let trainableSize = 0;
    for (const [name, v] of vars) {
      slots.push({ name, shape: v.shape, offset, size: v.size, trainable: v.trainable, gradOffset: v.trainable ? trainableSize : -1 });
      offset += v.size;
      if (v.trainable) trainableSize += v.size;
    }
    const weightsBuf = new SharedArrayBuffer(offset * 4);
    const gradBufs = Array.from({ length: opts.threads - 1 }, () => new SharedArrayBuffer(trainableSize * 4));
    const workers: Worker[] = [];
    try {
      for (const gradBuf of gradBufs) {
        const init: WorkerInit = {
          modelDir: opts.modelDir, backend: opts.backend, spec: opts.spec, stats: opts.context.stats, reference: opts.context.reference ?? null,
          m: mVec, learnM: learnedM !== null, loss: opts.loss, slots, weights: weightsBuf, grads: gradBuf,
        };
        workers.push(new Worker(new URL('./grad_worker.js', import.meta.url), { workerData: init }));
      }
      await Promise.all(workers.map((w, i) => reply(w, i).then((r) => {
        if (r.type !== 'ready') throw new Error(`worker ${i + 1} answered ${r.type} to its start`);
      })));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    const params = vars.filter(([, v]) => v.trainable);
    return new GradientPool(workers, slots, new Float32Array(weightsBuf), gradBufs.map((b) => new Float32Array(b)), encoder, lm, learnedM ?? tf.tensor2d(mVec, [1, mVec.length]), params, opts.loss);
  }

  /** Threads sharing each batch, this one included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** The whole batch's gradients (mean loss), computed share by share on every thread. */
  async compute(examples: readonly EncoderExample[], n: number): Promise<StepGradients> {
    const shares = splitShares(examples, this.threads);
    await this.publishWeights();
    const pending = shares.slice(1).map((share, i) => {
      if (share.length === 0) return Promise.resolve(null);
      // Own copies: a view would carry its whole underlying buffer across.
      const compact = share.map((x) => ({ id: x.id, ids: x.ids.slice(), e: x.e ? x.e.slice() : null }));
      const request: WorkerRequest = { type: 'step', examples: compact, n, syncAll: !this.synced };
      this.workers[i].postMessage(request);
      return reply(this.workers[i], i);
    });
    this.synced = true;
    // This thread's share, while the workers run theirs.
    const own = stepGradients(this.encoder, this.lm, this.m, this.params, shares[0], n, this.loss);
    let replies: (WorkerReply | null)[];
    try {
      replies = await Promise.all(pending);
    } catch (err) {
      tf.dispose([...own.grads.values(), own.terms]);
      throw err;
    }
    const B = examples.length;
    const w0 = shares[0].length / B;
    const grads = new Map<string, tf.Tensor>();
    let g = 0;
    for (const slot of this.slots) {
      if (!slot.trainable) continue;
      const mine = own.grads.get(slot.name);
      const parts: tf.Tensor[] = [];
      if (mine) parts.push(tf.mul(mine, w0));
      replies.forEach((r, i) => {
        if (r?.type === 'done' && r.present[g]) {
          const data = this.grads[i].subarray(slot.gradOffset, slot.gradOffset + slot.size);
          parts.push(tf.tidy(() => tf.mul(tf.tensor(data, slot.shape), shares[i + 1].length / B)));
        }
      });
      g++;
      if (parts.length === 0) continue;
      grads.set(slot.name, parts.length === 1 ? parts[0] : tf.tidy(() => tf.addN(parts)));
      if (parts.length > 1) tf.dispose(parts);
    }
    const terms = tf.tidy(() => {
      let t = tf.mul(own.terms, w0);
      replies.forEach((r, i) => {
        if (r?.type === 'done') t = tf.add(t, tf.mul(tf.tensor1d(r.terms), shares[i + 1].length / B));
      });
      return t as tf.Tensor1D;
    });
    tf.dispose([...own.grads.values(), own.terms]);
    replies.forEach((r, i) => {
      if (r?.type === 'done') this.workerTensors[i] = r.numTensors;
    });
    return { grads, terms };
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    for (const w of this.workers) w.postMessage({ type: 'close' } satisfies WorkerRequest);
    await Promise.all(this.workers.map((w) => w.terminate()));
    if (!this.params.some(([name]) => name === 'm')) this.m.dispose();
  }

  /** Copy the current weights into shared memory (all of them the first time, then the trained ones). */
  private async publishWeights(): Promise<void> {
    const vars = new Map<string, tf.Variable>([...this.encoder.variables, ...this.params]);
    for (const slot of this.slots) {
      if (this.synced && !slot.trainable) continue;
      const v = vars.get(slot.name) as tf.Variable;
      this.weights.set((await v.data()) as Float32Array, slot.offset);
    }
  }
}

/** `threads` contiguous shares, sizes differing by at most one (larger first). */
export function splitShares<T>(items: readonly T[], threads: number): T[][] {
  const base = Math.floor(items.length / threads);
  const extra = items.length % threads;
  const out: T[][] = [];
  let at = 0;
  for (let k = 0; k < threads; k++) {
    const size = base + (k < extra ? 1 : 0);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}

/** The worker's next reply (an error reply or a crash rejects, naming the worker). */
function reply(w: Worker, index: number): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (r: WorkerReply): void => {
      cleanup();
      if (r.type === 'error') reject(new PrototokenError(`training worker ${index + 1} failed: ${r.message}`));
      else resolve(r);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new PrototokenError(`training worker ${index + 1} crashed: ${err.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new PrototokenError(`training worker ${index + 1} exited (code ${code})`));
    };
    const cleanup = (): void => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}
