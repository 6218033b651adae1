/**
 * What an encoder trains on, assembled from raw text (windows, for the recon loss: any text is
 * training data) and solution datasets (solved e for distill, the output head's statistics and
 * the baselines). Splits are by story (`splitOf` hashes the story id), so no validation or test
 * window's story is ever seen in training.
 *
 * One loader, two ways to hold the training rows: in memory (drawn by the EpochSampler), or
 * streamed from the dataset at training time (`stream`), for datasets too big for memory. Either
 * way the validation rows, the reference set and the head's statistics are read here, in one pass.
 */
import type { TextTokenizer } from '../lm/tokenizer.js';
import { splitOf } from '../texts/split.js';
import { readTexts } from '../texts/text_file.js';
import { type WindowOptions, countExactCopies, windowTexts } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import type { EncoderExample } from './batch.js';
import { countStreamedCopies, forEachUsableRow } from './data_rows.js';
import { requireComplete } from '../datasets/index.js';
import { type EStats, StatsAccumulator, eStats } from './head.js';
import type { LossKind } from './losses.js';
import type { ReferenceSet } from './types.js';

export interface EncoderDataOptions {
  /** Width of e (the LM's hidden size). */
  d: number;
  /** N (`window`), and how `texts` are cut into windows. */
  windows: WindowOptions;
  /**
   * Stream the dataset's training rows at training time (`openTrainSource`) instead of holding
   * them: needs `dataset`, takes no `texts`. Default false.
   */
  stream?: boolean;
  /** Raw text files (JSONL or plain text), cut into windows for the recon loss. Default none. */
  texts?: readonly string[];
  /** Cuts `texts`; needed when there are any. */
  tokenizer?: TextTokenizer;
  /** A solution dataset solved with one fixed m (its rows must have N = window). Default none. */
  dataset?: string | null;
  /** Without recon, `texts` are not read and only rows with a solved e train. Default 'recon'. */
  loss?: LossKind;
  /** In memory: cap on training examples (the first ones in file order); null = all. Default null. */
  maxTrain?: number | null;
  /** Cap on validation examples (the first ones); null = all. Default null (512 in `train`). */
  maxVal?: number | null;
  /**
   * Streamed: the reference set is the first this many solved training rows in storage order.
   * In memory it is every one (they are held anyway). Default 20000.
   */
  maxReference?: number;
  /**
   * Dataset rows whose one-pass token accuracy reaches this count as solved (reference set, head
   * statistics, distill targets). Default 1: only solved rows. Lower it where the model cannot
   * solve every window with one fixed m (e.g. N above its shared-m capacity): the rows then carry
   * the solver's best-effort e.
   */
  referenceMinAccuracy?: number;
  /** Take a `dataset` that is incomplete (datasets/completeness.ts); refused otherwise. Default false. */
  allowPartial?: boolean;
}

