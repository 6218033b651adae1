/**
 * Small inputs of every kind `prototoken report` reads, made with the project's own writers where
 * there is one (datasets, TensorBoard events, checkpoints) and typed against the contracts where
 * the file is plain JSON (results.ts, EvalSummary, CapacitySummary), so a contract change breaks
 * the fixture at compile time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { RESULT_VERSION, type ArrangementsResult, type DistancesResult, type InterpolateResult, type SharingResult } from '../../src/analysis/results.js';
import { CAPACITY_M_NOTE, type CapacitySummary, type CapacityTextRow, capacityTable } from '../../src/analysis/capacity.js';
import { openDatasetWriter, type SolutionRecord } from '../../src/datasets/index.js';
import { fingerprintM } from '../../src/lm/vector_file.js';
import { summarize } from '../../src/util/stats.js';
import { CHECKPOINT_FORMAT, type EncoderMeta, writeSnapshot } from '../../src/encoder/checkpoint.js';
import type { EvalSummary } from '../../src/encoder/eval_table.js';
import { TfEventsWriter } from '../../src/util/tfevents.js';
import { recordOf, testOptions } from '../datasets/helpers.js';

/** A text id a page must show as text, never as markup. */
export const HOSTILE_ID = '<script>alert("x")</script><b>&amp;';

/** Every input made by makeReportInputs. */
export interface ReportFixture {
  /** A solve dataset of 12 rows (d = 8). */
  dataset: string;
  /** A capacity dataset (m per text, threshold 0.99): texts cap-0..cap-5. */
  capacityDataset: string;
  /** The capacity texts the dataset should yield. */
  capacityTexts: CapacityTextRow[];
  /** `capacity --json` describing the same natural texts plus a generated, shared-m run. */
  capacityJson: string;
  /** Folders holding result.json, and one result.json given as a file. */
  interpolate: string;
  distances: string;
  arrangements: string;
  sharingFile: string;
  evalJson: string;
  /** runs/run1 with two event files (a resumed run). */
  runs: string;
  /** checkpoints/run1 with best/ and last/, whose config.json names `runs` as its logdir. */
  checkpoint: string;
}

/** Write every fixture under `root`. */
export async function makeReportInputs(root: string): Promise<ReportFixture> {
  const dataset = path.join(root, 'solve-ds');
  const w = await openDatasetWriter(dataset, testOptions());
  await w.append(Array.from({ length: 12 }, (_, i) => recordOf(i)));
  await w.close();

  const capacityDataset = path.join(root, 'capacity', 'natural-per-text');
  const { rows: capRows, texts: capacityTexts } = capacityRecords();
  const cw = await openDatasetWriter(capacityDataset, testOptions({
    kind: 'capacity', length: null, init: `randn${CAPACITY_M_NOTE['per-text']}`, solverConfig: { threshold: 0.99 }, source: { name: 'natural', license: 'mit' },
  }));
  await cw.append(capRows);
  await cw.close();

  const generated: CapacityTextRow[] = [0, 1, 2].map((i) => ({ source: 'generated', m: 'shared', id: `gen-${i}`, capacity: 8 + 4 * i, h_lm_nats: 10 + i }));
  const capacity: CapacitySummary = { out: path.join(root, 'capacity'), interrupted: false, texts: [...capacityTexts, ...generated], table: capacityTable([...capacityTexts, ...generated]) };
  const capacityJson = path.join(root, 'capacity.json');
  await writeJson(capacityJson, capacity);

  const interpolate = await resultFolder(root, 'interp', interpolateResult());
  const distances = await resultFolder(root, 'dist', distancesResult());
  const arrangements = await resultFolder(root, 'arr', arrangementsResult());
  const sharingFile = path.join(await resultFolder(root, 'share', sharingResult()), 'result.json');
  const evalJson = path.join(root, 'eval.json');
  await writeJson(evalJson, evalSummary());

  const runs = path.join(root, 'runs', 'run1');
  await writeEvents(runs);
  const checkpoint = path.join(root, 'checkpoints', 'run1');
  await writeCheckpoint(checkpoint, runs);
  return { dataset, capacityDataset, capacityTexts, capacityJson, interpolate, distances, arrangements, sharingFile, evalJson, runs, checkpoint };
}

