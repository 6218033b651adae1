/**
 * The retrieval gate: retrieve or encode, decided from the tokens alone, before any LM pass.
 *
 * The e of a solved reference window reproduces that window's own text, whatever text it is given
 * for: fed the nearest reference window's e, the LM gets exactly the positions right where the two
 * texts share a token. So the nearest neighbour's one-pass accuracy is known from the tokens
 * (same positions / N) without running the LM, while the network's e_hat has to be run to be
 * scored. The gate takes the neighbour's e when it shares at least `minSame` of the N positions, and
 * the network's e_hat otherwise; `minSame` is chosen on held-out windows (the validation split) as
 * the threshold with the best mean one-pass accuracy. It costs one index lookup per text and no
 * LM pass, so a gated encoder is still a one-pass encoder.
 */
import { z } from 'zod';
import { PrototokenError } from '../util/errors.js';
import { nearestWindows } from './baselines.js';
import type { ReferenceSet } from './types.js';

/** gate.json of a snapshot. */
export const gateSchema = z
  .object({
    rule: z.literal('nearest-if-same-positions'),
    /** The window length the threshold was chosen for (the encoder's training N). */
    N: z.number().int().min(1),
    /** Take the nearest reference window's e when it shares at least this many positions; N + 1: never. */
    minSame: z.number().int().min(0),
    /** What the threshold was chosen on, and the mean one-pass accuracy of every threshold there. */
    calibration: z
      .object({
        source: z.string(),
        split: z.string(),
        windows: z.number().int().min(1),
        /** Mean one-pass token accuracy by threshold ("0" .. "N+1"; N + 1 is the network alone). */
        accuracyByMinSame: z.record(z.string(), z.number()),
        network: z.number(),
        nearest: z.number(),
        createdAt: z.string(),
        /** The `prototoken gate` keys that chose it (checkpoint, texts, split, how windows were cut). */
        config: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
      })
      .strict(),
  })
  .strict();

export type RetrievalGate = z.infer<typeof gateSchema>;

/** What applying a gate needs: the rule's two numbers, not how they were chosen. */
export type GateRule = Pick<RetrievalGate, 'N' | 'minSame'>;

/** What the gate did for a batch of texts. */
export interface GatedE {
  /** [n * d]: the neighbour's e where retrieved, the network's elsewhere. */
  e: Float32Array;
  /** Per text: 1 when the neighbour's e was taken. */
  retrieved: Uint8Array;
}

/** Whether `gate` applies to windows of `N` tokens with this reference set (else the network alone). */
export function gateApplies<G extends GateRule>(gate: G | null, reference: ReferenceSet | null, N: number): gate is G {
  return gate !== null && reference !== null && reference.textIds.length > 0 && gate.N === N && reference.N === N;
}

/** The gated e of the query windows ids [n * N], given the network's e_hat [n * d]. */
export function applyGate(gate: GateRule, reference: ReferenceSet, ids: Int32Array, N: number, eNetwork: Float32Array): GatedE {
  if (gate.N !== N || reference.N !== N) {
    throw new PrototokenError(`the retrieval gate was chosen for N=${gate.N} windows of an N=${reference.N} reference set, not for N=${N}`, {
      fix: `run at N=${gate.N}, or use a checkpoint without gate.json`,
    });
  }
  const { d } = reference;
  const { rows, matches } = nearestWindows(reference, ids, N);
  const e = Float32Array.from(eNetwork);
  const retrieved = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    if (matches[i] < gate.minSame) return;
    retrieved[i] = 1;
    e.set(reference.e.subarray(r * d, (r + 1) * d), i * d);
  });
  return { e, retrieved };
}

/**
 * The threshold with the best mean accuracy on calibration windows, given each window's measured
 * one-pass accuracy from the network's e_hat and from the neighbour's e, and the positions it
 * shares with the neighbour. Ties go to the higher threshold (retrieve less). Thresholds run
 * 0 .. N + 1 (N + 1: the network alone).
 */
export function chooseMinSame(network: ArrayLike<number>, nearest: ArrayLike<number>, same: ArrayLike<number>, N: number): { minSame: number; accuracyByMinSame: Record<string, number> } {
  const n = same.length;
  if (n === 0 || network.length !== n || nearest.length !== n) throw new Error(`chooseMinSame: ${network.length}, ${nearest.length} and ${n} rows do not pair up (and must not be empty)`);
  const accuracyByMinSame: Record<string, number> = {};
  let minSame = N + 1;
  let best = -Infinity;
  for (let t = N + 1; t >= 0; t--) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += same[i] >= t ? nearest[i] : network[i];
    const mean = sum / n;
    accuracyByMinSame[String(t)] = mean;
    if (mean > best) [best, minSame] = [mean, t];
  }
  return { minSame, accuracyByMinSame };
}

/** "retrieval if >= 5/8 same" for tables and notes. */
export function describeGate(gate: GateRule): string {
  return gate.minSame > gate.N ? 'the network alone' : `nearest solved window if >= ${gate.minSame}/${gate.N} positions agree, else the network`;
}