export interface EncoderData {
  N: number;
  /** The training examples in memory; null when they are streamed from `dataset`. */
  train: EncoderExample[] | null;
  /** Training windows: those in memory, or the solved training rows of one streamed epoch. */
  trainRows: number;
  /** The dataset the training rows are streamed from (null: in memory). */
  dataset: string | null;
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

/** What a stream needs, said before anything is read (and by `train` before the model loads). */
export function checkStreamInputs(opts: Pick<EncoderDataOptions, 'stream' | 'dataset' | 'texts'>): void {
  if (!opts.stream) return;
  if (!opts.dataset) throw new PrototokenError('--stream streams a solution dataset', { fix: 'pass --dataset DIR (or drop --stream)' });
  if ((opts.texts ?? []).length > 0) {
    throw new PrototokenError('--texts cannot be combined with --stream: a streamed run trains on the dataset\'s rows only', {
      fix: 'drop --texts (recon trains on the dataset\'s windows too), or drop --stream to read both into memory',
    });
  }
}

export async function loadEncoderData(opts: EncoderDataOptions): Promise<EncoderData> {
  checkStreamInputs(opts);
  const { d } = opts;
  const N = opts.windows.window;
  const stream = opts.stream ?? false;
  const texts = opts.texts ?? [];
  const dataset = opts.dataset ?? null;
  const loss = opts.loss ?? 'recon';
  const maxVal = opts.maxVal ?? null;
  const maxReference = stream ? opts.maxReference ?? 20000 : Infinity;
  const train = new Map<string, EncoderExample>();
  // In memory a dataset row replaces the text window of the same id (which gains its e); a stream
  // reads dataset rows only and keeps each, so its keys are row numbers.
  const val = new Map<string | number, EncoderExample>();
  const addVal = (key: string | number, ex: EncoderExample): void => {
    if (maxVal === null || val.size < maxVal || val.has(key)) val.set(key, ex);
  };
  // An interrupted solve's dataset looks whole; training on it must be asked for.
  if (dataset) await requireComplete(dataset, 'trained on', opts.allowPartial ?? false);
  let tooShort = 0;
  let textWindows = 0;
  if (!stream && loss === 'recon') {
    for (const file of texts) {
      if (!opts.tokenizer) throw new Error('loadEncoderData: texts need a tokenizer');
      const { windows, tooShort: short } = windowTexts(await readTexts(file), opts.tokenizer, opts.windows);
      tooShort += short.length;
      textWindows += windows.length;
      for (const w of windows) {
        const ex: EncoderExample = { id: w.id, ids: Int32Array.from(w.ids), e: null };
        if (splitOf(w.id) === 'train') train.set(w.id, ex);
        else if (splitOf(w.id) === 'val') addVal(w.id, ex);
      }
    }
  }
  const reference: EncoderExample[] = [];
  // Streamed, the reference may be capped, so the statistics see every training e on the way past.
  const streamedStats = stream ? new StatsAccumulator(d) : null;
  let datasetRows = 0;
  let datasetM: Float32Array | null = null;
  if (dataset) {
    datasetM = await forEachUsableRow(dataset, { N, stream, minAccuracy: opts.referenceMinAccuracy }, (row) => {
      datasetRows++;
      const copy = (): EncoderExample => ({ id: row.textId, ids: Int32Array.from(row.tokenIds), e: Float32Array.from(row.e) });
      if (row.split === 'train') {
        streamedStats?.add(row.e);
        if (stream && reference.length >= maxReference) return;
        const ex = copy();
        if (!stream) train.set(ex.id, ex);
        reference.push(ex);
      } else if (row.split === 'val') {
        addVal(stream ? datasetRows : row.textId, copy());
      }
    });
  }
  const valList = [...val.values()];
  let trainList: EncoderExample[] | null = null;
  let trainRows: number;
  if (stream) {
    trainRows = streamedStats?.count ?? 0;
    if (trainRows === 0) throw new PrototokenError('the dataset has no solved training rows to stream', { file: dataset ?? undefined, fix: 'pass a solved dataset with --dataset' });
  } else {
    trainList = [...train.values()];
    if (loss !== 'recon') trainList = trainList.filter((x) => x.e !== null);
    if (opts.maxTrain !== undefined && opts.maxTrain !== null) trainList = trainList.slice(0, opts.maxTrain);
    trainRows = trainList.length;
    if (trainRows === 0) {
      throw new PrototokenError(
        loss === 'recon' ? `no training windows of ${N} tokens (${tooShort} texts too short)` : 'the dataset has no solved training rows for the distill loss',
        { file: dataset ?? texts.join(', '), fix: loss === 'recon' ? 'pass --texts with longer texts or a smaller --window' : 'pass a solved dataset with --dataset' },
      );
    }
  }
  const referenceSet = reference.length > 0 ? referenceOf(reference, N, d) : null;
  return {
    N,
    train: trainList,
    trainRows,
    dataset: stream ? dataset : null,
    val: valList,
    reference: referenceSet,
    stats: streamedStats ? streamedStats.stats() : referenceSet ? eStats(referenceSet.e, d) : null,
    datasetM,
    valExactCopies: trainList ? countExactCopies(valList, trainList) : await countStreamedCopies(dataset as string, valList),
    counts: { textWindows, datasetRows, tooShort },
  };
}

/** A streamed run's options, which a dataset alone decides (no texts, so no tokenizer); as in EncoderDataOptions. */
export interface StreamDataOptions {
  dataset: string;
  /** N. */
  window: number;
  maxReference: number;
  maxVal: number | null;
  /** Default 1. */
  referenceMinAccuracy?: number;
}

/** loadEncoderData streamed, for callers that hold no tokenizer. */
export function loadStreamData(opts: StreamDataOptions, d: number): Promise<EncoderData> {
  const { window, ...rest } = opts;
  return loadEncoderData({ ...rest, d, windows: { window }, stream: true });
}

/** The solved training-split rows of `dir` (N tokens each) as a reference set, streamed, and the dataset's m. */
export async function solvedTrainingRows(dir: string, N: number, d: number): Promise<{ reference: ReferenceSet | null; m: Float32Array | null }> {
  const rows: EncoderExample[] = [];
  const m = await forEachUsableRow(dir, { N, stream: true }, (row) => {
    if (row.split === 'train') rows.push({ id: row.textId, ids: Int32Array.from(row.tokenIds), e: Float32Array.from(row.e) });
  });
  return { reference: rows.length > 0 ? referenceOf(rows, N, d) : null, m };
}

function referenceOf(rows: readonly EncoderExample[], N: number, d: number): ReferenceSet {
  const ids = new Int32Array(rows.length * N);
  const e = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    ids.set(r.ids, i * N);
    e.set(r.e as Float32Array, i * d);
  });
  return { N, d, textIds: rows.map((r) => r.id), ids, e };
}