/** Capacity rows of varying length; text i reaches the threshold unless i % 3 === 2 (capacity 0). */
function capacityRecords(): { rows: SolutionRecord[]; texts: CapacityTextRow[] } {
  const rows: SolutionRecord[] = [];
  const texts: CapacityTextRow[] = [];
  for (let i = 0; i < 6; i++) {
    const n = [4, 5, 8, 11, 16, 22][i];
    const accuracy = i % 3 === 2 ? 0.5 : 1;
    const hLmNats = 2.5 * n;
    rows.push({ ...recordOf(i), textId: `cap-${i}`, tokenIds: Int32Array.from({ length: n }, (_, j) => j + 3), accuracy, hLmNats, solved: accuracy === 1 });
    texts.push({ source: 'natural', m: 'per-text', id: `cap-${i}`, capacity: accuracy >= 0.99 ? n : 0, h_lm_nats: hLmNats });
  }
  return { rows, texts };
}

const STAMP = { version: RESULT_VERSION, model: 'test/tiny', created: '2025-01-01T00:00:00.000Z' };

function interpolateResult(): InterpolateResult {
  const taus = Array.from({ length: 33 }, (_, k) => k / 32);
  const pairs = [HOSTILE_ID, 't1', 't2'].map((textId, p) => {
    const lineAccuracy = taus.map((t) => 1 - 0.6 * Math.sin(Math.PI * t) / (p + 1));
    const bezierAccuracy = taus.map((t) => 1 - 0.05 * Math.sin(Math.PI * t) * p);
    return {
      textId, restartA: 0, restartB: 1, N: 8, lineAccuracy, bezierAccuracy,
      lineMinAccuracy: Math.min(...lineAccuracy), bezierMinAccuracy: Math.min(...bezierAccuracy),
      lengthRatio: 1.1 + p / 10, bezierLossBefore: 12 - p, bezierLossAfter: 0.5, endpointDistance: 7.5,
    };
  });
  return {
    ...STAMP, kind: 'interpolate', dataset: 'runs/interp-ds', taus, pairs, curvesFile: 'curves.arrow',
    summary: {
      pairs: pairs.length,
      lineMinAccuracy: summarize(pairs.map((p) => p.lineMinAccuracy)),
      bezierMinAccuracy: summarize(pairs.map((p) => p.bezierMinAccuracy)),
      lineConnected: 0,
      bezierConnected: 1,
      lengthRatio: summarize(pairs.map((p) => p.lengthRatio)),
    },
  };
}

function distancesResult(): DistancesResult {
  const group = (type: DistancesResult['groups'][number]['type'], centre: number): DistancesResult['groups'][number] => {
    const cosineValues = Array.from({ length: 40 }, (_, i) => centre + 0.01 * (i % 9));
    const tfidfValues = Array.from({ length: 40 }, (_, i) => Math.min(1, centre + 0.2 + 0.02 * (i % 7)));
    return { type, pairs: 40, cosine: summarize(cosineValues), tfidf: summarize(tfidfValues), cosineValues, tfidfValues };
  };
  return { ...STAMP, kind: 'distances', groups: [group('same-text', 0.1), group('same-context', 0.4), group('different-context', 0.7)] };
}

function arrangementsResult(): ArrangementsResult {
  const rows = ['e-m', 'e', 'alt'].flatMap((arrangement, a) => [4, 8, 16, 32].map((N) => {
    const acc = Math.max(0, 1 - a * N / 64);
    return { arrangement, N, texts: 4, solved: acc === 1 ? 4 : 1, accuracy: summarize([acc, acc, acc - 0.01, acc]), steps: summarize([100, 120, 140, 90 + N]) };
  }));
  return { ...STAMP, kind: 'arrangements', rows };
}

