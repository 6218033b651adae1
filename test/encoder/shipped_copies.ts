/** The shipped encoder checkpoints, and fresh copies of them to damage or edit in a test. */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { LoadedModel } from '../../src/lm/load.js';
import { loadEmbeddedModel } from '../helpers/backend.js';
import { ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../cli/run.js';

export const SHIPPED = ['stories260k-n8', 'stories260k-n8-lmpool', 'stories260k-n16', 'stories260k-n8-v2-leg2', 'stories260k-n8-v8', 'stories260k-n16-v2'].map((n) => join(ROOT, 'checkpoints', n));

/**
 * Inside a describe: the embedded model and a temporary folder for the suite (set up before its
 * tests, removed after). `copy(name)` copies the shipped N = 8 encoder to a fresh folder.
 */
export function shippedCopies(prefix: string): { model: () => LoadedModel; copy: (name: string) => Promise<string> } {
  let model: LoadedModel | undefined;
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  before(async () => {
    model = await loadEmbeddedModel();
    ({ dir, cleanup } = await tempDir(prefix));
  });
  after(async () => {
    model?.lm.dispose();
    await cleanup();
  });
  return {
    model: () => model as LoadedModel,
    copy: async (name) => {
      await cp(SHIPPED[0], join(dir, name), { recursive: true });
      return join(dir, name);
    },
  };
}
