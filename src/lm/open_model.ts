/**
 * The keys every command's config has (model, backend, seed) and opening the model they name:
 * start the backend, resolve a folder or hub id, load tokenizer and weights.
 */
import { z } from 'zod';
import { BACKEND_CHOICES, type BackendChoice, initBackend } from '../backend/index.js';
import { resolveModel } from './hub.js';
import { loadModelDir, type LoadedModel } from './load.js';
import { EMBEDDED_MODEL, modelLocation } from './model_name.js';

/** The model every command uses unless told otherwise: shipped with the package. */
export { EMBEDDED_MODEL };

/** Keys every command's config has. */
export const baseSchema = z.object({
  /** A local Hugging Face folder or a hub id `org/name[@revision]`. */
  model: z.string().min(1).default(EMBEDDED_MODEL),
  backend: z.enum(BACKEND_CHOICES as [BackendChoice, ...BackendChoice[]]).default('auto'),
  seed: z.number().int().min(0).default(0),
});

/** Start the backend and load the model named by the config. */
export async function openModel(config: { model: string; backend: BackendChoice }, quiet = false): Promise<LoadedModel> {
  await initBackend(config.backend, { quiet });
  const dir = await resolveModel(modelLocation(config.model), {
    onDownload: quiet ? undefined : (f) => process.stderr.write(`downloading ${f}\n`),
  });
  return loadModelDir(dir);
}
