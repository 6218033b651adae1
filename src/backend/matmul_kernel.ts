/**
 * A wrapper around wasm's own `BatchMatMul` kernel that steers single-matrix right operands onto
 * its fast path.
 *
 * Why: the wasm kernel runs XNNPACK only for one product (batch 1) with untransposed operands;
 * batch > 1 or a transpose flag falls into a scalar loop (measured, 256x512 @ 512x256: 2.3 ms on
 * the fast path, 30-40 ms with a flag, 32 ms for the same work as 8 batches of 32 rows). The two
 * forward shapes every LM runs constantly are exactly those: `h[B, T, d] @ W[d, h]` (batched left,
 * single right) and the tied output head `h @ E^T` (transposeB). When the right operand is a single
 * matrix, this wrapper materialises any transposed operand (wasm's Transpose kernel, O(size)) and
 * folds the left operand's batch dims into its rows, so the stock kernel sees a batch-1, flag-free
 * product. Everything else (e.g. attention's batched @ batched) goes to the stock kernel untouched.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_MAT_MUL, batchCount } from './matmul_grad.js';

type KernelParams = Parameters<tf.KernelFunc>[0];

/** Transpose the last two axes with the backend's own Transpose kernel (inside a kernel, no tape). */
function transposeLastTwo(x: tf.TensorInfo, backend: BackendWasm): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  const kernel = tf.getKernel('Transpose', 'wasm');
  const out = kernel.kernelFunc({ inputs: { x }, backend, attrs: { perm } });
  if (Array.isArray(out)) throw new Error('Transpose kernel returned several outputs');
  return out;
}

/**
 * Build the wasm `BatchMatMul` kernel config that wraps `stock` (the config registered by
 * tfjs-backend-wasm). The stock setup/dispose functions are kept, so registering this before the
 * backend initialises still lets the stock kernel set itself up.
 */
export function makeWasmBatchMatMul(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (params: KernelParams): tf.TensorInfo | tf.TensorInfo[] => {
    const { a, b } = params.inputs;
    const tA = params.attrs?.transposeA === true;
    const tB = params.attrs?.transposeB === true;
    if (a === undefined || b === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return stock.kernelFunc(params);
    }
    const needsHelp = tA || tB || batchCount(a.shape) > 1;
    const aInner = tA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    const bInner = tB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
    // Mismatched shapes: let the stock kernel produce its usual error message.
    if (!needsHelp || batchCount(b.shape) !== 1 || aInner !== bInner) return stock.kernelFunc(params);

    const backend = params.backend as BackendWasm;
    const temps: tf.TensorInfo[] = [];
    const aPlain = tA ? transposeLastTwo(a, backend) : a; //           [..., m, k]
    if (tA) temps.push(aPlain);
    const b2d: tf.TensorInfo = { dataId: b.dataId, shape: b.shape.slice(-2), dtype: b.dtype }; // [k, n] | [n, k]
    const bPlain = tB ? transposeLastTwo(b2d, backend) : b2d; //        [k, n]
    if (tB) temps.push(bPlain);

    const m = aPlain.shape[aPlain.shape.length - 2];
    const k = aPlain.shape[aPlain.shape.length - 1];
    const n = bPlain.shape[1];
    // Same dataId, new shape: the stock kernel reshapes its inputs itself (refcounted, no copy).
    const aRows: tf.TensorInfo = { dataId: aPlain.dataId, shape: [batchCount(aPlain.shape) * m, k], dtype: 'float32' }; // [P*m, k]
    const out = stock.kernelFunc({
      inputs: { a: aRows, b: bPlain },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    for (const t of temps) backend.disposeData(t.dataId);
    if (Array.isArray(out)) throw new Error('BatchMatMul kernel returned several outputs');
    const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    out.shape = [...batch, m, n]; //                                     [..., m, n]
    return out;
  };
  return { ...stock, kernelName: BATCH_MAT_MUL, backendName: 'wasm', kernelFunc };
}
