/**
 * The one place that knows Hugging Face `config.json` keys. Everything else reads `NormalizedConfig`.
 *
 * Missing optional keys take the defaults of the transformers config classes (`LlamaConfig`,
 * `GPTNeoXConfig`), because that is what the weights were trained and exported with.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { PrototokenError, errorMessage } from '../util/errors.js';
import type { Architecture, Llama3RopeScaling, NormalizedConfig } from './types.js';

/** `model_type` -> the transformers class whose weights layout we implement. */
const SUPPORTED: Readonly<Record<Architecture, string>> = {
  llama: 'LlamaForCausalLM',
  gpt_neox: 'GPTNeoXForCausalLM',
};
const SUPPORTED_LIST = Object.entries(SUPPORTED)
  .map(([type, cls]) => `${type} (${cls})`)
  .join(', ');

const FIX_CONFIG = 'use the config.json that was published with these weights';

const posInt = z.number().int().positive();
const tokenId = z.union([z.number().int(), z.array(z.number().int()), z.null()]).optional();
/** `rope_scaling` (transformers < 5) or `rope_parameters` (transformers 5, which also carries the theta). */
const ropeObject = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    rope_theta: z.number().positive().optional(),
    partial_rotary_factor: z.number().gt(0).lte(1).optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().positive().optional(),
    high_freq_factor: z.number().positive().optional(),
    original_max_position_embeddings: posInt.optional(),
  })
  .nullish();

/** Keys both architectures share; every dimension is required because no default would fit real weights. */
const common = {
  model_type: z.string().optional(),
  architectures: z.array(z.string()).nullish(),
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  vocab_size: posInt,
  max_position_embeddings: posInt,
  rope_theta: z.number().positive().nullish(),
  rope_scaling: ropeObject,
  rope_parameters: ropeObject,
  hidden_act: z.string().nullish(),
  tie_word_embeddings: z.boolean().nullish(),
  attention_bias: z.boolean().nullish(),
  bos_token_id: tokenId,
  eos_token_id: tokenId,
};

const llamaSchema = z.object({
  ...common,
  num_key_value_heads: posInt.nullish(),
  head_dim: posInt.nullish(),
  rms_norm_eps: z.number().positive().nullish(),
  mlp_bias: z.boolean().nullish(),
});

const neoxSchema = z.object({
  ...common,
  rotary_pct: z.number().gt(0).lte(1).nullish(),
  partial_rotary_factor: z.number().gt(0).lte(1).nullish(),
  rotary_emb_base: z.number().positive().nullish(),
  use_parallel_residual: z.boolean().nullish(),
  layer_norm_eps: z.number().positive().nullish(),
});

/**
 * Validate a parsed Hugging Face `config.json` and map it onto `NormalizedConfig`.
 * `file` is only used in error messages. Throws `PrototokenError` naming the key at fault.
 */
export function normalizeConfig(raw: unknown, file: string): NormalizedConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PrototokenError('config is not a JSON object', { file, fix: FIX_CONFIG });
  }
  const obj = raw as Record<string, unknown>;
  const arch = detectArchitecture(obj, file);
  return arch === 'llama'
    ? normalizeLlama(parse(llamaSchema, obj, file), file)
    : normalizeNeox(parse(neoxSchema, obj, file), file);
}

/** Read and normalise `<modelDir>/config.json`. */
export async function readModelConfig(modelDir: string): Promise<NormalizedConfig> {
  const file = path.join(modelDir, 'config.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PrototokenError(missing ? 'config.json not found' : `cannot read config.json (${errorMessage(err)})`, {
      file,
      fix: 'pass a Hugging Face model folder (with config.json, tokenizer.json and model.safetensors) or a hub id like org/name',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PrototokenError(`config.json is not valid JSON (${errorMessage(err)})`, { file, fix: FIX_CONFIG });
  }
  return normalizeConfig(raw, file);
}

function detectArchitecture(obj: Record<string, unknown>, file: string): Architecture {
  const archs = Array.isArray(obj.architectures) ? obj.architectures.map(String) : [];
  const type = obj.model_type;
  if (type !== undefined && typeof type !== 'string') {
    throw new PrototokenError(`"model_type" must be a string (got ${JSON.stringify(type)})`, { file, fix: FIX_CONFIG });
  }
  // Old exports sometimes lack model_type; the class name then says what the weights are.
  const fromClass = (Object.keys(SUPPORTED) as Architecture[]).find((a) => archs.includes(SUPPORTED[a]));
  const arch = type === undefined ? fromClass : (Object.keys(SUPPORTED) as Architecture[]).find((a) => a === type);
  if (!arch) {
    const what = type !== undefined ? `model_type "${type}"` : `architectures ${JSON.stringify(archs)}`;
    throw new PrototokenError(`${what} is not supported (supported: ${SUPPORTED_LIST})`, {
      file,
      fix: 'choose a Llama or GPT-NeoX (Pythia) model',
    });
  }
  // A sequence-classification or encoder export of the same family has no usable LM head.
  if (archs.length > 0 && !archs.some((a) => /ForCausalLM$/i.test(a))) {
    throw new PrototokenError(
      `architectures ${JSON.stringify(archs)} has no causal LM head (expected ${SUPPORTED[arch]})`,
      { file, fix: 'use the causal LM checkpoint of this model' },
    );
  }
  return arch;
}

function parse<T>(schema: z.ZodType<T>, obj: Record<string, unknown>, file: string): T {
  const result = schema.safeParse(obj);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const value = issue.path.reduce<unknown>(
      (v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      obj,
    );
    return value === undefined
      ? `missing required key "${key}"`
      : `"${key}": ${issue.message} (got ${JSON.stringify(value)})`;
  });
  throw new PrototokenError(`invalid config: ${problems.join('; ')}`, { file, fix: FIX_CONFIG });
}

