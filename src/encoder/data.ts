/**
 * What an encoder trains on, assembled from raw text (windows, for the recon loss: any text is
 * training data) and solution datasets (solved e for distill, the output head's statistics and
 * the baselines). Splits are by story (`splitOf` hashes the story id), so no validation or test
 * window's story is ever seen in training.
 */
import type { TextTokenizer } from '../lm/tokenizer.js';
import { readDataset } from '../datasets/reader.js';
import { splitOf } from '../datasets/shard.js';
import { readTexts } from '../datasets/texts.js';
import { type WindowOptions, countExactCopies, windowTexts } from '../datasets/windows.js';
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
      throw new PrototokenError('this dataset was solved with m per text; an encoder needs one fixed m shared by all texts', {
        file: opts.dataset,
        fix: 'fit one m (`prototoken fit-m`), then solve the windows with `prototoken solve --m M.safetensors`',
      });
    }
    datasetM = await ds.sharedM();
    const refIds: number[] = [];
    const refE: Float32Array[] = [];
    const refTextIds: string[] = [];
    for (const row of ds.rows()) {
      if (row.nTokens !== N) {
        throw new PrototokenError(`row "${row.textId}" has N=${row.nTokens} tokens but the encoder trains on windows of ${N}`, {
          file: opts.dataset,
          fix: `use --window ${row.nTokens}, or a dataset solved at N=${N}`,
        });
      }
      if (!row.solved) continue;
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
