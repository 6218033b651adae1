/**
 * A checkpoint made ready for use with a given LM: the architecture rebuilt from encoder.json,
 * its weights assigned, and every way it could silently not belong refused by name (other LM
 * weights, another d_model or vocabulary, another m).
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../lm/load.js';
import { embeddingStd } from '../lm/embeddings.js';
import { modelHint } from '../lm/model_name.js';
import { fingerprintM } from '../lm/vector_file.js';
import { PrototokenError } from '../util/errors.js';
import { type EncoderMeta, type Snapshot, readSnapshot, resolveSnapshotDir } from './checkpoint.js';
import { isBlockOutputWeight } from './blocks.js';
import { fallbackStats } from './head.js';
import { type EncoderSpec, buildEncoder } from './spec.js';
import type { RetrievalGate } from './gate.js';
import type { ProtoEncoder, ReferenceSet } from './types.js';

export interface LoadedEncoder {
  dir: string;
  encoder: ProtoEncoder;
  meta: EncoderMeta;
  /** The fixed m the encoder was trained with. */
  m: Float32Array;
  reference: ReferenceSet | null;
  /** Retrieve or encode (gate.ts), when the checkpoint has one; null: the network alone. */
  gate: RetrievalGate | null;
  snapshot: Snapshot;
  /** For the user: e.g. an older checkpoint read without verifying its files. */
  warnings: string[];
}

export interface LoadEncoderOptions {
  /** A user-supplied m that must be the checkpoint's (e.g. `--m`); null = use the checkpoint's own. */
  m?: Float32Array | null;
  /** Also read optimizer state (resume). Default false. */
  withOptimizer?: boolean;
  /** Pick `best` or `last` in a run folder. Default 'best'. */
  prefer?: 'best' | 'last';
}

/** Refuse a checkpoint that does not belong to `model` (and `m`), naming the mismatch. */
export async function checkCompatible(meta: EncoderMeta, dir: string, model: LoadedModel, m: Float32Array | null): Promise<void> {
  const cfg = model.lm.config;
  const problems: string[] = [];
  if (meta.dModel !== cfg.hiddenSize) problems.push(`d_model: checkpoint ${meta.dModel}, model ${cfg.hiddenSize}`);
  if (meta.vocabSize !== cfg.vocabSize) problems.push(`vocabulary: checkpoint ${meta.vocabSize}, model ${cfg.vocabSize}`);
  const fp = await model.fingerprint();
  if (meta.modelFingerprint !== fp) problems.push(`model weights: checkpoint ${meta.modelFingerprint.slice(0, 12)}… (${meta.model}), model ${fp.slice(0, 12)}… (${model.dir})`);
  const otherModel = problems.length > 0;
  if (m && fingerprintM(m) !== meta.mSha256) problems.push(`m: checkpoint ${meta.mSha256.slice(0, 12)}…, given ${fingerprintM(m).slice(0, 12)}…`);
  if (problems.length > 0) {
    throw new PrototokenError(`this encoder checkpoint was made for another setup:\n  ${problems.join('\n  ')}`, {
      file: dir,
      // The recorded model is named only in a form that works here (never a path of the machine that trained it).
      fix: otherModel
        ? `use it with the model it was trained on, ${modelHint(meta.model, meta.modelFingerprint)}, and its own m, or train an encoder for this model`
        : 'use it with its own m (drop --m), or train an encoder for this m',
    });
  }
}

export async function loadEncoder(path: string, model: LoadedModel, opts: LoadEncoderOptions = {}): Promise<LoadedEncoder> {
  const dir = await resolveSnapshotDir(path, opts.prefer ?? 'best');
  const snapshot = await readSnapshot(dir, opts.withOptimizer ?? false);
  const { meta } = snapshot;
  await checkCompatible(meta, dir, model, opts.m ?? null);
  // The head's statistics are overwritten by the stored weights; any placeholder of the right size will do.
  const stats = fallbackStats(meta.dModel, embeddingStd(model.lm));
  const encoder = buildEncoder(meta.spec, { lm: model.lm, bosId: model.tokenizer.bosId, stats, reference: snapshot.reference });
  try {
    assignWeights(encoder, snapshot, dir);
  } catch (err) {
    encoder.dispose();
    throw err;
  }
  return { dir, encoder, meta, m: snapshot.m, reference: snapshot.reference, gate: snapshot.gate ?? null, snapshot, warnings: snapshot.warnings };
}