type LlamaRaw = z.infer<typeof llamaSchema>;
type NeoxRaw = z.infer<typeof neoxSchema>;

function normalizeLlama(c: LlamaRaw, file: string): NormalizedConfig {
  const act = c.hidden_act ?? 'silu';
  // transformers maps "swish" to the same SiLU function.
  if (act !== 'silu' && act !== 'swish') {
    throw new PrototokenError(`hidden_act "${act}" is not supported for llama (only silu, i.e. SwiGLU)`, {
      file,
      fix: FIX_CONFIG,
    });
  }
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    throw new PrototokenError(
      `num_attention_heads (${c.num_attention_heads}) is not a multiple of num_key_value_heads (${numKvHeads})`,
      { file, fix: FIX_CONFIG },
    );
  }
  const headDim = c.head_dim ?? evenSplit(c.hidden_size, c.num_attention_heads, file);
  return {
    ...shared(c, file),
    architecture: 'llama',
    numKvHeads,
    headDim,
    rotaryDims: headDim,
    normEps: c.rms_norm_eps ?? 1e-6,
    hiddenAct: 'silu',
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    parallelResidual: false,
    attentionBias: c.attention_bias ?? false,
    mlpBias: c.mlp_bias ?? false,
  };
}

const GELU_TANH = ['gelu_new', 'gelu_fast', 'gelu_pytorch_tanh', 'gelu_accurate', 'quick_gelu'];

function normalizeNeox(c: NeoxRaw, file: string): NormalizedConfig {
  const act = c.hidden_act ?? 'gelu';
  if (act !== 'gelu') {
    // The tanh form moves logits by ~1e-3: close enough to look right, far enough to break conformance.
    const why = GELU_TANH.includes(act)
      ? 'is an approximation of GELU; only exact erf "gelu" is implemented'
      : 'is not supported (only exact erf "gelu")';
    throw new PrototokenError(`hidden_act "${act}" ${why}`, {
      file,
      fix: 'choose a GPT-NeoX model with hidden_act "gelu" (e.g. Pythia)',
    });
  }
  const headDim = evenSplit(c.hidden_size, c.num_attention_heads, file);
  const pct = c.rotary_pct ?? c.partial_rotary_factor ?? c.rope_parameters?.partial_rotary_factor ?? 0.25;
  // Same truncation as transformers' int(head_size * rotary_pct).
  const rotaryDims = Math.floor(headDim * pct);
  if (rotaryDims < 2 || rotaryDims % 2 !== 0) {
    throw new PrototokenError(
      `rotary_pct ${pct} of head size ${headDim} gives ${rotaryDims} rotary dims; rotate_half needs a positive even number`,
      { file, fix: FIX_CONFIG },
    );
  }
  return {
    ...shared(c, file),
    architecture: 'gpt_neox',
    numKvHeads: c.num_attention_heads,
    headDim,
    rotaryDims,
    // Older exports call the RoPE base rotary_emb_base; newer ones rope_theta.
    ropeTheta: c.rotary_emb_base ?? c.rope_theta ?? c.rope_parameters?.rope_theta ?? 10000,
    normEps: c.layer_norm_eps ?? 1e-5,
    hiddenAct: 'gelu',
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    parallelResidual: c.use_parallel_residual ?? true,
    attentionBias: c.attention_bias ?? true,
    // GPT-NeoX MLPs always carry biases; there is no config switch.
    mlpBias: true,
  };
}

/** Fields both architectures map the same way. */
function shared(c: LlamaRaw | NeoxRaw, file: string) {
  return {
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    vocabSize: c.vocab_size,
    maxPositions: c.max_position_embeddings,
    ropeTheta: c.rope_theta ?? c.rope_parameters?.rope_theta ?? 10000,
    ropeScaling: ropeScaling(c.rope_parameters ?? c.rope_scaling, file),
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: firstId(c.eos_token_id),
  };
}

function ropeScaling(r: z.infer<typeof ropeObject>, file: string): Llama3RopeScaling | null {
  const kind = r?.rope_type ?? r?.type;
  if (!r || kind === undefined || kind === 'default') return null;
  if (kind !== 'llama3') {
    throw new PrototokenError(`unsupported rope_scaling type "${kind}" (supported: llama3, default)`, {
      file,
      fix: 'choose a model without rope_scaling or with Llama-3 style scaling',
    });
  }
  const need = ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'] as const;
  const missing = need.filter((k) => r[k] === undefined);
  if (missing.length > 0) {
    throw new PrototokenError(`rope_scaling type llama3 is missing ${missing.map((k) => `"${k}"`).join(', ')}`, {
      file,
      fix: FIX_CONFIG,
    });
  }
  return {
    factor: r.factor as number,
    lowFreqFactor: r.low_freq_factor as number,
    highFreqFactor: r.high_freq_factor as number,
    originalMaxPositions: r.original_max_position_embeddings as number,
  };
}

function evenSplit(hidden: number, heads: number, file: string): number {
  if (hidden % heads !== 0) {
    throw new PrototokenError(`hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`, {
      file,
      fix: FIX_CONFIG,
    });
  }
  return hidden / heads;
}

/** Configs store several EOS ids as a list (Llama 3 instruct); the first is the canonical one. */
function firstId(id: number | number[] | null | undefined): number | null {
  if (Array.isArray(id)) return id[0] ?? null;
  return id ?? null;
}
