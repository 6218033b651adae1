/**
 * GPT-NeoX (Pythia, GPT-NeoX-20B, ...): LayerNorm with bias, a fused per-head-interleaved QKV
 * projection, partial rotary embeddings, exact-erf GELU MLP, and either the parallel residual
 * x + attn(ln1 x) + mlp(ln2 x) or the sequential one. Weight names follow HF `GPTNeoXForCausalLM`.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM, NormalizedConfig } from './types.js';
import type { WeightSource } from './safetensors.js';
import { FrozenWeightReader, disposeTree } from './frozen_weights.js';
import { type Linear, applyRope, causalAttention, geluExact, layerNorm, linear, ropeInvFreq } from './layers.js';
import { PositionCache } from './position_cache.js';

interface Norm {
  w: tf.Tensor1D;
  b: tf.Tensor1D;
}

interface NeoxLayer {
  ln1: Norm;
  ln2: Norm;
  qkv: Linear; // [d, 3*H*hd], per head: q, k, v
  dense: Linear;
  up: Linear; // dense_h_to_4h
  down: Linear; // dense_4h_to_h
}

interface NeoxWeights {
  embedIn: tf.Tensor2D; // [V, d]
  layers: NeoxLayer[];
  finalNorm: Norm;
  embedOut: tf.Tensor2D; // [d, V]
}

export class GptNeoxModel implements CausalLM {
  private readonly positions: PositionCache;

  private constructor(
    readonly config: NormalizedConfig,
    private readonly w: NeoxWeights,
    readonly numParameters: number,
  ) {
    this.positions = new PositionCache(ropeInvFreq(config.rotaryDims, config.ropeTheta, config.ropeScaling), 1);
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
        qkv: await r.linear(`${p}.attention.query_key_value`, d, 3 * d, config.attentionBias),
        dense: await r.linear(`${p}.attention.dense`, d, d, config.attentionBias),
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

  embed(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = ids.shape;
      const flat = tf.gather(this.w.embedIn, tf.reshape(ids, [B * T])); // [B*T, d]
      return tf.reshape(flat, [B, T, this.config.hiddenSize]);
    });
  }

  forward(inputsEmbeds: tf.Tensor3D): tf.Tensor3D {
    const { hiddenSize: d, numHeads: H, headDim: hd, normEps: eps, vocabSize: V } = this.config;
    const [B, T] = inputsEmbeds.shape;
    const { cos, sin, mask } = this.positions.get(T);
    const attention = (x: tf.Tensor2D, L: NeoxLayer): tf.Tensor2D => {
      const qkv = tf.reshape(linear(x, L.qkv), [B, T, H, 3 * hd]); // [B, T, H, 3*hd]
      const [q, k, v] = tf.split(qkv, 3, -1).map((t) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D); // [B, H, T, hd]
      const ctx = causalAttention(applyRope(q, cos, sin), applyRope(k, cos, sin), v, mask); // [B*T, d]
      return linear(ctx, L.dense);
    };
    const mlp = (x: tf.Tensor2D, L: NeoxLayer): tf.Tensor2D =>
      linear(geluExact(linear(x, L.up)) as tf.Tensor2D, L.down); // [B*T, d]
    return tf.tidy(() => {
      let h = tf.reshape(inputsEmbeds, [B * T, d]) as tf.Tensor2D; // [B*T, d]
      for (const L of this.w.layers) {
        const attnOut = attention(layerNorm(h, L.ln1.w, L.ln1.b, eps), L);
        if (this.config.parallelResidual) {
          h = tf.addN([h, attnOut, mlp(layerNorm(h, L.ln2.w, L.ln2.b, eps), L)]);
        } else {
          h = tf.add(h, attnOut);
          h = tf.add(h, mlp(layerNorm(h, L.ln2.w, L.ln2.b, eps), L));
        }
      }
      const out = layerNorm(h, this.w.finalNorm.w, this.w.finalNorm.b, eps); // [B*T, d]
      return tf.reshape(tf.matMul(out, this.w.embedOut), [B, T, V]); // [B, T, V]
    });
  }

  dispose(): void {
    disposeTree(this.w);
    this.positions.dispose();
  }
}