/**
 * Start a new run from a trained encoder's weights (`train --init-from`): same architecture, same
 * LM and m, new optimiser and schedule. E.g. an encoder trained at N = 8 continued at N = 16.
 * The one change of architecture allowed is more transformer blocks (`--layers`): the checkpoint's
 * blocks keep their weights and the new ones, appended after them, start as the identity, so the
 * deeper encoder starts out computing exactly the checkpoint's e_hat.
 * Returns the checkpoint's step and the warnings of reading it.
 */
export async function initFromCheckpoint(encoder: ProtoEncoder, spec: EncoderSpec, path: string, model: LoadedModel, m: Float32Array): Promise<{ step: number; warnings: string[] }> {
  const dir = await resolveSnapshotDir(path, 'best');
  const snapshot = await readSnapshot(dir, false);
  await checkCompatible(snapshot.meta, dir, model, m);
  const [from, to] = [blockLayers(snapshot.meta.spec), blockLayers(spec)];
  const deeper = from !== null && to !== null && to > from;
  // The seed only draws the initial weights, which the checkpoint's replace: a continued run may take
  // another seed (its data order) on the same architecture.
  const shape = (s: EncoderSpec): string => JSON.stringify({ ...s, options: { ...s.options, seed: undefined, ...(deeper ? { layers: undefined } : {}) } });
  if (shape(snapshot.meta.spec) !== shape(spec)) {
    throw new PrototokenError(`--init-from needs the same architecture (or only more layers): the checkpoint has ${JSON.stringify(snapshot.meta.spec)}, this run ${JSON.stringify(spec)}`, {
      file: dir,
      fix: 'give this run the checkpoint\'s encoder options (see its config.json), or drop --init-from',
    });
  }
  assignWeights(encoder, snapshot, dir, deeper ? from : null);
  const warnings = deeper ? [`--init-from: ${from} -> ${to} layers; blocks ${from} to ${to - 1} start as the identity (zero output projections)`] : [];
  return { step: snapshot.meta.step, warnings: [...snapshot.warnings, ...warnings] };
}

/** How many transformer blocks (`blocks.i.*`) an architecture has; null for one without them. */
function blockLayers(spec: EncoderSpec): number | null {
  return spec.kind === 'lm-pool' ? null : spec.options.layers;
}

/** `name` belongs to block `from` or later (a block the checkpoint does not have). */
function isNewBlock(name: string, from: number): boolean {
  const i = /(?:^|\.)blocks\.(\d+)\./.exec(name);
  return i !== null && Number(i[1]) >= from;
}

/** The snapshot's weights into `encoder`; with `newBlocksFrom`, blocks from that index on are new. */
function assignWeights(encoder: ProtoEncoder, snap: Snapshot, dir: string, newBlocksFrom: number | null = null): void {
  for (const [name, v] of encoder.variables) {
    const w = snap.weights.get(name);
    if (!w && newBlocksFrom !== null && isNewBlock(name, newBlocksFrom)) {
      // A block adds its attention and MLP outputs to the residual stream (pre-norm): with both
      // output projections zero it passes its input through unchanged, and their gradients are not
      // zero, so it starts as the identity and learns from there.
      if (isBlockOutputWeight(name)) tf.tidy(() => v.assign(tf.zerosLike(v)));
      continue;
    }
    if (!w) throw new PrototokenError(`weights.safetensors has no tensor "${name}"`, { file: dir, fix: 'the checkpoint is damaged or from another version; use another snapshot' });
    if (w.shape.join(',') !== v.shape.join(',')) {
      throw new PrototokenError(`"${name}" has shape [${w.shape}] but the architecture needs [${v.shape}]`, { file: dir, fix: 'the checkpoint is damaged; use another snapshot' });
    }
    const t = tf.tensor(w.data, v.shape);
    v.assign(t);
    t.dispose();
  }
}
