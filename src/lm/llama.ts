/**
 * Llama (Llama 1/2/3, TinyLlama, SmolLM, stories260k...): pre-norm decoder with RMSNorm, rotary
 * position embeddings (HF rotate_half layout), grouped-query attention and a SwiGLU MLP.
 * Weight names follow Hugging Face `LlamaForCausalLM`.
 */
import * as tf from '@tensorflow/tfjs';
import type { NormalizedConfig } from './types.js';
import type { WeightSource } from './safetensors.js';
import { FrozenWeightReader, disposeTree, transposeToTensor } from './frozen_weights.js';
import { type Linear, linear, rmsNorm, silu } from './layers.js';
import { type Attend, type AttentionWeights, attentionWeights } from './attention.js';
import { DecoderLM } from './decoder.js';

interface LlamaLayer {
  inputNorm: tf.Tensor1D;
  attn: AttentionWeights;
  postNorm: tf.Tensor1D;
  gate: Linear;
  up: Linear;
  down: Linear;
}

interface LlamaWeights {
  embedTokens: tf.Tensor2D; // [V, d]
  layers: LlamaLayer[];
  finalNorm: tf.Tensor1D; // [d]
  lmHead: tf.Tensor2D; // [d, V]
}

export class LlamaModel extends DecoderLM {
  private constructor(
    config: NormalizedConfig,
    private readonly w: LlamaWeights,
    numParameters: number,
  ) {
    super(config, numParameters);
  }

  /** Read every weight from a checkpoint (shapes checked against the config). */
  static async load(config: NormalizedConfig, source: WeightSource): Promise<LlamaModel> {
    const { hiddenSize: d, intermediateSize: ff, numHeads: H, numKvHeads: Hkv, headDim: hd, vocabSize: V } = config;
    const r = new FrozenWeightReader(source);
    const embedRaw = await source.read('model.embed_tokens.weight', [V, d]);
    r.numParameters += V * d;
    const layers: LlamaLayer[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}`;
      const bias = config.attentionBias;
      layers.push({
        inputNorm: await r.vector(`${p}.input_layernorm.weight`, d),
        attn: attentionWeights(
          await r.linear(`${p}.self_attn.q_proj`, d, H * hd, bias),
          await r.linear(`${p}.self_attn.k_proj`, d, Hkv * hd, bias),
          await r.linear(`${p}.self_attn.v_proj`, d, Hkv * hd, bias),
          await r.linear(`${p}.self_attn.o_proj`, H * hd, d, bias),
          config,
        ),
        postNorm: await r.vector(`${p}.post_attention_layernorm.weight`, d),
        gate: await r.linear(`${p}.mlp.gate_proj`, d, ff, config.mlpBias),
        up: await r.linear(`${p}.mlp.up_proj`, d, ff, config.mlpBias),
        down: await r.linear(`${p}.mlp.down_proj`, ff, d, config.mlpBias),
      });
    }
    const finalNorm = await r.vector('model.norm.weight', d);
    // Tied checkpoints may still carry an lm_head copy; the config decides which one is used.
    let lmHead: tf.Tensor2D;
    if (config.tieWordEmbeddings || !r.has('lm_head.weight')) {
      lmHead = transposeToTensor(embedRaw, V, d);
    } else {
      lmHead = (await r.linear('lm_head', d, V, false)).w;
    }
    const embedTokens = tf.tensor2d(embedRaw, [V, d]);
    return new LlamaModel(config, { embedTokens, layers, finalNorm, lmHead }, r.numParameters);
  }

  /** Final norm and LM head: residual stream [B*T, d] -> logits [B, T, V]. */
  protected head(h: tf.Tensor2D, B: number, T: number): tf.Tensor3D {
    const logits = tf.matMul(rmsNorm(h, this.w.finalNorm, this.config.normEps), this.w.lmHead); // [B*T, V]
    return tf.reshape(logits, [B, T, this.config.vocabSize]);
  }

  protected blocks(inputsEmbeds: tf.Tensor3D, count: number, attend: Attend): tf.Tensor2D {
    const { hiddenSize: d, normEps: eps } = this.config;
    const [B, T] = inputsEmbeds.shape;
    let h = tf.reshape(inputsEmbeds, [B * T, d]) as tf.Tensor2D; // [B*T, d]
    this.w.layers.slice(0, count).forEach((L, i) => {
      h = tf.add(h, attend(rmsNorm(h, L.inputNorm, eps), L.attn, i)); // [B*T, d]
      const m = rmsNorm(h, L.postNorm, eps); // [B*T, d]
      const act = tf.mul(silu(linear(m, L.gate)), linear(m, L.up)) as tf.Tensor2D; // [B*T, ff]
      h = tf.add(h, linear(act, L.down)); // [B*T, d]
    });
    return h;
  }

  protected embeddingTable(): tf.Tensor2D {
    return this.w.embedTokens;
  }

  protected layerCount(): number {
    return this.w.layers.length;
  }

  protected disposeWeights(): void {
    disposeTree(this.w);
  }
}
