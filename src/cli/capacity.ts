/**
 * `prototoken capacity`: per text, the longest grid length it can be solved at (>= threshold
 * accuracy), and the paper's summary table: capacity and H_LM mean ± std per text source and m mode.
 *
 * With `--window N` the natural texts are cut into N-token windows (ids `<text id>#k`) and each
 * window is one text of the search: its capacity is measured on its own prefixes, so it is at most
 * N (pick N at least the largest grid length of interest). Random and generated texts are made at
 * the longest length and are not windowed.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, report, toFloat, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { installInterrupt } from './run_support.js';
import { loadInitSpec, describeInit } from '../solver/init.js';
import { eByTextId, recordsFor } from '../datasets/solve_records.js';
import { presetsOf } from './solve.js';
import { addDatasetOptions, addSolverOptions } from './dataset_run.js';
import { datasetSchema, openRunDataset } from '../datasets/run_output.js';
import { solverOptionsOf, solverSchema, SOLVER_RECIPE } from '../solver/config.js';
import { CAPACITY_GRID, type CapacityOutcome, capacitySearch } from '../solver/capacity.js';
import { TEXT_KINDS, textsOfKind, maxTextLength } from '../texts/kinds.js';
import { readDataset } from '../datasets/index.js';
import { CAPACITY_M_NOTE, type CapacitySummary, type CapacityTextRow, capacityOfRow, capacityTable } from '../analysis/capacity.js';
import type { LoadedModel } from '../lm/load.js';
import { PrototokenError } from '../util/errors.js';
import { type WindowOptions, windowTargets } from '../texts/windows.js';
import { addWindowOptions } from './window_options.js';
import { recordedWindowConfig, windowOptionsOf, windowSchema, WINDOW_RECIPE } from '../texts/window_config.js';
import { Recipe } from '../util/recipe.js';

const schema = baseSchema.merge(solverSchema).merge(datasetSchema).merge(windowSchema).extend({
  texts: z.string().nullable().default(null),
  limit: z.number().int().min(1).nullable().default(32),
  kinds: z.array(z.enum(TEXT_KINDS)).min(1).default(['natural']),
  sharedM: z.boolean().default(false),
  bothM: z.boolean().default(false),
  threshold: z.number().gt(0).max(1).default(0.99),
  grid: z.array(z.number().int().min(1)).min(1).default([...CAPACITY_GRID]),
});

/** What decides a capacity dataset's row: the solver recipe, the windows, the pass threshold and the grid. */
const CAPACITY_RECIPE = SOLVER_RECIPE.with(WINDOW_RECIPE).with(new Recipe(['threshold', 'grid']));

