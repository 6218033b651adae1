/**
 * Encoder checkpoints. A snapshot is a folder:
 *
 *   encoder.json           architecture, the LM's weights fingerprint, m's sha256, e statistics, step,
 *                          and the sha256 of every other file (checked on read: checkpoint_files.ts)
 *   weights.safetensors    every encoder weight by name
 *   m.safetensors          the fixed m the encoder was trained with (needed to use it)
 *   reference.safetensors  solved training windows (ids + e) for the baselines, when there were any
 *   config.json            the resolved training config
 *   optimizer.safetensors  AdamW moments, and train_state.json (data order, best metric): `last` only
 *   gate.json              the retrieval gate (gate.ts), when `prototoken gate` chose one
 *
 * A run keeps `RUN/last` and `RUN/best`. A snapshot is written into a temporary folder that is then
 * swapped in by rename, so a crash leaves the previous snapshot (or, mid-swap, `last.old`, which the
 * reader falls back to), never a mix of two steps.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors, type F32Tensor } from '../lm/safetensors.js';
import { fingerprintM, writeVectorFile } from '../lm/vector_file.js';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { exists, fsyncDir, writeFileAtomic } from '../util/fs_atomic.js';
import { SNAPSHOT_FILES, USE_ANOTHER_SNAPSHOT, hashSnapshotFiles, verifySnapshotFiles } from './checkpoint_files.js';
import { type RetrievalGate, gateSchema } from './gate.js';
import type { EStats } from './head.js';
import type { EncoderSpec } from './spec.js';
import type { ReferenceSet } from './types.js';

export const CHECKPOINT_FORMAT = 'prototoken-encoder/1';

/** encoder.json */
export interface EncoderMeta {
  format: typeof CHECKPOINT_FORMAT;
  spec: EncoderSpec;
  /**
   * The LM it was trained through, as a name that means the same on another machine (the hub id, the
   * embedded model's place in the package, a path relative to where train ran: lm/model_name.ts),
   * and the sha256 of its weights, which is what identifies it.
   */
  model: string;
  modelFingerprint: string;
  dModel: number;
  vocabSize: number;
  mSha256: string;
  /** m was trained with the encoder (`train --learn-m`): the snapshot's m is the learned one. Absent: fixed. */
  learnedM?: boolean;
  /** Window length the encoder was trained on. */
  trainN: number;
  stats: { meanNorm: number; count: number };
  step: number;
  /** Validation metric the `best` snapshot was chosen by, and its value at this step (null: not validated yet). */
  metric: { name: string; value: number | null };
  createdAt: string;
  /**
   * sha256 of each input the run trained on (texts files, the dataset's data: run_inputs.ts), so a
   * resume elsewhere reads the same bytes. Absent in snapshots made before they were recorded.
   */
  inputs?: Record<string, string>;
  /** sha256 of every other file of the snapshot, by name. Absent in snapshots of older versions (read unverified, with a warning). */
  sha256?: Record<string, string>;
}

/** train_state.json (in `last`): what a resumed run needs beyond weights and moments. */
export interface TrainState {
  step: number;
  data: { epoch: number; position: number };
  best: { value: number; step: number } | null;
  /** Seconds of training before this snapshot (for windows/s and ETA across resumes). */
  seconds: number;
  /** CPU seconds of the process (every thread) over the same; absent in snapshots made before it was kept. */
  cpuSeconds?: number;
}

export interface Snapshot {
  meta: EncoderMeta;
  weights: ReadonlyMap<string, F32Tensor>;
  m: Float32Array;
  reference: ReferenceSet | null;
  config: object;
  optimizer?: { arrays: ReadonlyMap<string, F32Tensor>; state: TrainState };
  /** Retrieve or encode, chosen on held-out windows (`prototoken gate`); absent: the network alone. */
  gate?: RetrievalGate;
  /** What a reader should be told (an older snapshot read without verification). */
  warnings: string[];
}

