/**
 * A solve run: texts -> targets -> the solver -> rows appended to a solution dataset, resumable.
 * `prototoken solve` is this plus flags and printing; the same steps serve tests and new experiments.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import type { LoadedModel } from '../lm/load.js';
import { baseSchema } from '../lm/open_model.js';
import { readVector } from '../lm/vector_file.js';
import { checkPositions, layoutFor } from '../solver/arrangements.js';
import { SOLVER_RECIPE, solverOptionsOf, solverSchema } from '../solver/config.js';
import { type InitSpec, describeInit, loadInitSpec } from '../solver/init.js';
import { solveTexts } from '../solver/solve.js';
import type { MSpec, SolverCheckpoint } from '../solver/types.js';
import { TEXT_KINDS, textsOfKind } from '../texts/kinds.js';
import { type PreparedTargets, prepareTargets } from '../texts/targets.js';
import { WINDOW_RECIPE, lengthOf, recordedWindowConfig, windowOptionsOf, windowSchema } from '../texts/window_config.js';
import { type WindowOptions, windowTargets } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import { Recipe } from '../util/recipe.js';
import { median } from '../util/stats.js';
import { datasetSchema, openRunDataset } from './run_output.js';
import { eByTextId, recordsFor } from './solve_records.js';
import { loadSolverState, removeSolverState, saveSolverState } from './solver_state.js';
import type { Completeness } from './completeness.js';
import type { MergeReport } from './merge.js';

export const solveSchema = baseSchema.merge(solverSchema).merge(datasetSchema).merge(windowSchema).extend({
  /** Corpus file: the texts (natural) or the prompts (generated); not needed for random. */
  texts: z.string().min(1).nullable().default(null),
  /** natural: the file's texts; random: uniform non-special tokens; generated: the model's own continuations. */
  kind: z.enum(TEXT_KINDS).default('natural'),
  /** N; may be left out with --window (which then sets N). */
  length: z.number().int().min(1).nullable().default(null),
  limit: z.number().int().min(1).nullable().default(null),
  /** A fixed m: a file from `fit-m` (or a dataset folder holding m.safetensors). */
  m: z.string().min(1).nullable().default(null),
  /** generated: continuations per prompt (ids `generated-<id>#<c>`), the inputs of `distances`. */
  continuations: z.number().int().min(1).default(1),
  /** Seed of the random/generated texts; null = --seed. Lets one set of texts be solved under several seeds. */
  textSeed: z.number().int().min(0).nullable().default(null),
  /** Store every restart as its own row (a `restart` column) instead of the best one per text. */
  keepAllRestarts: z.boolean().default(false),
});

export type SolveConfig = z.infer<typeof solveSchema>;

/** What decides a row of a solved dataset: the solver recipe, the windows and the seed of made-up texts (added later). */
export const SOLVE_RECIPE = SOLVER_RECIPE.with(WINDOW_RECIPE).with(new Recipe(['textSeed'], { textSeed: null }));

/** The run's shape, checked before anything loads: the windows (or none) and N. */
export interface SolvePlan {
  windows: WindowOptions | null;
  N: number;
}

/** Refuse settings that do not go together, before the model loads. */
export function planSolve(config: SolveConfig): SolvePlan {
  const windows = windowOptionsOf(config);
  const N = lengthOf(config.length, windows);
  if (windows && config.kind !== 'natural') {
    throw new PrototokenError(`--window cuts corpus texts, but ${config.kind} texts are made N tokens long`, { fix: 'drop --window (use --length N), or use --kind natural' });
  }
  if (config.continuations > 1 && config.kind !== 'generated') {
    throw new PrototokenError(`--continuations samples the model's continuations of corpus prompts, but --kind is ${config.kind}`, { fix: 'add --kind generated, or drop --continuations' });
  }
  return { windows, N };
}

