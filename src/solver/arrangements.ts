/**
 * How the learned vectors e and m are laid out as the LM's N (or N+1) input embeddings, and which
 * outputs are supervised by the N target tokens.
 *
 *   e-m  (default, the paper's): [e][m]x(N-1)  N inputs, output i predicts t_i (e alone predicts t_1)
 *   e-mN                       : [e][m]xN      N+1 inputs, outputs 2..N+1 predict t_1..t_N
 *   e                          : [e]xN         m unused
 *   half                       : [e]x ceil(N/2) [m]x floor(N/2)
 *   alt                        : [e,m,e,m,...] N inputs (odd N ends with e)
 */
import * as tf from '@tensorflow/tfjs';
import { PrototokenError } from '../util/errors.js';

export const ARRANGEMENTS = ['e-m', 'e-mN', 'e', 'half', 'alt'] as const;
export type Arrangement = (typeof ARRANGEMENTS)[number];

export interface Layout {
  /** Number of input positions. */
  inputs: number;
  /** Index of the first supervised output; outputs offset..offset+N-1 predict t_1..t_N. */
  offset: number;
  /** 1 where the input is e, else 0 (m). */
  isE: Float32Array;
  /** Whether m appears at all. */
  usesM: boolean;
}

/** The input layout of `arrangement` for N target tokens. */
export function layoutFor(arrangement: Arrangement, N: number): Layout {
  if (!Number.isInteger(N) || N < 1) throw new PrototokenError(`the text length N must be a positive integer, got ${N}`);
  const inputs = arrangement === 'e-mN' ? N + 1 : N;
  const isE = new Float32Array(inputs);
  for (let i = 0; i < inputs; i++) {
    switch (arrangement) {
      case 'e-m':
      case 'e-mN':
        isE[i] = i === 0 ? 1 : 0;
        break;
      case 'e':
        isE[i] = 1;
        break;
      case 'half':
        isE[i] = i < Math.ceil(N / 2) ? 1 : 0;
        break;
      case 'alt':
        isE[i] = i % 2 === 0 ? 1 : 0;
        break;
    }
  }
  return { inputs, offset: arrangement === 'e-mN' ? 1 : 0, isE, usesM: isE.some((x) => x === 0) };
}

/** Refuse an N whose inputs do not fit in the model's positions. */
export function checkPositions(arrangement: Arrangement, N: number, maxPositions: number): void {
  const inputs = layoutFor(arrangement, N).inputs;
  if (inputs > maxPositions) {
    throw new PrototokenError(`N=${N} needs ${inputs} input positions but the model allows ${maxPositions}`, {
      fix: `use --length ${maxPositions - (inputs - N)} or less`,
    });
  }
}

/** Parse a CLI/config name. */
export function parseArrangement(name: string): Arrangement {
  if ((ARRANGEMENTS as readonly string[]).includes(name)) return name as Arrangement;
  throw new PrototokenError(`unknown arrangement "${name}"`, { fix: `use one of: ${ARRANGEMENTS.join(', ')}` });
}

/**
 * Build the input embeddings: e [B, d], m [B|1, d] -> [B, L, d].
 * Written as two masked broadcasts rather than a gather, so the backward pass is two reductions.
 */
export function arrange(e: tf.Tensor2D, m: tf.Tensor2D | null, layout: Layout): tf.Tensor3D {
  return tf.tidy(() => {
    const L = layout.inputs;
    const eMask = tf.tensor3d(layout.isE, [1, L, 1]); // [1, L, 1]
    const epart = tf.mul(tf.expandDims(e, 1), eMask); // [B, L, d]
    if (!layout.usesM) return epart as tf.Tensor3D;
    if (!m) throw new Error('arrange: this arrangement needs m');
    const mMask = tf.sub(1, eMask); // [1, L, 1]
    return tf.add(epart, tf.mul(tf.expandDims(m, 1), mMask)) as tf.Tensor3D; // [B, L, d]
  });
}

