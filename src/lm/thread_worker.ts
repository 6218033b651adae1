/**
 * A worker thread of ModelThreads (threads.ts): its own backend and copy of the model; runs task
 * modules on the inputs it is sent, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { errorMessage } from '../util/errors.js';
import { loadModelDir } from './load.js';
import type { ThreadInit, ThreadReply, ThreadRequest, ThreadTask, ThreadTaskContext } from './threads.js';

const init = workerData as ThreadInit;
const port = parentPort;
if (!port) throw new Error('thread_worker.ts runs as a worker thread of ModelThreads');
const send = (r: ThreadReply): void => port.postMessage(r);

try {
  await initBackend(init.backend, { quiet: true });
  const stop = new Int32Array(init.stop);
  const ctx: ThreadTaskContext = { model: await loadModelDir(init.modelDir), shouldStop: () => Atomics.load(stop, 0) === 1 };
  const tasks = new Map<string, ThreadTask<unknown, unknown>>();
  port.on('message', (req: ThreadRequest) => {
    if (req.type === 'close') {
      port.close();
      return;
    }
    void (async () => {
      try {
        let task = tasks.get(req.module);
        if (!task) {
          const mod = (await import(req.module)) as { run?: ThreadTask<unknown, unknown> };
          if (typeof mod.run !== 'function') throw new Error(`${req.module} exports no run(ctx, input)`);
          task = mod.run;
          tasks.set(req.module, task);
        }
        send({ type: 'done', id: req.id, output: await task(ctx, req.input) });
      } catch (err) {
        send({ type: 'error', id: req.id, message: errorMessage(err) });
      }
    })();
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'error', id: null, message: errorMessage(err) });
}