export function capacityCommand(): Command {
  const cmd = addWindowOptions(addDatasetOptions(addSolverOptions(withCommonOptions(new Command('capacity')))))
    .description('per-text capacity (longest solvable length on the paper grid) and the summary table')
    .option('--texts <file>', 'corpus: the natural texts, and the prompts of generated texts')
    .option('--limit <k>', 'texts per source (default 32)', toInt)
    .option('--kinds <list>', 'text sources: natural,random,generated (default natural)', (v) => v.split(','))
    .option('--shared-m', 'one m shared by the texts at each length, instead of m per text')
    .option('--both-m', 'run with m per text and with shared m')
    .option('--threshold <x>', 'best accuracy needed to pass a length (default 0.99)', toFloat)
    .option('--grid <list>', 'lengths to try (default the paper grid 4,5,8,...,1448)', (v) => v.split(',').map(Number));
  cmd.action(async () => {
    const config = commandConfig(cmd, schema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const windows = windowOptionsOf(config); // checked before the model loads
    const model = await openModel(config, quiet);
    const modes = config.bothM ? [false, true] : [config.sharedM];
    const combos = config.kinds.flatMap((kind) => modes.map((shared) => ({ kind, shared })));
    const perText: CapacityTextRow[] = [];
    const interrupt = installInterrupt(quiet);
    let interrupted = false;
    try {
      for (const { kind, shared } of combos) {
        const mName = shared ? 'shared' : 'per-text';
        const out = combos.length === 1 ? config.out : join(config.out, `${kind}-${mName}`);
        const rows = await runCombo(config, model, kind, shared, out, kind === 'natural' ? windows : null, quiet, interrupt.stopped);
        interrupted ||= rows.interrupted;
        perText.push(...rows.outcomes.map((o) => ({ source: kind, m: mName, id: o.id, capacity: o.capacity, h_lm_nats: o.hLm })));
        if (interrupted) break;
      }
    } finally {
      interrupt.dispose();
      model.lm.dispose();
    }
    const table = capacityTable(perText);
    const text = [
      `${'source'.padEnd(10)} ${'m'.padEnd(9)} ${'texts'.padStart(5)}  ${'capacity (tokens)'.padEnd(20)} ${'max'.padStart(5)}  H_LM at capacity (nats)`,
      ...table.map((r) => `${r.source.padEnd(10)} ${r.m.padEnd(9)} ${String(r.texts).padStart(5)}  ${`${r.capacity_mean.toFixed(1)} ± ${r.capacity_std.toFixed(1)}`.padEnd(20)} ${String(r.capacity_max).padStart(5)}  ${r.h_lm_mean.toFixed(1)} ± ${r.h_lm_std.toFixed(1)}`),
    ].join('\n');
    const summary: CapacitySummary = { out: config.out, table, texts: perText, interrupted };
    report(cmd, summary, (interrupted ? 'interrupted (rerun to resume)\n' : '') + text);
    if (interrupted) process.exitCode = 130;
  });
  return cmd;
}

async function runCombo(
  config: z.infer<typeof schema>,
  model: LoadedModel,
  kind: (typeof TEXT_KINDS)[number],
  shared: boolean,
  out: string,
  windows: WindowOptions | null,
  quiet: boolean,
  stopped: () => boolean,
): Promise<{ outcomes: { id: string; capacity: number; hLm: number }[]; interrupted: boolean }> {
  const { lm, tokenizer } = model;
  const maxLen = Math.min(Math.max(...config.grid), maxTextLength(kind, lm.config.maxPositions, tokenizer));
  if (kind !== 'random' && !config.texts) throw new PrototokenError(`the ${kind} source needs --texts FILE`);
  const items = await textsOfKind({ kind, file: config.texts, count: config.limit, length: maxLen, seed: config.seed }, tokenizer, lm);
  const cut = windows ? windowTargets(items, tokenizer, windows, config.texts ?? kind) : { targets: items, tooShort: [] };
  for (const s of cut.tooShort) process.stderr.write(`skipped "${s.id}": ${s.tokens} tokens < --window ${windows?.window}\n`);
  const texts = cut.targets.map((t) => ({ id: t.id, text: t.text, ids: (t.ids ? Array.from(t.ids) : tokenizer.encode(t.text)).slice(0, maxLen) }));
  const init = await loadInitSpec(config.init, config.initScale, model.lm, eByTextId);
  const recorded = windows ? { ...config, out } : { ...config, out, window: null, stride: null, windowsPerText: null, firstWindow: null };
  const writer = await openRunDataset(recordedWindowConfig(recorded), model, {
    kind: 'capacity',
    arrangement: config.arrangement,
    length: null,
    init: describeInit(init) + CAPACITY_M_NOTE[shared ? 'shared' : 'per-text'],
    m: 'per-text',
    source: config.source ?? kind,
    recipe: CAPACITY_RECIPE,
  });
  const pending = writer.pendingTexts(texts);
  let interrupted: boolean;
  try {
    const run = await capacitySearch(
      lm,
      pending,
      { solver: solverOptionsOf(config, init, { kind: 'per-text' }), threshold: config.threshold, grid: config.grid, sharedM: shared },
      {
        onFinal: async (done: CapacityOutcome[]) => {
          const targets = done.map((o) => ({ id: o.id, ids: Int32Array.from(o.ids), text: tokenizer.decode(o.ids) }));
          const records = await recordsFor(done.map((o, i) => ({ ...o.result, targetIndex: i, m: o.m ?? new Float32Array(lm.config.hiddenSize) })), targets, model);
          await writer.append(records);
        },
        onLength: (L, active) => {
          if (!quiet) process.stderr.write(`[${kind}, m ${shared ? 'shared' : 'per text'}] length ${L}: ${active} texts\n`);
        },
        shouldStop: stopped,
      },
    );
    interrupted = run.interrupted;
  } finally {
    await writer.close();
  }
  // Read back, so texts finished by an earlier (interrupted) run count too.
  const ds = await readDataset(out);
  const outcomes = ds.toRecords().map((r) => ({ id: r.textId, capacity: capacityOfRow(r, config.threshold), hLm: r.hLmNats }));
  return { outcomes, interrupted };
}
