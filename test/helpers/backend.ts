/** Backend switching for tests: every model path is checked on wasm and on cpu. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { type LoadedModel, loadModelDir } from '../../src/lm/load.js';
import { EMBEDDED_MODEL } from './fixtures.js';

export const TEST_BACKENDS = ['wasm', 'cpu'] as const;

export async function useBackend(name: (typeof TEST_BACKENDS)[number]): Promise<void> {
  await initBackend(name, { quiet: true });
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not start`);
}

/** The embedded stories260k model on wasm, as the solver, encoder and analysis tests use it (dispose its lm after). */
export async function loadEmbeddedModel(): Promise<LoadedModel> {
  await useBackend('wasm');
  return loadModelDir(EMBEDDED_MODEL);
}