const FILES = SNAPSHOT_FILES;

/** Write `snap` as `dir` (replacing any previous snapshot there), with the sha256 of each file in encoder.json. */
export async function writeSnapshot(dir: string, snap: Omit<Snapshot, 'warnings'>): Promise<void> {
  const parent = path.dirname(dir);
  await fsp.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}`);
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp);
  await writeSafetensors(path.join(tmp, FILES.weights), Object.fromEntries(snap.weights));
  await writeVectorFile(path.join(tmp, FILES.m), 'm', snap.m);
  if (snap.reference) {
    const r = snap.reference;
    const n = r.textIds.length;
    await writeSafetensors(
      path.join(tmp, FILES.reference),
      { ids: { shape: [n, r.N], data: Float32Array.from(r.ids) }, e: { shape: [n, r.d], data: r.e } },
      { text_ids: JSON.stringify(r.textIds) },
    );
  }
  await writeFileAtomic(path.join(tmp, FILES.config), JSON.stringify(snap.config, null, 2) + '\n');
  if (snap.gate) await writeFileAtomic(path.join(tmp, FILES.gate), JSON.stringify(snap.gate, null, 2) + '\n');
  if (snap.optimizer) {
    await writeSafetensors(path.join(tmp, FILES.optimizer), Object.fromEntries(snap.optimizer.arrays));
    await writeFileAtomic(path.join(tmp, FILES.state), JSON.stringify(snap.optimizer.state, null, 2) + '\n');
  }
  // encoder.json last: a folder without it is never taken for a snapshot. Its hashes are of the
  // bytes on disk, so a reader checks exactly what it will read.
  await writeFileAtomic(path.join(tmp, FILES.meta), JSON.stringify({ ...snap.meta, sha256: await hashSnapshotFiles(tmp) }, null, 2) + '\n');
  const old = `${dir}.old`;
  await fsp.rm(old, { recursive: true, force: true });
  if (await exists(dir)) await fsp.rename(dir, old);
  await fsp.rename(tmp, dir);
  await fsyncDir(parent);
  await fsp.rm(old, { recursive: true, force: true });
}

/**
 * The snapshot folder a user means: the folder itself when it holds encoder.json, else its `best`
 * (or `last`), else a half-swapped `.old`. `prefer` picks between best and last in a run folder.
 */
export async function resolveSnapshotDir(dir: string, prefer: 'best' | 'last' = 'best'): Promise<string> {
  const order = [dir, path.join(dir, prefer), path.join(dir, prefer === 'best' ? 'last' : 'best')];
  for (const d of order.flatMap((d) => [d, `${d}.old`])) if (await exists(path.join(d, FILES.meta))) return d;
  throw new PrototokenError(`no encoder checkpoint here (no ${FILES.meta} in it, nor in its best/ or last/)`, {
    file: dir,
    fix: 'pass a checkpoint folder written by `prototoken train` (runs/RUN, a shipped checkpoints/RUN, or its best/ or last/)',
  });
}

/**
 * Read a snapshot; `withOptimizer` also reads the moments and train state (resume). Every file read
 * is first checked against its sha256 in encoder.json: a damaged or missing one is refused by name.
 */
export async function readSnapshot(dir: string, withOptimizer = false): Promise<Snapshot> {
  const meta = await readJsonFile<EncoderMeta>(path.join(dir, FILES.meta));
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new PrototokenError(`unknown checkpoint format "${String(meta.format)}" (this version reads ${CHECKPOINT_FORMAT})`, { file: path.join(dir, FILES.meta) });
  }
  if (withOptimizer && !(await exists(path.join(dir, FILES.optimizer)))) {
    throw new PrototokenError('this snapshot has no optimizer state, so training cannot resume from it', { file: dir, fix: 'resume from RUN/last' });
  }
  const hasReference = await exists(path.join(dir, FILES.reference));
  const hasGate = await exists(path.join(dir, FILES.gate));
  const needed = [FILES.weights, FILES.m, FILES.config, ...(hasReference ? [FILES.reference] : []), ...(hasGate ? [FILES.gate] : []), ...(withOptimizer ? [FILES.optimizer, FILES.state] : [])];
  const unverified = await verifySnapshotFiles(dir, meta.sha256, needed);
  const weights = await readAll(path.join(dir, FILES.weights));
  const m = (await readAll(path.join(dir, FILES.m))).get('m');
  if (!m) throw new PrototokenError('no tensor "m"', { file: path.join(dir, FILES.m), fix: USE_ANOTHER_SNAPSHOT });
  if (fingerprintM(m.data) !== meta.mSha256) {
    throw new PrototokenError(`m does not match the sha256 recorded in ${FILES.meta}`, { file: path.join(dir, FILES.m), fix: USE_ANOTHER_SNAPSHOT });
  }
  const reference = hasReference ? await readReference(path.join(dir, FILES.reference)) : null;
  const config = await readJsonFile<object>(path.join(dir, FILES.config));
  const snap: Snapshot = { meta, weights, m: m.data, reference, config, warnings: unverified ? [unverified] : [] };
  if (hasGate) snap.gate = await readGate(path.join(dir, FILES.gate));
  if (withOptimizer) {
    snap.optimizer = { arrays: await readAll(path.join(dir, FILES.optimizer)), state: await readJsonFile<TrainState>(path.join(dir, FILES.state)) };
  }
  return snap;
}

/** Open a safetensors file of a snapshot (the reader's own fix speaks of model folders; this file belongs to a checkpoint). */
async function openSnapshotFile(file: string): Promise<SafetensorsFile> {
  try {
    return await SafetensorsFile.open(file);
  } catch (err) {
    if (err instanceof PrototokenError) throw new PrototokenError(err.problem, { file, fix: USE_ANOTHER_SNAPSHOT });
    throw err;
  }
}

async function readAll(file: string): Promise<Map<string, F32Tensor>> {
  const st = await openSnapshotFile(file);
  try {
    const out = new Map<string, F32Tensor>();
    for (const name of st.names()) out.set(name, { shape: st.info(name).shape, data: await st.read(name) });
    return out;
  } finally {
    await st.close();
  }
}

async function readReference(file: string): Promise<ReferenceSet> {
  const st = await openSnapshotFile(file);
  try {
    const [n, N] = st.info('ids').shape;
    const d = st.info('e').shape[1];
    const textIds = JSON.parse(st.metadata.text_ids ?? '[]') as string[];
    if (textIds.length !== n) throw new PrototokenError(`${textIds.length} text ids for ${n} rows`, { file });
    return { N, d, textIds, ids: Int32Array.from(await st.read('ids')), e: await st.read('e') };
  } finally {
    await st.close();
  }
}

async function readJsonFile<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new PrototokenError(`cannot read it (${errorMessage(err)})`, { file, fix: `the checkpoint is incomplete; ${USE_ANOTHER_SNAPSHOT}` });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new PrototokenError(`not valid JSON (${errorMessage(err)})`, { file, fix: `the checkpoint is damaged; ${USE_ANOTHER_SNAPSHOT}` });
  }
}

async function readGate(file: string): Promise<RetrievalGate> {
  const parsed = gateSchema.safeParse(await readJsonFile<unknown>(file));
  if (!parsed.success) {
    throw new PrototokenError(`not a retrieval gate: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`, { file, fix: 'choose the gate again with prototoken gate, or use the checkpoint it was made from (docs/encoder.md, "Release 8: the retrieval gate")' });
  }
  return parsed.data;
}

/** The statistics recorded for the head (the head's own weights carry the vectors). */
export function statsSummary(s: EStats): EncoderMeta['stats'] {
  return { meanNorm: s.meanNorm, count: s.count };
}
