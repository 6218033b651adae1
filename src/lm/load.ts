/**
 * From a `--model` argument to a ready LM: resolve the folder (local or hub cache), normalise its
 * config, pick the architecture, read the weights, load the tokenizer.
 */
import type { CausalLM, NormalizedConfig } from './types.js';
import { readModelConfig } from './hf_config.js';
import { openWeights, weightsFingerprint } from './safetensors.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';
import { LlamaModel } from './llama.js';
import { GptNeoxModel } from './gpt_neox.js';

export interface LoadedModel {
  /** The folder the model was read from. */
  dir: string;
  lm: CausalLM;
  tokenizer: TextTokenizer;
  /** sha256 over the weight files: identifies the exact weights in dataset metadata. */
  fingerprint(): Promise<string>;
}

/** Build the architecture named by `config` from the weights in `dir`. */
export async function loadCausalLM(dir: string, config?: NormalizedConfig): Promise<CausalLM> {
  const cfg = config ?? (await readModelConfig(dir));
  const source = await openWeights(dir);
  try {
    return await build(cfg, source);
  } finally {
    await source.close();
  }
}

async function build(cfg: NormalizedConfig, source: Awaited<ReturnType<typeof openWeights>>): Promise<CausalLM> {
  switch (cfg.architecture) {
    case 'llama':
      return LlamaModel.load(cfg, source);
    case 'gpt_neox':
      return GptNeoxModel.load(cfg, source);
  }
}

/** Load model + tokenizer from a local Hugging Face folder. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const config = await readModelConfig(dir);
  const tokenizer = await loadTokenizer(dir);
  const lm = await loadCausalLM(dir, config);
  let fp: Promise<string> | null = null;
  return { dir, lm, tokenizer, fingerprint: () => (fp ??= weightsFingerprint(dir)) };
}