/** The texts of a run as N-token targets (windows, or each text's first N tokens); `texts` counts the texts read. */
export async function solveTargets(config: SolveConfig, plan: SolvePlan, model: LoadedModel): Promise<{ texts: number; prepared: PreparedTargets }> {
  const { lm, tokenizer } = model;
  const texts = await textsOfKind(
    { kind: config.kind, file: config.texts, count: config.limit, length: plan.N, seed: config.textSeed ?? config.seed, continuations: config.continuations },
    tokenizer,
    lm,
  );
  const file = config.texts ?? config.kind;
  const prepared = plan.windows ? windowTargets(texts, tokenizer, plan.windows, file) : prepareTargets(texts, tokenizer, plan.N, file);
  return { texts: texts.length, prepared };
}

/** Where every text starts and what m is. */
export interface SolveStarts {
  init: InitSpec;
  m: MSpec;
  /** What the user should know about where the starts came from (e.g. a checkpoint read unverified). */
  warnings?: string[];
}

/** The starts of `--init` (anything but an encoder; a dataset must be of this run's `N`) and the fixed m of `--m`, or m per text. */
export async function solveStarts(config: SolveConfig, model: LoadedModel, N: number | null = null): Promise<SolveStarts> {
  const m: MSpec = config.m
    ? { kind: 'fixed', vector: await readVector(config.m, 'm', model.lm.config.hiddenSize, await model.fingerprint()), source: config.m }
    : { kind: 'per-text' };
  return { init: await loadInitSpec(config.init, config.initScale, model.lm, (dir) => eByTextId(dir, N)), m };
}

/** What a solve run reports as it goes. */
export interface SolveHooks {
  /** Once, before the first step: how many rows are to be solved and what they count. */
  onStart?: (rows: number, unit: 'texts' | 'restarts', alreadyDone: number) => void;
  /** After each batch of finished rows. */
  onRows?: (rows: number, note: string) => void;
  /** Checked before every step; true ends the run after the current step (resumable). */
  shouldStop?: () => boolean;
  /** A line worth telling a person (a saved solver state continued or not loaded). */
  onNote?: (line: string) => void;
}

/** The run's summary (the `--json` object of `prototoken solve`). */
export interface SolveSummary {
  out: string;
  texts: number;
  /** One per text, or one per restart with --keep-all-restarts; `solved` counts these. */
  rows: number;
  solved: number;
  solved_rate: number;
  median_steps: number;
  max_steps: number;
  seconds: number;
  ms_per_step: number;
  skipped_short: number;
  windows: { window: number; stride: number | undefined; windows_per_text: number | null; first_window: number; texts: number } | null;
  already_done: number;
  interrupted: boolean;
  /** Rows in flight when the run was stopped whose solver state was saved (a rerun continues them). */
  in_flight_saved: number;
  /** The dataset's completeness after this run (null when it was not merged: a shard of several). */
  completeness: Completeness | null;
}

/**
 * Solve every target not already in the dataset at `config.out` and append the rows, one durable
 * batch per group of finished texts. `texts` is how many texts the targets came from.
 */
