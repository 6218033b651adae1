/**
 * GPT-NeoX (Pythia, GPT-NeoX-20B, ...): LayerNorm with bias, a fused per-head-interleaved QKV
 * projection, partial rotary embeddings, exact-erf GELU MLP, and either the parallel residual
 * x + attn(ln1 x) + mlp(ln2 x) or the sequential one. Weight names follow HF `GPTNeoXForCausalLM`.
 */
import * as tf from '@tensorflow/tfjs';
import type { NormalizedConfig } from './types.js';
import type { WeightSource } from './safetensors.js';
import { FrozenWeightReader, disposeTree } from './frozen_weights.js';
import { type Linear, geluExact, layerNorm, linear } from './layers.js';
import { type Attend, type AttentionWeights, attentionWeights } from './attention.js';
import { DecoderLM } from './decoder.js';

interface Norm {
  w: tf.Tensor1D;
  b: tf.Tensor1D;
}

interface NeoxLayer {
  ln1: Norm;
  ln2: Norm;
  attn: AttentionWeights; // from query_key_value (split per head into q, k, v) and dense
  up: Linear; // dense_h_to_4h
  down: Linear; // dense_4h_to_h
}

interface NeoxWeights {
  embedIn: tf.Tensor2D; // [V, d]
  layers: NeoxLayer[];
  finalNorm: Norm;
  embedOut: tf.Tensor2D; // [d, V]
}

export class GptNeoxModel extends DecoderLM {
  private constructor(
    config: NormalizedConfig,
    private readonly w: NeoxWeights,
    numParameters: number,
  ) {
    super(config, numParameters);
  }

  static async load(config: NormalizedConfig, source: WeightSource): Promise<GptNeoxModel> {
    const { hiddenSize: d, intermediateSize: ff, vocabSize: V } = config;
    const r = new FrozenWeightReader(source);
    const norm = async (name: string): Promise<Norm> => ({
      w: await r.vector(`${name}.weight`, d),
      b: await r.vector(`${name}.bias`, d),
    });
    const layers: NeoxLayer[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `gpt_neox.layers.${i}`;
      layers.push({
        ln1: await norm(`${p}.input_layernorm`),
        ln2: await norm(`${p}.post_attention_layernorm`),
        attn: attentionWeights(
          ...splitQkv(await r.linear(`${p}.attention.query_key_value`, d, 3 * d, config.attentionBias), config.numHeads, config.headDim),
          await r.linear(`${p}.attention.dense`, d, d, config.attentionBias),
          config,
        ),
        up: await r.linear(`${p}.mlp.dense_h_to_4h`, d, ff, true),
        down: await r.linear(`${p}.mlp.dense_4h_to_h`, ff, d, true),
      });
    }
    const embedIn = await r.matrix('gpt_neox.embed_in.weight', V, d);
    const finalNorm = await norm('gpt_neox.final_layer_norm');
    const embedOut = config.tieWordEmbeddings
      ? tf.tidy(() => tf.transpose(embedIn) as tf.Tensor2D)
      : (await r.linear('embed_out', d, V, false)).w;
    return new GptNeoxModel(config, { embedIn, layers, finalNorm, embedOut }, r.numParameters);
  }

  /** Final norm and output embedding: residual stream [B*T, d] -> logits [B, T, V]. */
  protected head(h: tf.Tensor2D, B: number, T: number): tf.Tensor3D {
    const out = layerNorm(h, this.w.finalNorm.w, this.w.finalNorm.b, this.config.normEps); // [B*T, d]
    return tf.reshape(tf.matMul(out, this.w.embedOut), [B, T, this.config.vocabSize]); // [B, T, V]
  }

  protected blocks(inputsEmbeds: tf.Tensor3D, count: number, attend: Attend): tf.Tensor2D {
    const { hiddenSize: d, normEps: eps } = this.config;
    const [B, T] = inputsEmbeds.shape;
    const mlp = (x: tf.Tensor2D, L: NeoxLayer): tf.Tensor2D =>
      linear(geluExact(linear(x, L.up)) as tf.Tensor2D, L.down); // [B*T, d]
    let h = tf.reshape(inputsEmbeds, [B * T, d]) as tf.Tensor2D; // [B*T, d]
    this.w.layers.slice(0, count).forEach((L, i) => {
      const attnOut = attend(layerNorm(h, L.ln1.w, L.ln1.b, eps), L.attn, i); // [B*T, d]
      if (this.config.parallelResidual) {
        h = tf.addN([h, attnOut, mlp(layerNorm(h, L.ln2.w, L.ln2.b, eps), L)]);
      } else {
        h = tf.add(h, attnOut);
        h = tf.add(h, mlp(layerNorm(h, L.ln2.w, L.ln2.b, eps), L));
      }
    });
    return h;
  }

  protected embeddingTable(): tf.Tensor2D {
    return this.w.embedIn;
  }

  protected layerCount(): number {
    return this.w.layers.length;
  }

  protected disposeWeights(): void {
    disposeTree(this.w);
  }
}

/**
 * HF's fused query_key_value is per-head interleaved (head h's q, k, v are adjacent column blocks
 * of [d, 3*H*hd] once transposed); split it into three plain projections.
 */
function splitQkv(qkv: Linear, heads: number, headDim: number): [Linear, Linear, Linear] {
  const pick = (which: number): Linear => {
    const cols = new Int32Array(heads * headDim);
    for (let h = 0; h < heads; h++) for (let j = 0; j < headDim; j++) cols[h * headDim + j] = h * 3 * headDim + which * headDim + j;
    const w = tf.tidy(() => tf.gather(qkv.w, tf.tensor1d(cols, 'int32'), 1) as tf.Tensor2D);
    const bias = qkv.b;
    const b = bias ? tf.tidy(() => tf.gather(bias, tf.tensor1d(cols, 'int32')) as tf.Tensor1D) : null;
    return { w, b };
  };
  const parts: [Linear, Linear, Linear] = [pick(0), pick(1), pick(2)];
  qkv.w.dispose();
  qkv.b?.dispose();
  return parts;
}
