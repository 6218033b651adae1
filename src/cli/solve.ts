/** `prototoken solve`: find e (and m) for every text and append them to a solution dataset. */
import { basename } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, report, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { presetFile } from '../util/package.js';
import { installInterrupt } from './run_support.js';
import { loadInitSpec, describeInit } from '../solver/init.js';
import { eByTextId, recordsFor } from '../datasets/solve_records.js';
import { readVector } from '../lm/vector_file.js';
import { median } from '../util/stats.js';
import { addDatasetOptions, addSolverOptions, runWorkersAndMerge } from './dataset_run.js';
import { datasetSchema, openRunDataset } from '../datasets/run_output.js';
import { solverSchema, solverOptionsOf, SOLVER_RECIPE } from '../solver/config.js';
import { checkPositions, layoutFor } from '../solver/arrangements.js';
import { prepareTargets } from '../texts/targets.js';
import { windowTargets } from '../texts/windows.js';
import { addWindowOptions } from './window_options.js';
import { lengthOf, recordedWindowConfig, windowOptionsOf, windowSchema, WINDOW_RECIPE } from '../texts/window_config.js';
import { PrototokenError } from '../util/errors.js';
import { solveTexts } from '../solver/solve.js';
import type { MSpec } from '../solver/types.js';
import { TEXT_KINDS, textsOfKind } from '../texts/kinds.js';
import { Progress, formatSeconds } from '../util/progress.js';
import { ENCODER_INIT, encoderStarts } from '../encoder/starts.js';
import { Recipe } from '../util/recipe.js';