export async function runSolve(
  config: SolveConfig,
  plan: SolvePlan,
  model: LoadedModel,
  input: { texts: number; prepared: PreparedTargets },
  starts: SolveStarts,
  hooks: SolveHooks = {},
): Promise<SolveSummary> {
  const started = Date.now();
  const { lm } = model;
  const { N, windows } = plan;
  const { prepared } = input;
  checkPositions(config.arrangement, N, lm.config.maxPositions); // before anything is written
  const usesM = layoutFor(config.arrangement, N).usesM;
  const { init, m } = starts;
  const writer = await openRunDataset(recordedWindowConfig({ ...config, length: N }), model, {
    kind: 'solve',
    arrangement: config.arrangement,
    length: N,
    init: describeInit(init),
    // An arrangement without m stores a zero m, so the dataset still says what was fed.
    m: m.kind === 'fixed' ? m.vector : usesM ? 'per-text' : new Float32Array(lm.config.hiddenSize),
    restarts: config.keepAllRestarts ? { keep: 'all', count: config.restarts } : undefined,
    source: config.source ?? sourceName(config.kind, config.texts),
    recipe: SOLVE_RECIPE,
    plan: prepared.targets.map((t) => t.id),
  });
  // Each text keeps its input position (the `order` column). With every restart kept, a text may be
  // partly done: solve only its missing restarts.
  const orderOf = new Map(prepared.targets.map((t, i) => [t.id, i]));
  const pending = writer.pendingTexts(prepared.targets).map((t) => ({ ...t, order: orderOf.get(t.id), restarts: writer.missingRestarts(t.id) ?? undefined }));
  // Texts in flight when an earlier run of this shard was stopped continue where they were.
  const resumed = await loadSolverState(writer.partPath, N, lm.config.hiddenSize);
  if (resumed.problem) hooks.onNote?.(resumed.problem);
  const pendingIds = new Set(pending.map((t) => t.id));
  const resumeFrom = resumed.checkpoint
    ? { rows: resumed.checkpoint.rows.filter((r) => pendingIds.has(r.id)), partial: resumed.checkpoint.partial.filter((p) => pendingIds.has(p.id)) }
    : undefined;
  if (resumeFrom && resumeFrom.rows.length + resumeFrom.partial.length > 0) {
    hooks.onNote?.(`continuing ${resumeFrom.rows.length} row(s) in flight when the last run stopped, from their saved solver state`);
  }
  const skippedDone = prepared.targets.filter((t) => writer.doneIds.has(t.id)).length;
  const allRestarts = config.keepAllRestarts;
  const rowsToDo = allRestarts ? pending.reduce((n, t) => n + (t.restarts?.length ?? config.restarts), 0) : pending.length;
  hooks.onStart?.(rowsToDo, allRestarts ? 'restarts' : 'texts', skippedDone > 0 ? writer.doneIds.size : 0);
  const textsDone = new Set<string>();
  const steps: number[] = [];
  let solved = 0;
  let poolSteps = 0;
  let active = 0;
  const solveStarted = Date.now();
  let outcome: { interrupted: boolean; checkpoint: SolverCheckpoint | null } = { interrupted: false, checkpoint: null };
  let savedRows = 0;
  let merged: MergeReport | null;
  try {
    // Nothing pending (a finished run, or a shard with no texts left): just close, which merges.
    if (pending.length > 0) outcome = await solveTexts(
      lm,
      pending,
      { ...solverOptionsOf(config, init, usesM ? m : { kind: 'per-text' }), keepAllRestarts: config.keepAllRestarts, resumeFrom },
      {
        onResults: async (results) => {
          await writer.append(await recordsFor(results, pending, model, writer));
          for (const r of results) {
            steps.push(r.steps);
            textsDone.add(r.id);
            if (r.solved) solved++;
          }
          hooks.onRows?.(results.length, `solved ${solved}/${steps.length}, ${active} active`);
        },
        onStep: (s) => {
          poolSteps++;
          active = s.active;
        },
        shouldStop: hooks.shouldStop,
      },
    );
    // Before close (which merges), so the dataset counts the saved texts as in progress.
    if (outcome.checkpoint) savedRows = await saveSolverState(writer.partPath, outcome.checkpoint, N, lm.config.hiddenSize);
    else await removeSolverState(writer.partPath);
  } finally {
    merged = await writer.close();
  }
  const msPerStep = poolSteps > 0 ? (Date.now() - solveStarted) / poolSteps : 0;
  return {
    out: config.out,
    texts: textsDone.size,
    rows: steps.length,
    solved,
    solved_rate: steps.length ? solved / steps.length : 0,
    median_steps: median(steps),
    max_steps: steps.length ? Math.max(...steps) : 0,
    seconds: (Date.now() - started) / 1000,
    ms_per_step: msPerStep,
    skipped_short: prepared.tooShort.length,
    windows: windows ? { window: windows.window, stride: windows.stride, windows_per_text: windows.windowsPerText ?? null, first_window: windows.firstWindow ?? 0, texts: input.texts - prepared.tooShort.length } : null,
    already_done: skippedDone,
    interrupted: outcome.interrupted,
    in_flight_saved: savedRows,
    completeness: merged?.completeness ?? null,
  };
}

/** The card's source name: the file's name for natural texts, else the kind (and its prompt corpus). */
function sourceName(kind: string, texts: string | null): string {
  if (!texts) return kind;
  return kind === 'natural' ? basename(texts) : `${kind} (${basename(texts)})`;
}
