/**
 * Switch our kernel and gradient replacements on and off. `initBackend` installs all of them; the
 * kernel benchmark toggles them to compare against stock tfjs.
 *
 * Kernels are looked up in tf's global registry on every op call and gradients on every backward
 * pass, so a switch takes effect at the next op, whichever backend is active.
 */
import * as tf from '@tensorflow/tfjs';
// Side effect: registers the 'wasm' backend and its stock kernels, which are wrapped / saved below.
import '@tensorflow/tfjs-backend-wasm';
import { batchMatMulGradConfig, BATCH_MAT_MUL } from './matmul_grad.js';
import { makeWasmBatchMatMul } from './matmul_kernel.js';
import { segmentSumKernels } from './segment_sum.js';

/** Which replacements to have in place. Every field defaults to `true`. */
export interface PatchOptions {
  /**
   * O(n) `UnsortedSegmentSum` kernels (the gradient of `gather`): adds the one wasm lacks and
   * replaces the cpu one, which costs O(numSegments x n). Default true.
   */
  segmentSum?: boolean;
  /**
   * `BatchMatMul` gradient with explicit transposes and plain products, summed over broadcast batch
   * dims (the stock one asks for transposed operands and fails on broadcast). Default true.
   */
  matMulGrad?: boolean;
  /**
   * wasm `BatchMatMul` forward kernel that folds batch dims / materialises transposes when the
   * right operand is a single matrix, so XNNPACK's fast path runs. Default true.
   */
  matMulKernel?: boolean;
}

/** The state of every patch, as `patchState` reports it. */
export type PatchState = Required<PatchOptions>;

interface Saved {
  /** Stock kernels by `kernelName/backendName`; `undefined` when tfjs has none (wasm segment sum). */
  kernels: Map<string, tf.KernelConfig | undefined>;
  grad: tf.GradConfig | undefined;
}

let saved: Saved | null = null;
const state: PatchState = { segmentSum: false, matMulGrad: false, matMulKernel: false };

const keyOf = (kernelName: string, backendName: string): string => `${kernelName}/${backendName}`;

function lookupKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  // getKernel is typed as always returning a config but returns undefined when none is registered.
  return tf.getKernel(kernelName, backendName) as tf.KernelConfig | undefined;
}

/** Remember the stock registrations the first time anything is patched, before we overwrite them. */
function stock(): Saved {
  if (saved === null) {
    const kernels = new Map<string, tf.KernelConfig | undefined>();
    for (const cfg of segmentSumKernels) {
      kernels.set(keyOf(cfg.kernelName, cfg.backendName), lookupKernel(cfg.kernelName, cfg.backendName));
    }
    kernels.set(keyOf(BATCH_MAT_MUL, 'wasm'), lookupKernel(BATCH_MAT_MUL, 'wasm'));
    saved = { kernels, grad: tf.getGradient(BATCH_MAT_MUL) as tf.GradConfig | undefined };
  }
  return saved;
}

/** Register `config` (or, when undefined, remove whatever is registered) under its name/backend. */
function setKernel(kernelName: string, backendName: string, config: tf.KernelConfig | undefined): void {
  // registerKernel would print "already registered" on overwrite, so unregister first.
  if (lookupKernel(kernelName, backendName) !== undefined) tf.unregisterKernel(kernelName, backendName);
  if (config !== undefined) tf.registerKernel(config);
}

function applySegmentSum(on: boolean): void {
  const s = stock();
  for (const cfg of segmentSumKernels) {
    setKernel(cfg.kernelName, cfg.backendName, on ? cfg : s.kernels.get(keyOf(cfg.kernelName, cfg.backendName)));
  }
}

function applyMatMulKernel(on: boolean): void {
  const original = stock().kernels.get(keyOf(BATCH_MAT_MUL, 'wasm'));
  if (original === undefined) return; // wasm backend package without BatchMatMul: nothing to wrap
  setKernel(BATCH_MAT_MUL, 'wasm', on ? makeWasmBatchMatMul(original) : original);
}

function applyMatMulGrad(on: boolean): void {
  const original = stock().grad;
  if (on) tf.registerGradient(batchMatMulGradConfig);
  else if (original !== undefined) tf.registerGradient(original);
  else tf.unregisterGradient(BATCH_MAT_MUL);
}

/**
 * Put each patch in the requested state (missing fields mean `true`): `installPatches()` installs
 * everything, `installPatches({ matMulGrad: false })` everything but the gradient. Idempotent.
 * Returns the resulting state.
 */
export function installPatches(options: PatchOptions = {}): PatchState {
  const want: PatchState = {
    segmentSum: options.segmentSum ?? true,
    matMulGrad: options.matMulGrad ?? true,
    matMulKernel: options.matMulKernel ?? true,
  };
  if (want.segmentSum !== state.segmentSum) applySegmentSum(want.segmentSum);
  if (want.matMulGrad !== state.matMulGrad) applyMatMulGrad(want.matMulGrad);
  if (want.matMulKernel !== state.matMulKernel) applyMatMulKernel(want.matMulKernel);
  Object.assign(state, want);
  return patchState();
}

/** Restore every stock kernel and gradient (what tfjs registered at import time). */
export function uninstallPatches(): PatchState {
  return installPatches({ segmentSum: false, matMulGrad: false, matMulKernel: false });
}

/** Which patches are currently installed. */
export function patchState(): PatchState {
  return { ...state };
}
