/** e_hat for many texts: the encoder applied batch by batch, one download per batch. */
import * as tf from '@tensorflow/tfjs';
import { type GatedE, applyGate, gateApplies } from './gate.js';
import type { LoadedEncoder } from './load.js';
import type { ProtoEncoder } from './types.js';

/** ids [n * N] int32 -> e_hat [n * d]. */
export async function encodeAll(encoder: ProtoEncoder, ids: Int32Array, N: number, batchSize = 128): Promise<Float32Array> {
  const n = ids.length / N;
  const d = encoder.dModel;
  const out = new Float32Array(n * d);
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    const e = tf.tidy(() => encoder.apply(tf.tensor2d(ids.subarray(s * N, (s + b) * N), [b, N], 'int32')));
    out.set((await e.data()) as Float32Array, s * d);
    e.dispose();
  }
  return out;
}

/**
 * The checkpoint's retrieval gate applied to the network's e_hat [n * d] of ids [n * N]; null when
 * it has no gate for windows of N tokens (then its output is the network's e_hat).
 */
export function applyCheckpointGate(enc: LoadedEncoder, ids: Int32Array, N: number, network: Float32Array): GatedE | null {
  const { gate, reference } = enc;
  return reference !== null && gateApplies(gate, reference, N) ? applyGate(gate, reference, ids, N, network) : null;
}

/**
 * A checkpoint's one-pass e for ids [n * N]: through its retrieval gate when it has one for this N,
 * else the network's e_hat (`retrieved` all 0). `network` is the network's e_hat either way.
 */
export async function encodeOnePass(enc: LoadedEncoder, ids: Int32Array, N: number, batchSize?: number): Promise<GatedE & { network: Float32Array; gated: boolean }> {
  const network = await encodeAll(enc.encoder, ids, N, batchSize);
  const gated = applyCheckpointGate(enc, ids, N, network);
  return gated ? { ...gated, network, gated: true } : { e: network, retrieved: new Uint8Array(ids.length / N), network, gated: false };
}
