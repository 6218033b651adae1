/**
 * `prototoken gate`: choose a checkpoint's retrieval gate (gate.ts) on held-out windows and write
 * the gated checkpoint as a new snapshot folder. The network, its m and its reference windows are
 * copied unchanged; only gate.json is added (and encoder.json records its sha256), so the source
 * checkpoint is never touched.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { CausalLM } from '../lm/types.js';
import { PrototokenError } from '../util/errors.js';
import { checkOutputFolder } from '../util/output_paths.js';
import { SNAPSHOT_FILES } from './checkpoint_files.js';
import { writeSnapshot } from './checkpoint.js';
import { encodeAll } from './encode.js';
import { gatherE, nearestWindows } from './baselines.js';
import { type RetrievalGate, chooseMinSame, describeGate } from './gate.js';
import { type RunTexts, encoderRunSchema, flatIds } from './inputs.js';
import type { LoadedEncoder } from './load.js';
import { onePass } from './onepass.js';

/** `prototoken gate`'s config keys: the checkpoint, the calibration windows (default: the validation split), --out. */
export const gateRunSchema = encoderRunSchema.extend({
  split: encoderRunSchema.shape.split.removeDefault().default('val'),
  /** The new snapshot folder (must not exist, unless --overwrite and it holds a gated snapshot). */
  out: z.string().min(1),
});

export type GateRunConfig = z.infer<typeof gateRunSchema>;

/**
 * Refuse an --out that would lose something: the source checkpoint itself, or an existing folder
 * unless it is a snapshot this command wrote before and --overwrite says to replace it.
 */
export async function checkGateOut(config: GateRunConfig, source: string, opts: { overwrite?: boolean } = {}): Promise<void> {
  const inside = (a: string, b: string): boolean => !path.relative(path.resolve(b), path.resolve(a)).startsWith('..');
  if (inside(config.out, source) || inside(source, config.out)) {
    throw new PrototokenError('--out is the checkpoint the gate is chosen for; the gated one is written beside it, never over it', { file: config.out, fix: 'pass a new folder, e.g. checkpoints/NAME-gated/best' });
  }
  await checkOutputFolder(config.out);
  const entries = await fsp.readdir(config.out).catch(() => null);
  if (entries === null || entries.length === 0) return;
  const ownOutput = entries.includes(SNAPSHOT_FILES.gate) && entries.includes(SNAPSHOT_FILES.meta);
  if (!opts.overwrite || !ownOutput) {
    throw new PrototokenError(ownOutput ? 'a gated checkpoint is already here' : 'this folder exists and is not a gated checkpoint, so it is not replaced', {
      file: config.out,
      fix: ownOutput ? 'pass --overwrite to replace it, or another --out' : 'pass a new folder as --out',
    });
  }
}

/** The chosen gate and the figures it was chosen by. */
export interface GateChoice {
  gate: RetrievalGate;
  /** How many calibration windows the gate sends to the neighbour. */
  retrieved: number;
}

/**
 * Measure, on `run`'s windows, the one-pass accuracy of the network's e_hat and of the nearest
 * solved window's e (one LM pass each), and pick the threshold with the best mean.
 */
export async function chooseGate(lm: CausalLM, enc: LoadedEncoder, run: RunTexts, config: GateRunConfig): Promise<GateChoice> {
  const reference = enc.reference;
  if (!reference || reference.textIds.length === 0) {
    throw new PrototokenError('this checkpoint carries no solved training windows, so there is nothing to retrieve', { file: enc.dir, fix: 'use a checkpoint trained with --dataset (its reference.safetensors)' });
  }
  const { N } = run;
  if (reference.N !== N) {
    throw new PrototokenError(`the checkpoint's reference windows are N=${reference.N}, the calibration windows N=${N}`, { fix: `choose the gate at N=${reference.N} (--window ${reference.N})` });
  }
  const ids = flatIds(run.texts, N);
  const { rows, matches: same } = nearestWindows(reference, ids, N);
  const network = await onePass(lm, await encodeAll(enc.encoder, ids, N, config.batch), enc.m, ids, N, { batchSize: config.batch });
  const nearest = await onePass(lm, gatherE(reference, rows), enc.m, ids, N, { batchSize: config.batch });
  const acc = (rs: typeof network): number[] => rs.map((r) => r.accuracy);
  const { minSame, accuracyByMinSame } = chooseMinSame(acc(network), acc(nearest), same, N);
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const gate: RetrievalGate = {
    rule: 'nearest-if-same-positions',
    N,
    minSame,
    calibration: {
      source: run.source,
      split: run.split,
      windows: rows.length,
      accuracyByMinSame,
      network: mean(acc(network)),
      nearest: mean(acc(nearest)),
      createdAt: new Date().toISOString(),
      config: gateConfigRecord(config),
    },
  };
  return { gate, retrieved: same.reduce((s, k) => s + (k >= minSame ? 1 : 0), 0) };
}

/** The calibration as text: both methods alone, every threshold's mean accuracy, and the choice. */
export function renderGateChoice({ gate, retrieved }: GateChoice): string {
  const c = gate.calibration;
  const rows = Object.entries(c.accuracyByMinSame)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([t, acc]) => `  >= ${t.padStart(2)}/${gate.N}  ${acc.toFixed(4)}${Number(t) === gate.minSame ? '  <- chosen' : ''}${Number(t) > gate.N ? '  (the network alone)' : Number(t) === 0 ? '  (the nearest window alone)' : ''}`);
  return (
    `${c.windows} windows of N=${gate.N} from ${c.source} (split ${c.split}): network ${c.network.toFixed(4)}, nearest solved window ${c.nearest.toFixed(4)}\n` +
    `mean one-pass token accuracy by threshold (retrieve when at least this many positions agree):\n${rows.join('\n')}\n` +
    `gate: ${describeGate(gate)} (${retrieved} of ${c.windows} windows retrieved)`
  );
}

/** The checkpoint `enc` with `gate` added, written as the snapshot folder `out` (its weights and files unchanged). */
export async function writeGatedCheckpoint(enc: LoadedEncoder, gate: RetrievalGate, out: string): Promise<void> {
  const { meta, weights, m, reference, config } = enc.snapshot;
  await writeSnapshot(path.resolve(out), { meta, weights, m, reference, config, gate });
}

/** The keys that say how the calibration windows were cut (what a reader needs to choose it again). */
function gateConfigRecord(config: GateRunConfig): Record<string, string | number | null> {
  const { checkpoint, texts, dataset, split, window, stride, windowsPerText, firstWindow, length, limit } = config;
  return { checkpoint, texts, dataset, split, window, stride, windowsPerText, firstWindow, length, limit };
}
