/** Examples an encoder trains and validates on, and turning a list of them into tensors. */
import * as tf from '@tensorflow/tfjs';

/** One window: its N target tokens and, when a solution dataset provided it, its solved e. */
export interface EncoderExample {
  id: string;
  ids: Int32Array; // [N]
  e: Float32Array | null; // [d]
}

export interface ExampleBatch {
  ids: tf.Tensor2D; // [B, N] int32
  e: tf.Tensor2D | null; // [B, d], only when every example has e
}

/** Stack examples (all of one N) into tensors; the caller disposes them. */
export function toBatch(examples: readonly EncoderExample[], d: number): ExampleBatch {
  const B = examples.length;
  const N = examples[0].ids.length;
  const ids = new Int32Array(B * N);
  examples.forEach((x, r) => {
    if (x.ids.length !== N) throw new Error(`toBatch: "${x.id}" has ${x.ids.length} tokens, the batch has N=${N}`);
    ids.set(x.ids, r * N);
  });
  let e: tf.Tensor2D | null = null;
  if (examples.every((x) => x.e !== null)) {
    const flat = new Float32Array(B * d);
    examples.forEach((x, r) => flat.set(x.e as Float32Array, r * d));
    e = tf.tensor2d(flat, [B, d]);
  }
  return { ids: tf.tensor2d(ids, [B, N], 'int32'), e };
}

export function disposeBatch(b: ExampleBatch): void {
  b.ids.dispose();
  b.e?.dispose();
}