function sharingResult(): SharingResult {
  const rows = (['e', 'm'] as const).flatMap((shared) => [1, 2, 4].map((groupSize) => {
    const accuracyBySeed = [0.9, 0.85, 0.8].map((a) => a / (shared === 'e' ? groupSize : 1));
    const s = summarize(accuracyBySeed);
    return { shared, groupSize, seeds: [0, 1, 2], groups: 8 / groupSize, accuracyBySeed, best: Math.max(...accuracyBySeed), mean: s.mean ?? 0, std: s.std ?? 0 };
  }));
  return { ...STAMP, kind: 'sharing', N: 16, rows };
}

function evalSummary(): EvalSummary {
  const method = (name: string, acc: number) => {
    const stats = { texts: 10, token_accuracy: acc, exact_match: acc / 3, mean_first_error: 8 * acc };
    return { method: name, ...stats, by_n: { '8': stats } };
  };
  return {
    checkpoint: 'checkpoints/run1', source: 'stories.jsonl', split: 'test', N: 8, texts: 10, too_short: 0,
    exact_copies_of_training_windows: 2, encoder_texts_per_sec: 150.5, notes: ['solver e: left out, no dataset'],
    methods: [method('encoder (transformer)', 0.33), method('nn-tokens', 0.55), method(`nn-${HOSTILE_ID}`, 0.32), method('random', 0.02)],
  };
}

/** Two event files: steps 10..50, then a resume that rewrites steps 40..60 (its values win). */
async function writeEvents(dir: string): Promise<void> {
  let t = 1_700_000_000;
  const first = await TfEventsWriter.open(dir, { now: () => (t += 1) });
  for (let step = 10; step <= 50; step += 10) first.scalars({ 'train/loss': 5 - step / 20, lr: 0.001 }, step);
  first.scalars({ 'val/token_accuracy': 0.2 }, 50);
  await first.close();
  const second = await TfEventsWriter.open(dir, { now: () => (t += 1) });
  for (let step = 40; step <= 60; step += 10) second.scalars({ 'train/loss': 1 - step / 200, lr: 0.0005 }, step);
  second.scalars({ 'val/token_accuracy': 0.3 }, 60);
  await second.close();
}

async function writeCheckpoint(dir: string, logdir: string): Promise<void> {
  const spec: EncoderMeta['spec'] = { kind: 'transformer', options: { width: 16, layers: 1, heads: 2, ffMult: 2, maxLength: 8, poolQueries: 1, freezeEmbeddings: false, seed: 0 } };
  const m = new Float32Array(8).fill(0.5);
  const meta: Omit<EncoderMeta, 'step' | 'metric'> = {
    format: CHECKPOINT_FORMAT, spec, model: 'test/tiny', modelFingerprint: 'f'.repeat(64), dModel: 8, vocabSize: 32, mSha256: fingerprintM(m),
    trainN: 8, stats: { meanNorm: 1, count: 1 }, createdAt: '2025-01-01T00:00:00.000Z',
  };
  const weights = new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]);
  const config = { name: 'run1', logdir };
  await writeSnapshot(path.join(dir, 'best'), { meta: { ...meta, step: 60, metric: { name: 'val_token_accuracy', value: 0.3 } }, weights, m, reference: null, config });
  await writeSnapshot(path.join(dir, 'last'), {
    meta: { ...meta, step: 60, metric: { name: 'val_token_accuracy', value: null } }, weights, m, reference: null, config,
    optimizer: { arrays: new Map(), state: { step: 60, data: { epoch: 0, position: 3 }, best: { value: 0.3, step: 60 }, seconds: 90 } },
  });
}

async function resultFolder(root: string, name: string, result: object): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeJson(path.join(dir, 'result.json'), result);
  return dir;
}

async function writeJson(file: string, value: object): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
}

/** All fixture inputs, as a user would list them (the checkpoint's logdir is found, not given). */
export function allInputs(f: ReportFixture): string[] {
  return [f.dataset, path.dirname(f.capacityDataset), f.capacityJson, f.interpolate, f.distances, f.arrangements, f.sharingFile, f.evalJson, f.checkpoint];
}
