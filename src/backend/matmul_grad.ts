/**
 * A `BatchMatMul` gradient that never asks `matMul` for a transposed operand.
 *
 * Why: tfjs-backend-wasm's matMul reaches XNNPACK only for a single (batch 1) product with both
 * operands untransposed; anything else runs a scalar loop ~10x slower (measured: 256x512x256 takes
 * 2.4 ms plain, 30-40 ms with transposeA or transposeB). The stock gradient (tfjs-core
 * gradients/BatchMatMul_grad) asks for a transposed operand in every one of its 8 products, so
 * every backward pass pays the slow path. Here the transposes are materialised with `tf.transpose`
 * (a copy, O(size), much cheaper than the product) and every product is plain.
 *
 * Two further gaps of the stock gradient are closed here:
 *  - broadcast batch dims: the stock gradient returns the gradient at the broadcast shape and tf
 *    then throws ("The gradient of input 'b' has shape '2,3,5,6', which does not match the shape of
 *    the input '5,6'"). Here the gradient is summed over broadcast axes and reshaped, as TF's
 *    Python `_BatchMatMulV2` gradient does.
 *  - an unbatched right operand (`x[B, T, d] @ W[d, h]`, every linear layer): a batched product
 *    also takes wasm's slow path, so the batch dims of the left operand are folded into its rows.
 *    `dW = sum_b x_b^T dy_b` then becomes ONE 2-D product `x2^T @ dy2`, which also does the sum.
 *
 * On the native 'tensorflow' backend transposed operands cost nothing, so there the stock
 * formulas (transpose flags) are kept, plus the broadcast reduction.
 */
import * as tf from '@tensorflow/tfjs';

/** The kernel name, spelled as tfjs-core's `BatchMatMul` constant. */
export const BATCH_MAT_MUL = 'BatchMatMul';

function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

/** Number of matrices in a batched operand (product of all but the last two dims). */
export function batchCount(shape: readonly number[]): number {
  return product(shape.slice(0, -2));
}

/** Physically transpose the last two axes (`[..., r, c]` -> `[..., c, r]`). */
export function swapLastTwo(x: tf.Tensor): tf.Tensor {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/**
 * Bring a gradient computed at the broadcast shape back to the input's shape: sum over the axes
 * the input was broadcast along, then reshape (which also drops or restores leading 1-dims).
 */
export function reduceToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.size === product(shape)) {
    // Broadcasting never shrinks, so equal sizes mean the shapes differ by 1-dims only.
    return g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i]) ? g : tf.reshape(g, shape);
  }
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  return tf.reshape(tf.sum(g, axes), shape);
}

interface GradPair {
  a: () => tf.Tensor;
  b: () => tf.Tensor;
}

/** All four transpose combinations with plain products only; see the file comment. */
function explicitGrads(a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, tA: boolean, tB: boolean): GradPair {
  const T = swapLastTwo;
  const mm = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.matMul(x, y);
  if (!tA && batchCount(b.shape) === 1) {
    // a [..., m, k], b [k, n] (or [n, k] when tB), dy [..., m, n]: fold a's batch into rows.
    const k = a.shape[a.rank - 1];
    const n = dy.shape[dy.rank - 1];
    const a2 = () => tf.reshape(a, [-1, k]); //                 [P*m, k]
    const dy2 = () => tf.reshape(dy, [-1, n]); //               [P*m, n]
    const b2 = () => tf.reshape(b, b.shape.slice(-2)); //       [k, n] | [n, k]
    return {
      // dA = dy @ b'^T                                          [P*m, k] -> [..., m, k]
      a: () => tf.reshape(mm(dy2(), tB ? b2() : T(b2())), [...dy.shape.slice(0, -1), k]),
      // dB = sum over the batch of a^T @ dy, folded into one product: [k, n] (or its transpose)
      b: () => (tB ? mm(T(dy2()), a2()) : mm(T(a2()), dy2())),
    };
  }
  // General case. a' = tA ? a^T : a, b' likewise; dA' = dy @ b'^T, dB' = a'^T @ dy, and dA = dA'^T
  // when tA. Each line picks the form that transposes the fewest / smallest tensors.
  if (!tA && !tB) return { a: () => mm(dy, T(b)), b: () => mm(T(a), dy) };
  if (!tA && tB) return { a: () => mm(dy, b), b: () => mm(T(dy), a) };
  if (tA && !tB) return { a: () => mm(b, T(dy)), b: () => mm(a, dy) };
  return { a: () => T(mm(dy, b)), b: () => T(mm(a, dy)) };
}

/** The stock formulas (transpose flags), for backends where flags are free. */
function flagGrads(a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, tA: boolean, tB: boolean): GradPair {
  if (!tA && !tB) return { a: () => tf.matMul(dy, b, false, true), b: () => tf.matMul(a, dy, true, false) };
  if (!tA && tB) return { a: () => tf.matMul(dy, b, false, false), b: () => tf.matMul(dy, a, true, false) };
  if (tA && !tB) return { a: () => tf.matMul(b, dy, false, true), b: () => tf.matMul(a, dy, false, false) };
  return { a: () => tf.matMul(b, dy, true, true), b: () => tf.matMul(dy, a, true, true) };
}

/** Backends whose matMul handles transposed operands natively (no benefit in copying). */
const FLAG_FRIENDLY_BACKENDS: ReadonlySet<string> = new Set(['tensorflow', 'webgl', 'webgpu']);

function batchMatMulGrad(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) {
  const [a, b] = saved;
  const g = Array.isArray(dy) ? dy[0] : dy;
  const tA = attrs.transposeA === true;
  const tB = attrs.transposeB === true;
  const grads = FLAG_FRIENDLY_BACKENDS.has(tf.getBackend()) ? flagGrads(a, b, g, tA, tB) : explicitGrads(a, b, g, tA, tB);
  return {
    a: () => reduceToShape(grads.a(), a.shape),
    b: () => reduceToShape(grads.b(), b.shape),
  };
}

/** Gradient config ready for `tf.registerGradient` (replaces tfjs-core's). */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: BATCH_MAT_MUL,
  inputsToSave: ['a', 'b'],
  gradFunc: batchMatMulGrad,
};
