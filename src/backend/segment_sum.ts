/**
 * `UnsortedSegmentSum` kernels for the wasm and cpu backends.
 *
 * It is the gradient of `gather`, so every step that trains an embedding table (or any input that
 * reaches the model through `tf.gather`) runs it. tfjs-backend-wasm 4.22 has no such kernel at all
 * ("Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'"), and the cpu one builds a mask
 * and a full-size product per segment, i.e. O(numSegments x n x inner): for a vocabulary-sized
 * table that is tens of thousands of tensor ops per step. Both kernels here make one pass over the
 * data: O(n x inner) time, no intermediate tensors.
 *
 * Semantics follow TensorFlow's `unsorted_segment_sum`, of which tfjs's op is the rank-1-ids case:
 * `segmentIds` has the shape of the leading dims of `x` (usually just `[n]`), those dims are
 * flattened and summed by id into `[numSegments, ...x.shape.slice(segmentIds.rank)]`. Rows whose id
 * is negative or >= numSegments are dropped (TF drops negative ids; the stock tfjs kernels silently
 * drop out-of-range ones too, and raising from a kernel would abort a whole training step).
 * Output dtype is tf's `sumOutType`: float32 stays float32, int32 and bool sum to int32.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The kernel name, spelled as tfjs-core's `UnsortedSegmentSum` constant. */
export const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

/** What a segment sum will produce, worked out from shapes alone (before any data is touched). */
export interface SegmentSumPlan {
  /** `[numSegments, ...x.shape.slice(segmentIds.rank)]`. */
  outShape: number[];
  /** 'float32' for float32 input, 'int32' for int32 / bool input. */
  outDtype: 'float32' | 'int32';
  /** Number of segmented rows (product of the segmentIds shape). */
  rows: number;
  /** Elements per row (product of the trailing dims of x). */
  inner: number;
  /** Rows of the output; ids outside [0, numSegments) are dropped. */
  numSegments: number;
}

function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

/**
 * Validate shapes / dtypes / attributes and compute the output's shape. Throws a plain `Error`
 * (kernels run deep inside tf, where the op name in the message is what helps).
 */
export function planSegmentSum(
  xShape: readonly number[],
  xDtype: string,
  idsShape: readonly number[],
  idsDtype: string,
  numSegments: unknown,
): SegmentSumPlan {
  if (typeof numSegments !== 'number' || !Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`unsortedSegmentSum: numSegments must be a non-negative integer, got ${String(numSegments)}`);
  }
  if (xDtype !== 'float32' && xDtype !== 'int32' && xDtype !== 'bool') {
    throw new Error(`unsortedSegmentSum: x must be float32, int32 or bool, got ${xDtype}`);
  }
  if (idsDtype !== 'int32') {
    throw new Error(`unsortedSegmentSum: segmentIds must be int32, got ${idsDtype}`);
  }
  const r = idsShape.length;
  const isPrefix = r >= 1 && r <= xShape.length && idsShape.every((d, i) => d === xShape[i]);
  if (!isPrefix) {
    throw new Error(
      `unsortedSegmentSum: segmentIds shape [${idsShape.join(',')}] must equal the leading dims of ` +
        `x shape [${xShape.join(',')}]`,
    );
  }
  const innerShape = xShape.slice(r);
  return {
    outShape: [numSegments, ...innerShape],
    outDtype: xDtype === 'float32' ? 'float32' : 'int32',
    rows: product(idsShape),
    inner: product(innerShape),
    numSegments,
  };
}

/** A flat numeric array: the heap views of the wasm backend or the value arrays of the cpu one. */
export type NumericArray = Float32Array | Int32Array | Uint8Array;

/**
 * The whole computation, over flat arrays: `out[ids[i]] += x[i]` row by row. Overwrites `out`
 * (which must hold numSegments x inner elements) entirely.
 */
export function segmentSumInto(
  out: Float32Array | Int32Array,
  x: NumericArray,
  ids: Int32Array,
  plan: SegmentSumPlan,
): void {
  const { rows, inner, numSegments } = plan;
  // wasm's malloc does not zero memory, and the cpu path reuses nothing, so zero unconditionally.
  out.fill(0);
  for (let i = 0; i < rows; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

interface SegmentSumInputs {
  x: tf.TensorInfo;
  segmentIds: tf.TensorInfo;
}

function inputsOf(params: Parameters<tf.KernelFunc>[0]): SegmentSumInputs {
  const { x, segmentIds } = params.inputs;
  if (x === undefined || segmentIds === undefined) {
    throw new Error('unsortedSegmentSum: inputs x and segmentIds are required');
  }
  return { x, segmentIds };
}

function planOf(params: Parameters<tf.KernelFunc>[0], inputs: SegmentSumInputs): SegmentSumPlan {
  const { x, segmentIds } = inputs;
  return planSegmentSum(x.shape, x.dtype, segmentIds.shape, segmentIds.dtype, params.attrs?.numSegments);
}

/** Kernel body for the wasm backend: reads and writes the wasm heap in place. */
export function unsortedSegmentSumWasm(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const backend = params.backend as BackendWasm;
  const inputs = inputsOf(params);
  const plan = planOf(params, inputs);
  const out = backend.makeOutput(plan.outShape, plan.outDtype);
  // Views must be taken after makeOutput: its malloc may grow the heap, which detaches every
  // typed array made over the old buffer.
  const xs = backend.typedArrayFromHeap(inputs.x) as NumericArray;
  const ids = backend.typedArrayFromHeap(inputs.segmentIds) as Int32Array;
  const outView = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  segmentSumInto(outView, xs, ids, plan);
  return out;
}

/** The two calls of the cpu backend (`MathBackendCPU`) this kernel needs. */
interface CpuBackendLike {
  readSync(dataId: tf.DataId): tf.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.BackendValues): tf.TensorInfo;
}

function numericValues(values: tf.BackendValues, what: string): NumericArray {
  if (values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array) {
    return values;
  }
  throw new Error(`unsortedSegmentSum: ${what} is not a numeric tensor`);
}

/** Kernel body for the cpu backend: reads the backend's own value arrays without copying. */
export function unsortedSegmentSumCpu(params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const backend = params.backend as CpuBackendLike;
  const inputs = inputsOf(params);
  const plan = planOf(params, inputs);
  const xs = numericValues(backend.readSync(inputs.x.dataId), 'x');
  const ids = numericValues(backend.readSync(inputs.segmentIds.dataId), 'segmentIds');
  if (!(ids instanceof Int32Array)) throw new Error('unsortedSegmentSum: segmentIds must be int32');
  const size = product(plan.outShape);
  const out = plan.outDtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
  segmentSumInto(out, xs, ids, plan);
  return backend.makeTensorInfo(plan.outShape, plan.outDtype, out);
}

/** Kernel configs ready for `tf.registerKernel`, one per backend this module serves. */
export const segmentSumKernels: readonly tf.KernelConfig[] = [
  { kernelName: UNSORTED_SEGMENT_SUM, backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm },
  { kernelName: UNSORTED_SEGMENT_SUM, backendName: 'cpu', kernelFunc: unsortedSegmentSumCpu },
];
