/**
 * An encoder's evaluation (`prototoken eval`): one-pass reconstruction accuracy of its e_hat on
 * texts, next to the baselines on the same texts (mean e, nearest neighbours, random e), and the
 * solver's own e as an upper bound when a dataset solved with the same m provides it. Methods that
 * cannot run are left out with a note saying why.
 */
import { z } from 'zod';
import type { CausalLM } from '../lm/types.js';
import { fingerprintM } from '../lm/vector_file.js';
import { PrototokenError } from '../util/errors.js';
import { solvedTrainingRows } from './data.js';
import { BASELINE_KINDS, type BaselineKind, baselineE, copyFlags } from './baselines.js';
import { encodeOnePass } from './encode.js';
import { describeGate } from './gate.js';
import { headToHead } from './head_to_head.js';
import { type EvalSummary, type EvalTable, type MethodRows, type MethodVectors, type UnseenWindows, evalTable, evaluateMethods } from './eval_table.js';
import { type RunTexts, encoderRunSchema, flatE, flatIds } from './inputs.js';
import { type LadderOptions, type LadderTexts, joinLadders, ladderSummary, ladderTexts, NORMALIZED_STEP, type LadderSummary, PAPER_REFINE_RULE, type RefineRule } from './ladder.js';
import type { LoadedEncoder } from './load.js';
import type { ReferenceSet } from './types.js';
import type { AdamWOptions } from '../solver/adamw.js';
import type { ModelThreads } from '../lm/threads.js';
import { splitShares } from './grad_pool.js';
import type { LadderTaskInput } from './ladder_task.js';

/** `prototoken eval`'s config keys. */
export const evalSchema = encoderRunSchema.extend({
  baselines: z.array(z.enum(BASELINE_KINDS)).default([...BASELINE_KINDS]),
  /** Refinement steps k at which to report the ladder (0 first); empty: one pass only. */
  ladder: z.array(z.number().int().min(0)).default([]),
  /** How e moves between passes of the ladder: the paper's AdamW, or a normalised step. */
  refineRule: z.enum(['adamw', 'normalized']).default('adamw'),
  /** The AdamW learning rate (default the paper's 0.01), or the normalised rule's step (default NORMALIZED_STEP). */
  refineStep: z.number().positive().nullable().default(null),
  /** A dataset solved with the checkpoint's m whose training rows replace the checkpoint's reference set. */
  reference: z.string().min(1).nullable().default(null),
  /** Threads for the ladder; null = one per core. */
  workers: z.number().int().min(1).nullable().default(null),
});

export type EvalConfig = z.infer<typeof evalSchema>;

/** The ladder options of a config, or undefined without --ladder. */
export function ladderOptionsOf(config: Pick<EvalConfig, 'ladder' | 'refineRule' | 'refineStep'>): EncoderEvalOptions['ladder'] {
  if (config.ladder.length === 0) return undefined;
  const steps = [...new Set([0, ...config.ladder])].sort((a, b) => a - b);
  const rule: RefineRule = config.refineRule === 'adamw'
    ? { kind: 'adamw', adamw: { ...(PAPER_REFINE_RULE as { adamw: AdamWOptions }).adamw, ...(config.refineStep !== null ? { lr: config.refineStep } : {}) } }
    : { kind: 'normalized', size: config.refineStep ?? NORMALIZED_STEP };
  return { steps, rule };
}

/**
 * The reference set of `--reference DIR`: its solved training windows of length N, which must have
 * been solved with the checkpoint's m (else their e mean something else).
 */
export async function referenceFromDataset(dir: string, enc: LoadedEncoder): Promise<ReferenceSet> {
  const { reference, m } = await solvedTrainingRows(dir, enc.meta.trainN, enc.meta.dModel);
  if (!m || fingerprintM(m) !== enc.meta.mSha256) {
    throw new PrototokenError('the reference dataset was solved with another m than the checkpoint\'s', {
      file: dir,
      fix: `solve its windows with the checkpoint's m: prototoken solve --m ${enc.dir} ... --out ${dir}`,
    });
  }
  if (!reference) throw new PrototokenError(`no solved training rows of N=${enc.meta.trainN}`, { file: dir, fix: 'solve training-split windows of the encoder\'s N' });
  return reference;
}

export interface EncoderEvalOptions {
  /** Baselines to run beside the encoder, in this order. Default all (BASELINE_KINDS). */
  baselines?: readonly BaselineKind[];
  /** Texts per forward pass. Default 64. */
  batchSize?: number;
  /** Seed of the random baseline. Default 0. */
  seed?: number;
  /** Also refine every method's e for these k (ascending, from 0) and report the ladder. Default: none. */
  ladder?: { steps: readonly number[]; rule: RefineRule };
  /** Threads to spread the ladder over (one chunk of texts per thread and method). Default: this thread. */
  threads?: ModelThreads | null;
  /**
   * Solved training windows to use as the baselines' reference set instead of the checkpoint's (e.g.
   * those of a --learn-m checkpoint, solved again with its m). Default: the checkpoint's.
   */
  reference?: ReferenceSet;
}

