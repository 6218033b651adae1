import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { normalizeConfig, readModelConfig } from '../../src/lm/hf_config.js';
import type { NormalizedConfig } from '../../src/lm/types.js';
import { PrototokenError } from '../../src/util/errors.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

/** `obj` without `keys`, for configs that lack a key. */
function omit(obj: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

function throwsWith(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PrototokenError, `expected PrototokenError, got ${String(err)}`);
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });
}

/** The llama3 branch of Llama-3.2-1B's config.json (other keys trimmed). */
const LLAMA_32 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  tie_word_embeddings: true,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
};

const NEOX_BASE = {
  model_type: 'gpt_neox',
  hidden_size: 64,
  intermediate_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  vocab_size: 512,
  max_position_embeddings: 256,
};

describe('fixture configs', () => {
  it('stories260k (Llama, GQA, tied)', async () => {
    const want: NormalizedConfig = {
      architecture: 'llama', hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4,
      headDim: 8, vocabSize: 512, maxPositions: 512, rotaryDims: 8, ropeTheta: 10000, ropeScaling: null,
      normEps: 1e-5, hiddenAct: 'silu', tieWordEmbeddings: true, parallelResidual: false, attentionBias: false,
      mlpBias: false, bosTokenId: 1, eosTokenId: 2,
    };
    assert.deepEqual(await readModelConfig(path.join(FIXTURES, 'stories260k')), want);
  });

  it('tiny-random-neox (parallel residual, rotary_pct 0.25)', async () => {
    const want: NormalizedConfig = {
      architecture: 'gpt_neox', hiddenSize: 64, intermediateSize: 256, numLayers: 2, numHeads: 4, numKvHeads: 4,
      headDim: 16, vocabSize: 512, maxPositions: 256, rotaryDims: 4, ropeTheta: 10000, ropeScaling: null,
      normEps: 1e-5, hiddenAct: 'gelu', tieWordEmbeddings: false, parallelResidual: true, attentionBias: true,
      mlpBias: true, bosTokenId: 1, eosTokenId: 2,
    };
    assert.deepEqual(await readModelConfig(path.join(FIXTURES, 'tiny-random-neox')), want);
  });

  it('tiny-random-neox-seq (sequential residual, rotary_pct 0.5)', async () => {
    const c = await readModelConfig(path.join(FIXTURES, 'tiny-random-neox-seq'));
    assert.equal(c.rotaryDims, 8);
    assert.equal(c.parallelResidual, false);
    assert.equal(c.headDim, 16);
  });
});

describe('llama', () => {
  it('normalises a Llama-3.2 config with llama3 rope scaling and an EOS list', () => {
    const c = normalizeConfig(LLAMA_32, 'config.json');
    assert.equal(c.numKvHeads, 8);
    assert.equal(c.headDim, 64);
    assert.equal(c.rotaryDims, 64);
    assert.equal(c.ropeTheta, 500000);
    assert.deepEqual(c.ropeScaling, { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.eosTokenId, 128001);
    assert.equal(c.bosTokenId, 128000);
  });

  it('applies the LlamaConfig defaults for absent keys', () => {
    const bare = omit(LLAMA_32, 'num_key_value_heads', 'head_dim', 'rope_theta', 'rope_scaling', 'tie_word_embeddings',
      'rms_norm_eps', 'hidden_act', 'bos_token_id', 'eos_token_id');
    const c = normalizeConfig(bare, 'config.json');
    assert.equal(c.numKvHeads, 32);
    assert.equal(c.headDim, 64);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.ropeScaling, null);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.normEps, 1e-6);
    assert.equal(c.hiddenAct, 'silu');
    assert.equal(c.bosTokenId, null);
  });

  it('reads transformers-5 rope_parameters', () => {
    const rest = omit(LLAMA_32, 'rope_scaling', 'rope_theta');
    const c = normalizeConfig({ ...rest, rope_parameters: { ...LLAMA_32.rope_scaling, rope_theta: 500000 } }, 'c.json');
    assert.equal(c.ropeTheta, 500000);
    assert.equal(c.ropeScaling?.factor, 32);
  });

  it('handles rope_scaling types', () => {
    assert.equal(normalizeConfig({ ...LLAMA_32, rope_scaling: { type: 'default' } }, 'c.json').ropeScaling, null);
    throwsWith(() => normalizeConfig({ ...LLAMA_32, rope_scaling: { type: 'linear', factor: 2 } }, 'c.json'),
      /unsupported rope_scaling type "linear"/, /llama3/);
    throwsWith(() => normalizeConfig({ ...LLAMA_32, rope_scaling: { rope_type: 'llama3', factor: 8 } }, 'c.json'),
      /missing "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"/);
  });

  it('rejects activations and head counts it cannot run', () => {
    throwsWith(() => normalizeConfig({ ...LLAMA_32, hidden_act: 'gelu' }, 'c.json'), /hidden_act "gelu" is not supported for llama/);
    throwsWith(() => normalizeConfig({ ...LLAMA_32, num_key_value_heads: 5 }, 'c.json'), /not a multiple of num_key_value_heads \(5\)/);
  });
});

