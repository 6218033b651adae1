/**
 * What an encoder trains on, assembled from raw text (windows, for the recon loss: any text is
 * training data) and solution datasets (solved e for distill, the output head's statistics and
 * the baselines). Splits are by story (`splitOf` hashes the story id), so no validation or test
 * window's story is ever seen in training.
 */
import type { TextTokenizer } from '../lm/tokenizer.js';
import { readDataset } from '../datasets/reader.js';
import { readSharedM } from '../datasets/folder.js';
import { scanDataset } from '../datasets/scan.js';
import { splitOf } from '../texts/split.js';
import { readTexts } from '../texts/text_file.js';
import { type WindowOptions, countExactCopies, windowTexts } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import type { EncoderExample } from './batch.js';
import { type EStats, eStats } from './head.js';
import type { LossKind } from './losses.js';
import type { ReferenceSet } from './types.js';

export interface TrainDataOptions {
  /** Raw text files (JSONL or plain text), cut into windows. */
  texts: readonly string[];
  /** A solution dataset solved with one fixed m (its rows must have N = window). */
  dataset: string | null;
  windows: WindowOptions;
  loss: LossKind;
  /** Cap on training examples (the first ones in file order); null = all. */
  maxTrain: number | null;
  /** Cap on validation examples; null = all. Default 512 in the CLI. */
  maxVal: number | null;
  /**
   * Dataset rows whose one-pass token accuracy reaches this count as solved (reference set, head
   * statistics, distill targets). Default 1: only solved rows. Lower it where the model cannot
   * solve every window with one fixed m (e.g. N above its shared-m capacity): the rows then carry
   * the solver's best-effort e.
   */
  referenceMinAccuracy?: number;
}

/** Whether a dataset row's e counts as a solution for the encoder stage (by default: the solver's own verdict). */
export function usableRow(solved: boolean, accuracy: number, minAccuracy = 1): boolean {
  return solved || (minAccuracy < 1 && accuracy >= minAccuracy);
}

export interface TrainData {
  N: number;
  train: EncoderExample[];
  val: EncoderExample[];
  /** Solved training rows: baselines and the head's statistics. */
  reference: ReferenceSet | null;
  stats: EStats | null;
  /** The dataset's shared m, when it has one. */
  datasetM: Float32Array | null;
  /** Validation windows whose tokens equal a training window's. */
  valExactCopies: number;
  counts: { textWindows: number; datasetRows: number; tooShort: number };
}

/** One place for the shared-m rule, so both loading paths refuse the same datasets alike. */
function perTextMError(file: string): PrototokenError {
  return new PrototokenError('this dataset was solved with m per text; an encoder needs one fixed m shared by all texts', {
    file,
    fix: 'fit one m (`prototoken fit-m`), then solve the windows with `prototoken solve --m M.safetensors`',
  });
}

function wrongNError(file: string, rowN: number, N: number, what: string): PrototokenError {
  return new PrototokenError(`${what} has N=${rowN} tokens but the encoder trains on windows of ${N}`, { file, fix: `use --window ${rowN}, or a dataset solved at N=${N}` });
}

export async function loadTrainData(opts: TrainDataOptions, tokenizer: TextTokenizer, d: number): Promise<TrainData> {
  const N = opts.windows.window;
  const train = new Map<string, EncoderExample>();
  const val = new Map<string, EncoderExample>();
  let tooShort = 0;
  let textWindows = 0;
  if (opts.loss === 'recon') {
    for (const file of opts.texts) {
      const { windows, tooShort: short } = windowTexts(await readTexts(file), tokenizer, opts.windows);
      tooShort += short.length;
      textWindows += windows.length;
      for (const w of windows) (splitOf(w.id) === 'train' ? train : splitOf(w.id) === 'val' ? val : null)?.set(w.id, { id: w.id, ids: Int32Array.from(w.ids), e: null });
    }
  }
  let reference: ReferenceSet | null = null;
  let datasetM: Float32Array | null = null;
  let datasetRows = 0;
  if (opts.dataset) {
    const ds = await readDataset(opts.dataset);
    if (ds.perTextM) {
      throw perTextMError(opts.dataset);
    }
    datasetM = await ds.sharedM();
    const refIds: number[] = [];
    const refE: Float32Array[] = [];
    const refTextIds: string[] = [];
    for (const row of ds.rows()) {
      if (row.nTokens !== N) {
        throw wrongNError(opts.dataset, row.nTokens, N, `row "${row.textId}"`);
      }
      if (!usableRow(row.solved, row.accuracy, opts.referenceMinAccuracy)) continue;
      datasetRows++;
      const ex: EncoderExample = { id: row.textId, ids: Int32Array.from(row.tokenIds), e: Float32Array.from(row.e) };
      const split = row.split;
      if (split === 'train') {
        train.set(ex.id, ex);
        refIds.push(...ex.ids);
        refE.push(ex.e as Float32Array);
        refTextIds.push(ex.id);
      } else if (split === 'val') {
        val.set(ex.id, ex);
      }
    }
    if (refTextIds.length > 0) reference = { N, d, textIds: refTextIds, ids: Int32Array.from(refIds), e: concat(refE, d) };
  }
  let trainList = [...train.values()];
  if (opts.loss !== 'recon') trainList = trainList.filter((x) => x.e !== null);
  if (opts.maxTrain !== null) trainList = trainList.slice(0, opts.maxTrain);
  const valList = opts.maxVal !== null ? [...val.values()].slice(0, opts.maxVal) : [...val.values()];
  if (trainList.length === 0) {
    throw new PrototokenError(
      opts.loss === 'recon' ? `no training windows of ${N} tokens (${tooShort} texts too short)` : 'the dataset has no solved training rows for the distill loss',
      { file: opts.dataset ?? opts.texts.join(', '), fix: opts.loss === 'recon' ? 'pass --texts with longer texts or a smaller --window' : 'pass a solved dataset with --dataset' },
    );
  }
  return {
    N,
    train: trainList,
    val: valList,
    reference,
    stats: reference ? eStats(reference.e, d) : null,
    datasetM,
    valExactCopies: countExactCopies(valList, trainList),
    counts: { textWindows, datasetRows, tooShort },
  };
}