/** Evaluate `enc` and the baselines on `run`'s texts; the table is also in the summary. */
export async function evaluateEncoder(lm: CausalLM, enc: LoadedEncoder, run: RunTexts, opts: EncoderEvalOptions = {}): Promise<{ summary: EvalSummary; table: EvalTable }> {
  const { texts, N } = run;
  const batchSize = opts.batchSize ?? 64;
  const ids = flatIds(texts, N);
  const started = Date.now();
  const encoded = await encodeOnePass(enc, ids, N, batchSize);
  const encodeSeconds = (Date.now() - started) / 1000;
  const kind = enc.meta.spec.kind;
  const notes: string[] = [...run.warnings];
  // A gated checkpoint's row is what it outputs; the network's own row stays beside it, so the gate's share is visible.
  const methods: MethodVectors[] = encoded.gated
    ? [{ name: `encoder (${kind} + retrieval gate)`, eHat: encoded.e }, { name: `encoder network alone (${kind})`, eHat: encoded.network }]
    : [{ name: `encoder (${kind})`, eHat: encoded.e }];
  if (encoded.gated && enc.gate) {
    notes.push(`retrieval gate: ${describeGate(enc.gate)}; ${encoded.retrieved.reduce((a, b) => a + b, 0)} of ${texts.length} texts took the nearest window's e (chosen on ${enc.gate.calibration.windows} windows of the ${enc.gate.calibration.split} split)`);
  } else if (enc.gate) {
    notes.push(`retrieval gate: not used, it was chosen for N=${enc.gate.N} (these texts are N=${N}): the network alone`);
  }
  const given = opts.reference ?? enc.reference;
  for (const kind of opts.baselines ?? BASELINE_KINDS) {
    if (kind !== 'random' && !given) {
      notes.push(`${kind}: left out, the checkpoint carries no solved training windows${enc.meta.learnedM ? ' (its m was learned: solve reference windows with it and pass --reference DATASET)' : ''}`);
      continue;
    }
    const reference = given ?? { N, d: enc.meta.dModel, textIds: [], ids: new Int32Array(0), e: new Float32Array(0) };
    methods.push({ name: kind, eHat: baselineE(kind, reference, ids, { queryN: N, seed: opts.seed ?? 0 }) });
  }
  const withE = texts.filter((t) => t.e !== null);
  if (withE.length === texts.length && run.eMatchesM) {
    methods.push({ name: 'solver e (upper bound)', eHat: flatE(texts, enc.meta.dModel) });
  } else if (run.from === 'dataset') {
    notes.push(run.eMatchesM ? `solver e: left out, ${texts.length - withE.length} of the texts are unsolved or of another N` : 'solver e: left out, the dataset was solved with another m than the checkpoint\'s');
  }
  const { table, rows } = await evaluateMethods(lm, enc.m, texts, methods, { batchSize });
  // Copies only mean something for windows of the training length (a shorter reference would match prefixes).
  const flags = given && given.N === N ? copyFlags(given, ids, N) : null;
  const copies = flags ? flags.reduce((sum, f) => sum + f, 0) : null;
  const unseen = flags && copies && copies < flags.length ? unseenTable(rows, flags) : undefined;
  let ladder: LadderSummary | undefined;
  if (opts.ladder) {
    const ladderOpts = { steps: opts.ladder.steps, rule: opts.ladder.rule, batchSize: Math.max(batchSize, 128) };
    const starts: { method: string; texts: LadderTexts }[] = [];
    for (const method of methods) {
      const texts = opts.threads
        ? await threadedLadder(opts.threads, enc.m, ids, N, enc.meta.dModel, method.eHat, ladderOpts)
        : await ladderTexts(lm, enc.m, ids, N, method.eHat, ladderOpts);
      starts.push({ method: method.name, texts });
    }
    ladder = ladderSummary(opts.ladder.rule, starts, N);
    // The copies are reproduced by retrieval in one pass; the ladder without them says what refinement does for new text.
    if (unseen && flags) unseen.ladder = ladderSummary(opts.ladder.rule, starts, N, flags.map((f) => 1 - f));
  }
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
    ...(unseen ? { unseen_windows: unseen } : {}),
    head_to_head: headToHead(rows),
    ...(ladder ? { ladder } : {}),
  };
  return { summary, table };
}

/** Every method's table on the texts whose flag is 0 (not a copy of a training window). */
function unseenTable(rows: readonly MethodRows[], flags: Uint8Array): UnseenWindows {
  const keep = (m: MethodRows): MethodRows => ({ name: m.name, rows: m.rows.filter((_, i) => flags[i] === 0) });
  const kept = rows.map(keep);
  return { texts: kept[0]?.rows.length ?? 0, ...evalTable(kept) };
}

/** The per-text ladder of `e`'s texts, split into one contiguous share per thread. */
async function threadedLadder(threads: ModelThreads, m: Float32Array, ids: Int32Array, N: number, d: number, e: Float32Array, opts: LadderOptions): Promise<LadderTexts> {
  const n = ids.length / N;
  const inputs: LadderTaskInput[] = splitShares(Array.from({ length: n }, (_, i) => i), threads.threads)
    .filter((share) => share.length > 0)
    .map((share) => {
      const [a, b] = [share[0], share[share.length - 1] + 1];
      return { m, targets: ids.slice(a * N, b * N), N, e: e.slice(a * d, b * d), opts };
    });
  const parts = await threads.map<LadderTaskInput, LadderTexts>(new URL('./ladder_task.js', import.meta.url), inputs);
  return joinLadders(parts);
}