describe('gpt_neox', () => {
  it('applies the GPTNeoXConfig defaults', () => {
    const c = normalizeConfig(NEOX_BASE, 'config.json');
    assert.equal(c.rotaryDims, 4); // 0.25 * 16
    assert.equal(c.parallelResidual, true);
    assert.equal(c.attentionBias, true);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.normEps, 1e-5);
    assert.equal(c.ropeTheta, 10000);
  });

  it('accepts the newer key names partial_rotary_factor and rope_theta', () => {
    const c = normalizeConfig({ ...NEOX_BASE, partial_rotary_factor: 0.5, rope_theta: 500 }, 'config.json');
    assert.equal(c.rotaryDims, 8);
    assert.equal(c.ropeTheta, 500);
  });

  it('rejects tanh-approximated GELU', () => {
    for (const act of ['gelu_new', 'gelu_fast', 'gelu_pytorch_tanh']) {
      throwsWith(() => normalizeConfig({ ...NEOX_BASE, hidden_act: act }, 'c.json'), new RegExp(`"${act}" is an approximation`));
    }
  });

  it('rejects an odd number of rotary dims', () => {
    throwsWith(() => normalizeConfig({ ...NEOX_BASE, rotary_pct: 0.2 }, 'c.json'), /gives 3 rotary dims/);
  });
});

describe('errors', () => {
  it('names a missing required key and the file', () => {
    const rest = omit(LLAMA_32, 'hidden_size');
    throwsWith(() => normalizeConfig(rest, '/m/config.json'), /^\/m\/config\.json: /, /missing required key "hidden_size"/);
    throwsWith(() => normalizeConfig({ ...NEOX_BASE, vocab_size: '512' }, 'c.json'), /"vocab_size": .* \(got "512"\)/);
  });

  it('names an unknown model_type or architecture and lists the supported ones', () => {
    throwsWith(() => normalizeConfig({ ...LLAMA_32, model_type: 'mistral', architectures: ['MistralForCausalLM'] }, 'c.json'),
      /model_type "mistral" is not supported/, /llama \(LlamaForCausalLM\), gpt_neox \(GPTNeoXForCausalLM\)/);
    const untyped = omit(LLAMA_32, 'model_type');
    throwsWith(() => normalizeConfig({ ...untyped, architectures: ['FalconForCausalLM'] }, 'c.json'),
      /architectures \["FalconForCausalLM"\] is not supported/);
    assert.equal(normalizeConfig(untyped, 'c.json').architecture, 'llama');
    throwsWith(() => normalizeConfig({ ...LLAMA_32, architectures: ['LlamaForSequenceClassification'] }, 'c.json'),
      /no causal LM head/);
    throwsWith(() => normalizeConfig([1], 'c.json'), /not a JSON object/);
  });

  it('explains a missing or broken config.json', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'prototoken-cfg-'));
    try {
      await assert.rejects(readModelConfig(dir), /config\.json: config\.json not found/);
      await fsp.writeFile(path.join(dir, 'config.json'), '{"model_type": "llama",');
      await assert.rejects(readModelConfig(dir), /config\.json is not valid JSON/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
