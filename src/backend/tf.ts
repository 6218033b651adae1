/**
 * The one way the rest of prototoken reaches TensorFlow.js:
 *
 * ```ts
 * import { tf } from '../backend/tf.js';
 * ```
 *
 * Importing '@tensorflow/tfjs' directly is equivalent (Node loads a single copy of tfjs-core, whose
 * engine and kernel registry are process-wide), but going through here documents that the backend
 * is chosen and patched by `initBackend` (./index.ts), which must have run before the first op.
 * Type-only imports (`import type * as tf from '@tensorflow/tfjs'`) are fine anywhere.
 */
export * as tf from '@tensorflow/tfjs';
