/** Per-position cross-entropy and argmax hits, shared by scoring, the solver and evaluation. */
import * as tf from '@tensorflow/tfjs';

/**
 * -log softmax(logits)[target] per position: logits [B, T, V], targets [B, T] int32 -> [B, T].
 * One-hot selection instead of gather keeps the gradient a dense multiply (no scatter kernel).
 */
export function tokenNll(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const V = logits.shape[2];
    const logp = tf.logSoftmax(logits, -1); // [B, T, V]
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, V)), -1)) as tf.Tensor2D; // [B, T]
  });
}

/** 1 where argmax(logits) == target, else 0, as float32: [B, T, V], [B, T] -> [B, T]. */
export function argmaxHits(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.equal(tf.argMax(logits, -1), targets), 'float32') as tf.Tensor2D);
}

/**
 * The logit margin per position: the target's logit minus the largest other logit, [B, T, V],
 * [B, T] -> [B, T]. Positive exactly where the target is the unique argmax; its size says how far
 * a solution sits inside the set of inputs that still emit the target (in logits, so it does not
 * saturate as the probability nears 1).
 */
export function logitMargins(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const V = logits.shape[2];
    const hot = tf.cast(tf.oneHot(targets, V), 'bool'); // [B, T, V]
    const target = tf.sum(tf.where(hot, logits, tf.zerosLike(logits)), -1); // [B, T]
    const others = tf.max(tf.where(hot, tf.fill(logits.shape, -Infinity), logits), -1); // [B, T]
    return tf.sub(target, others) as tf.Tensor2D;
  });
}
