/**
 * Work on every core for commands whose work splits into independent pieces (texts to evaluate or
 * solve, stories to sample): K worker threads, each with its own TF.js backend and its own copy
 * of the frozen model, run a task module on one piece at a time, and the results come back in the
 * order the pieces were given.
 *
 * A task module is any compiled module that exports `run(ctx: ThreadTaskContext, input)`; the pool
 * is given its URL, so a layer above lm/ can hand work to the threads without lm/ importing it.
 * Inputs and outputs cross threads by structured clone: send compact typed arrays, not views into
 * large buffers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../backend/index.js';
import { PrototokenError } from '../util/errors.js';
import type { LoadedModel } from './load.js';

/** What a task module's `run` receives in its thread. */
export interface ThreadTaskContext {
  model: LoadedModel;
  /** True once the pool was asked to stop (Ctrl-C): a long task should end after its current step. */
  shouldStop: () => boolean;
}

/** A task module: `export async function run(ctx, input)`. */
export type ThreadTask<I, O> = (ctx: ThreadTaskContext, input: I) => Promise<O> | O;

/** Worker thread init. */
export interface ThreadInit {
  modelDir: string;
  backend: BackendChoice;
  /** Int32Array[1], set to 1 by requestStop(). */
  stop: SharedArrayBuffer;
}

/** Main -> worker. */
export type ThreadRequest = { type: 'run'; id: number; module: string; input: unknown } | { type: 'close' };

/** Worker -> main. */
export type ThreadReply = { type: 'ready' } | { type: 'done'; id: number; output: unknown } | { type: 'error'; id: number | null; message: string };

export interface ModelThreadsOptions {
  /** Threads; default one per core. */
  threads?: number;
  modelDir: string;
  backend: BackendChoice;
}

/** Threads a command uses: `requested`, or one per core. */
export function threadCount(requested: number | null | undefined): number {
  return Math.max(1, requested ?? availableParallelism());
}

/** A pool of model-holding threads; `close()` it when done. */
export class ModelThreads {
  private nextId = 0;
  private readonly idle: Worker[];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly workers: Worker[],
    private readonly stopFlag: Int32Array,
  ) {
    this.idle = [...workers];
  }

  /** Start the threads; resolves once each has loaded the model. */
  static async open(opts: ModelThreadsOptions): Promise<ModelThreads> {
    const n = threadCount(opts.threads);
    const stop = new SharedArrayBuffer(4);
    const init: ThreadInit = { modelDir: opts.modelDir, backend: opts.backend, stop };
    const workers = Array.from({ length: n }, () => new Worker(new URL('./thread_worker.js', import.meta.url), { workerData: init }));
    try {
      await Promise.all(workers.map((w, i) => new Promise<void>((resolve, reject) => {
        w.once('message', (r: ThreadReply) => (r.type === 'ready' ? resolve() : reject(new PrototokenError(`thread ${i + 1} could not start: ${r.type === 'error' ? r.message : r.type}`))));
        w.once('error', (err) => reject(new PrototokenError(`thread ${i + 1} crashed while starting: ${err.message}`)));
      })));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    const pool = new ModelThreads(workers, new Int32Array(stop));
    for (const w of workers) pool.listen(w);
    return pool;
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Run the task module at `module` on every input, at most one per thread at a time; outputs in input order. */
  async map<I, O>(module: URL, inputs: readonly I[]): Promise<O[]> {
    return Promise.all(inputs.map((input) => this.run<I, O>(module, input)));
  }

  /** Run the task on one input on the next free thread. */
  async run<I, O>(module: URL, input: I): Promise<O> {
    const worker = await this.acquire();
    const id = this.nextId++;
    try {
      return await new Promise<O>((resolve, reject) => {
        this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ type: 'run', id, module: module.href, input } satisfies ThreadRequest);
      });
    } finally {
      this.release(worker);
    }
  }

  /** Ask every running task to end after its current step (see ThreadTaskContext.shouldStop). */
  requestStop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.postMessage({ type: 'close' } satisfies ThreadRequest);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private listen(w: Worker): void {
    w.on('message', (r: ThreadReply) => {
      if (r.type === 'ready') return;
      const p = r.id === null ? undefined : this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id as number);
      if (r.type === 'done') p.resolve(r.output);
      else p.reject(new PrototokenError(`a worker thread failed: ${r.message}`));
    });
    const fail = (why: string): void => {
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new PrototokenError(`a worker thread ${why}`));
      }
    };
    w.on('error', (err) => fail(`crashed: ${err.message}`));
    w.on('exit', (code) => {
      if (code !== 0) fail(`exited (code ${code})`);
    });
  }

  private acquire(): Promise<Worker> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    return new Promise((resolve) => this.waiting.push(() => resolve(this.idle.pop() as Worker)));
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }
}