const schema = baseSchema.merge(solverSchema).merge(datasetSchema).merge(windowSchema).extend({
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

/** What decides a row of a solved dataset: the solver recipe, the windows and the seed of made-up texts (added later). */
const SOLVE_RECIPE = SOLVER_RECIPE.with(WINDOW_RECIPE).with(new Recipe(['textSeed'], { textSeed: null }));

export function solveCommand(): Command {
  const cmd = addWindowOptions(addDatasetOptions(addSolverOptions(withCommonOptions(new Command('solve')))))
    .description('optimise proto-token embeddings for each text and store them in a solution dataset')
    .option('--texts <file>', 'texts: JSONL ({"id","text"} per line) or plain text')
    .option('--kind <source>', 'natural (the --texts file, default) | random (token sequences) | generated (model continuations of --texts prefixes)')
    .option('--length <n>', 'N: target tokens per text (its first N tokens); with --window, N is the window', toInt)
    .option('--limit <k>', 'only the first K texts (random: how many texts, generated: how many prompts; default 32)', toInt)
    .option('--m <file>', 'a fixed m from `prototoken fit-m` (only e is optimised)')
    .option('--continuations <k>', 'generated: K continuations of each distinct prompt, ids <id>#<c> (default 1)', toInt)
    .option('--text-seed <n>', 'seed of the random/generated texts (default --seed), to solve the same texts under several seeds', toInt)
    .option('--keep-all-restarts', 'run every --restarts seed to its own end and store each as its own row (column `restart`)');
  cmd.action(async () => {
    const config = commandConfig(cmd, schema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const windows = windowOptionsOf(config);
    const N = lengthOf(config.length, windows);
    if (windows && config.kind !== 'natural') {
      throw new PrototokenError(`--window cuts corpus texts, but ${config.kind} texts are made N tokens long`, { fix: 'drop --window (use --length N), or use --kind natural' });
    }
    if (config.continuations > 1 && config.kind !== 'generated') {
      throw new PrototokenError(`--continuations samples the model's continuations of corpus prompts, but --kind is ${config.kind}`, { fix: 'add --kind generated, or drop --continuations' });
    }
    if (config.workers > 1) {
      await runWorkersAndMerge(cmd, config.workers, config.out, quiet);
      return;
    }
    const started = Date.now();
    const model = await openModel(config, quiet);
    const { lm, tokenizer } = model;
    const d = lm.config.hiddenSize;
    const texts = await textsOfKind(
      { kind: config.kind, file: config.texts, count: config.limit, length: N, seed: config.textSeed ?? config.seed, continuations: config.continuations },
      tokenizer,
      lm,
    );
    const file = config.texts ?? config.kind;
    const prepared = windows ? windowTargets(texts, tokenizer, windows, file) : prepareTargets(texts, tokenizer, N, file);
    for (const s of prepared.tooShort) process.stderr.write(`skipped "${s.id}": ${s.tokens} tokens < N=${N}\n`);
    checkPositions(config.arrangement, N, lm.config.maxPositions); // before anything is written
    const fingerprint = await model.fingerprint();
    const givenM = config.m ? await readVector(config.m, 'm', d, fingerprint) : null;
    // --init encoder:CKPT: every text starts from the encoder's e_hat, with the encoder's own m.
    const fromEncoder = config.init.startsWith(ENCODER_INIT) ? await encoderStarts(config.init.slice(ENCODER_INIT.length), model, prepared.targets, givenM, config.arrangement) : null;
    const m: MSpec = fromEncoder
      ? { kind: 'fixed', vector: fromEncoder.m, source: fromEncoder.mSource }
      : givenM && config.m ? { kind: 'fixed', vector: givenM, source: config.m } : { kind: 'per-text' };
    const init = fromEncoder?.init ?? (await loadInitSpec(config.init, config.initScale, model.lm, eByTextId));
    const usesM = layoutFor(config.arrangement, N).usesM;
    const writer = await openRunDataset(recordedWindowConfig({ ...config, length: N }), model, {
      kind: 'solve',
      arrangement: config.arrangement,
      length: N,
      init: describeInit(init),
      // An arrangement without m stores a zero m, so the dataset still says what was fed.
      m: m.kind === 'fixed' ? m.vector : usesM ? 'per-text' : new Float32Array(d),
      restarts: config.keepAllRestarts ? { keep: 'all', count: config.restarts } : undefined,
      source: config.source ?? sourceName(config.kind, config.texts),
      recipe: SOLVE_RECIPE,
    });
    // With every restart kept, a text may be partly done: solve only its missing restarts.
    const pending = writer.pendingTexts(prepared.targets).map((t) => ({ ...t, restarts: writer.missingRestarts(t.id) ?? undefined }));
    const skippedDone = prepared.targets.filter((t) => writer.doneIds.has(t.id)).length;
    if (!quiet && skippedDone > 0) process.stderr.write(`resuming: ${writer.doneIds.size} texts already in ${config.out}\n`);
    const allRestarts = config.keepAllRestarts;
    const rowsToDo = allRestarts ? pending.reduce((n, t) => n + (t.restarts?.length ?? config.restarts), 0) : pending.length;
    const progress = new Progress(rowsToDo, { unit: allRestarts ? 'restarts' : 'texts', quiet });
    const textsDone = new Set<string>();
    const interrupt = installInterrupt(quiet);
    const steps: number[] = [];
    let solved = 0;
    let poolSteps = 0;
    let active = 0;
    const solveStarted = Date.now();
    let outcome: { interrupted: boolean } = { interrupted: false };
    try {
      // Nothing pending (a finished run, or a shard with no texts left): just close, which merges.
      if (pending.length > 0) outcome = await solveTexts(
        lm,
        pending,
        { ...solverOptionsOf(config, init, usesM ? m : { kind: 'per-text' }), keepAllRestarts: config.keepAllRestarts },
        {
          onResults: async (results) => {
            await writer.append(await recordsFor(results, pending, model));
            for (const r of results) {
              steps.push(r.steps);
              textsDone.add(r.id);
              if (r.solved) solved++;
            }
            progress.tick(results.length, `solved ${solved}/${steps.length}, ${active} active`);
          },
          onStep: (s) => {
            poolSteps++;
            active = s.active;
          },
          shouldStop: interrupt.stopped,
        },
      );
    } finally {
      interrupt.dispose();
      await writer.close();
    }
    const seconds = (Date.now() - started) / 1000;
    const msPerStep = poolSteps > 0 ? ((Date.now() - solveStarted) / poolSteps) : 0;
    const summary = {
      out: config.out,
      texts: textsDone.size,
      /** One per text, or one per restart with --keep-all-restarts; `solved` counts these. */
      rows: steps.length,
      solved,
      solved_rate: steps.length ? solved / steps.length : 0,
      median_steps: median(steps),
      max_steps: steps.length ? Math.max(...steps) : 0,
      seconds,
      ms_per_step: msPerStep,
      skipped_short: prepared.tooShort.length,
      windows: windows ? { window: windows.window, stride: windows.stride, windows_per_text: windows.windowsPerText ?? null, first_window: windows.firstWindow ?? 0, texts: texts.length - prepared.tooShort.length } : null,
      already_done: skippedDone,
      interrupted: outcome.interrupted,
    };
    report(
      cmd,
      summary,
      `${outcome.interrupted ? 'interrupted (rerun the same command to resume): ' : ''}solved ${solved}/${steps.length} ${allRestarts ? `restarts of ${textsDone.size} ` : ''}${windows ? `windows (of ${texts.length - prepared.tooShort.length} texts)` : 'texts'} at N=${N}` +
        ` | median ${summary.median_steps} steps, max ${summary.max_steps} | ${formatSeconds(seconds)} (${msPerStep.toFixed(1)} ms/step)` +
        ` | ${prepared.tooShort.length} too short, ${skippedDone} already done | -> ${config.out}`,
    );
    lm.dispose();
    if (outcome.interrupted) process.exitCode = 130;
  });
  return cmd;
}

/** The card's source name: the file's name for natural texts, else the kind (and its prompt corpus). */
function sourceName(kind: string, texts: string | null): string {
  if (!texts) return kind;
  return kind === 'natural' ? basename(texts) : `${kind} (${basename(texts)})`;
}

/** --preset NAME -> configs/solver-NAME.yaml (applied under --config and flags). */
export function presetsOf(cmd: Command): string[] {
  const preset = cmd.opts<{ preset?: string }>().preset;
  return preset ? [presetFile('solver', preset)] : [];
}
