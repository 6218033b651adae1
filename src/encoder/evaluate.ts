/**
 * An encoder's evaluation (`prototoken eval`): one-pass reconstruction accuracy of its e_hat on
 * texts, next to the baselines on the same texts (mean e, nearest neighbours, random e), and the
 * solver's own e as an upper bound when a dataset solved with the same m provides it. Methods that
 * cannot run are left out with a note saying why.
 */
import type { CausalLM } from '../lm/types.js';
import { BASELINE_KINDS, type BaselineKind, baselineE, exactCopies } from './baselines.js';
import { encodeAll } from './encode.js';
import { type EvalSummary, type EvalTable, type MethodVectors, evaluateMethods } from './eval_table.js';
import { type RunTexts, flatE, flatIds } from './inputs.js';
import type { LoadedEncoder } from './load.js';

export interface EncoderEvalOptions {
  /** Baselines to run beside the encoder, in this order. Default all (BASELINE_KINDS). */
  baselines?: readonly BaselineKind[];
  /** Texts per forward pass. Default 64. */
  batchSize?: number;
  /** Seed of the random baseline. Default 0. */
  seed?: number;
}

/** Evaluate `enc` and the baselines on `run`'s texts; the table is also in the summary. */
export async function evaluateEncoder(lm: CausalLM, enc: LoadedEncoder, run: RunTexts, opts: EncoderEvalOptions = {}): Promise<{ summary: EvalSummary; table: EvalTable }> {
  const { texts, N } = run;
  const batchSize = opts.batchSize ?? 64;
  const ids = flatIds(texts, N);
  const started = Date.now();
  const methods: MethodVectors[] = [{ name: `encoder (${enc.meta.spec.kind})`, eHat: await encodeAll(enc.encoder, ids, N, batchSize) }];
  const encodeSeconds = (Date.now() - started) / 1000;
  const notes: string[] = [];
  for (const kind of opts.baselines ?? BASELINE_KINDS) {
    if (kind !== 'random' && !enc.reference) {
      notes.push(`${kind}: left out, the checkpoint carries no solved training windows`);
      continue;
    }
    const reference = enc.reference ?? { N, d: enc.meta.dModel, textIds: [], ids: new Int32Array(0), e: new Float32Array(0) };
    methods.push({ name: kind, eHat: baselineE(kind, reference, ids, { queryN: N, seed: opts.seed ?? 0 }) });
  }
  const withE = texts.filter((t) => t.e !== null);
  if (withE.length === texts.length && run.eMatchesM) {
    methods.push({ name: 'solver e (upper bound)', eHat: flatE(texts, enc.meta.dModel) });
  } else if (run.from === 'dataset') {
    notes.push(run.eMatchesM ? `solver e: left out, ${texts.length - withE.length} of the texts are unsolved or of another N` : 'solver e: left out, the dataset was solved with another m than the checkpoint\'s');
  }
  const { table } = await evaluateMethods(lm, enc.m, texts, methods, { batchSize });
  // Copies only mean something for windows of the training length (a shorter reference would match prefixes).
  const copies = enc.reference && enc.reference.N === N ? exactCopies(enc.reference, ids, N) : null;
  const summary: EvalSummary = {
    checkpoint: enc.dir,
    source: run.source,
    split: run.split,
    N,
    texts: texts.length,
    too_short: run.tooShort,
    exact_copies_of_training_windows: copies,
    encoder_texts_per_sec: texts.length / Math.max(1e-3, encodeSeconds),
    notes,
    methods: table.methods,
  };
  return { summary, table };
}