function concat(rows: readonly Float32Array[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(r, i * d));
  return out;
}

export interface StreamDataOptions {
  /** The solution dataset, solved with one fixed m at N = `window`. */
  dataset: string;
  window: number;
  /** Cap on the reference set (the first solved training rows in storage order). */
  maxReference: number;
  /** Cap on validation rows (the first solved ones); null = all. */
  maxVal: number | null;
  /** As in TrainDataOptions. Default 1. */
  referenceMinAccuracy?: number;
}

/** What a streamed run holds in memory: everything of TrainData but the training examples. */
export interface StreamTrainData extends Omit<TrainData, 'train'> {
  /** Solved training rows in the dataset (one streamed epoch). */
  trainRows: number;
}

/**
 * The side data of a run that streams its training rows: the head's statistics over every solved
 * training e (one streaming pass, never the matrix), the first `maxReference` of them as the
 * baselines' reference, and the first `maxVal` solved validation rows. Memory O(batch + caps).
 */
export async function loadStreamData(opts: StreamDataOptions, d: number): Promise<StreamTrainData> {
  const N = opts.window;
  const scan = await scanDataset(opts.dataset);
  const acc = new StatsAccumulator(d);
  const ref = { textIds: [] as string[], ids: [] as Int32Array[], e: [] as Float32Array[] };
  const val: EncoderExample[] = [];
  let datasetRows = 0;
  try {
    if (scan.perTextM) throw perTextMError(opts.dataset);
    if (scan.settings.length !== N) throw wrongNError(opts.dataset, scan.settings.length ?? NaN, N, 'this dataset');
    for await (const { columns: c } of scan.batches()) {
      for (let r = 0; r < c.rows; r++) {
        if (!usableRow(c.solved[r] === 1, c.accuracy[r], opts.referenceMinAccuracy)) continue;
        datasetRows++;
        const e = c.e.subarray(r * d, (r + 1) * d);
        const ids = (): Int32Array => c.tokenIds.slice(c.tokenOffsets[r], c.tokenOffsets[r + 1]);
        if (c.split[r] === 'train') {
          acc.add(e);
          if (ref.textIds.length < opts.maxReference) {
            ref.textIds.push(c.textId[r]);
            ref.ids.push(ids());
            ref.e.push(Float32Array.from(e));
          }
        } else if (c.split[r] === 'val' && (opts.maxVal === null || val.length < opts.maxVal)) {
          val.push({ id: c.textId[r], ids: ids(), e: Float32Array.from(e) });
        }
      }
    }
    if (acc.count === 0) {
      throw new PrototokenError('the dataset has no solved training rows to stream', { file: opts.dataset, fix: 'pass a solved dataset with --dataset' });
    }
    return {
      N,
      val,
      reference: { N, d, textIds: ref.textIds, ids: concatInts(ref.ids), e: concat(ref.e, d) },
      stats: acc.stats(),
      datasetM: await readSharedM(opts.dataset),
      valExactCopies: await countStreamedCopies(opts.dataset, val),
      counts: { textWindows: 0, datasetRows, tooShort: 0 },
      trainRows: acc.count,
    };
  } finally {
    await scan.close();
  }
}

/** Validation rows whose tokens equal a solved training row's: a second pass, holding only val's keys. */
async function countStreamedCopies(dir: string, val: readonly EncoderExample[]): Promise<number> {
  if (val.length === 0) return 0;
  const key = (ids: ArrayLike<number>): string => Array.prototype.join.call(ids, ',');
  const open = new Map<string, number>();
  for (const v of val) open.set(key(v.ids), (open.get(key(v.ids)) ?? 0) + 1);
  let copies = 0;
  const scan = await scanDataset(dir);
  try {
    for await (const { columns: c } of scan.batches()) {
      for (let r = 0; r < c.rows && open.size > 0; r++) {
        if (c.split[r] !== 'train' || c.solved[r] !== 1) continue;
        const k = key(c.tokenIds.subarray(c.tokenOffsets[r], c.tokenOffsets[r + 1]));
        const n = open.get(k);
        if (n !== undefined) {
          copies += n;
          open.delete(k);
        }
      }
    }
  } finally {
    await scan.close();
  }
  return copies;
}

/** eStats in one pass (Welford, in float64), for vectors that arrive batch by batch. */
export class StatsAccumulator {
  count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private norms = 0;

  constructor(private readonly d: number) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }

  add(e: Float32Array): void {
    this.count++;
    let nn = 0;
    for (let j = 0; j < this.d; j++) {
      const x = e[j];
      const delta = x - this.mean[j];
      this.mean[j] += delta / this.count;
      this.m2[j] += delta * (x - this.mean[j]);
      nn += x * x;
    }
    this.norms += Math.sqrt(nn);
  }

  stats(): EStats {
    const n = this.count;
    // The same conventions as eStats: sample std, and a tiny floor so a constant coordinate keeps a scale.
    const std = Float32Array.from(this.m2, (s) => Math.sqrt(s / Math.max(1, n - 1)) || 1e-3);
    return { mean: Float32Array.from(this.mean), std, meanNorm: n ? this.norms / n : 0, count: n };
  }
}

function concatInts(rows: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(rows.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}
