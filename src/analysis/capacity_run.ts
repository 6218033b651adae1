/**
 * A capacity run (`prototoken capacity`): for each text source and m mode, search every text's
 * capacity on the grid and write the rows to a dataset (resumable), then summarise. With `--window
 * N` natural texts are cut into N-token windows, each a text of the search (so its capacity is at
 * most N); random and generated texts are made at the longest length and are not windowed.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { readDataset } from '../datasets/index.js';
import { datasetSchema, openRunDataset } from '../datasets/run_output.js';
import { eByTextId, recordsFor } from '../datasets/solve_records.js';
import type { LoadedModel } from '../lm/load.js';
import { baseSchema } from '../lm/open_model.js';
import { layoutFor } from '../solver/arrangements.js';
import { CAPACITY_GRID, type CapacityOutcome, capacitySearch } from '../solver/capacity.js';
import { SOLVER_RECIPE, solverOptionsOf, solverSchema } from '../solver/config.js';
import { describeInit, loadInitSpec } from '../solver/init.js';
import { TEXT_KINDS, type TextKind, maxTextLength, textsOfKind } from '../texts/kinds.js';
import { WINDOW_RECIPE, recordedWindowConfig, windowOptionsOf, windowSchema } from '../texts/window_config.js';
import { textTokens } from '../texts/tokens.js';
import { type WindowOptions, windowTargets } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import { Recipe } from '../util/recipe.js';
import { CAPACITY_M_NOTE, type CapacitySummary, type CapacityTextRow, capacityOfRow, capacityTable } from './capacity.js';

export const capacitySchema = baseSchema.merge(solverSchema).merge(datasetSchema).merge(windowSchema).extend({
  texts: z.string().nullable().default(null),
  limit: z.number().int().min(1).nullable().default(32),
  kinds: z.array(z.enum(TEXT_KINDS)).min(1).default(['natural']),
  sharedM: z.boolean().default(false),
  bothM: z.boolean().default(false),
  threshold: z.number().gt(0).max(1).default(0.99),
  grid: z.array(z.number().int().min(1)).min(1).default([...CAPACITY_GRID]),
});

export type CapacityConfig = z.infer<typeof capacitySchema>;

/** What decides a capacity dataset's row: the solver recipe, the windows, the pass threshold and the grid. */
const CAPACITY_RECIPE = SOLVER_RECIPE.with(WINDOW_RECIPE).with(new Recipe(['threshold', 'grid']));

/** What a capacity run reports as it goes. */
export interface CapacityHooks {
  /** A text left out (too short for its window). */
  onNote?: (line: string) => void;
  /** Each grid length started. */
  onProgress?: (line: string) => void;
  /** Checked before every solver step; true ends the run (resumable). */
  shouldStop?: () => boolean;
}

/** Run every (source, m mode) of `config` into its dataset folder and summarise all of them. */
export async function runCapacity(config: CapacityConfig, model: LoadedModel, hooks: CapacityHooks = {}): Promise<CapacitySummary> {
  const windows = windowOptionsOf(config);
  const modes = config.bothM ? [false, true] : [config.sharedM];
  const combos = config.kinds.flatMap((kind) => modes.map((shared) => ({ kind, shared })));
  const perText: CapacityTextRow[] = [];
  let interrupted = false;
  for (const { kind, shared } of combos) {
    const mName = shared ? 'shared' : 'per-text';
    const out = combos.length === 1 ? config.out : join(config.out, `${kind}-${mName}`);
    const rows = await runCombo(config, model, kind, shared, out, kind === 'natural' ? windows : null, hooks);
    interrupted ||= rows.interrupted;
    perText.push(...rows.outcomes.map((o) => ({ source: kind, m: mName, id: o.id, capacity: o.capacity, h_lm_nats: o.hLm, at_grid_top: o.atGridTop })));
    if (interrupted) break;
  }
  return { out: config.out, table: capacityTable(perText), texts: perText, interrupted };
}

async function runCombo(
  config: CapacityConfig,
  model: LoadedModel,
  kind: TextKind,
  shared: boolean,
  out: string,
  windows: WindowOptions | null,
  hooks: CapacityHooks,
): Promise<{ outcomes: { id: string; capacity: number; hLm: number; atGridTop: boolean }[]; interrupted: boolean }> {
  const { lm, tokenizer } = model;
  const maxLen = Math.min(Math.max(...config.grid), maxTextLength(kind, lm.config.maxPositions, tokenizer));
  if (kind !== 'random' && !config.texts) throw new PrototokenError(`the ${kind} source needs --texts FILE`);
  const items = await textsOfKind({ kind, file: config.texts, count: config.limit, length: maxLen, seed: config.seed }, tokenizer, lm);
  const cut = windows ? windowTargets(items, tokenizer, windows, config.texts ?? kind) : { targets: items, tooShort: [] };
  for (const s of cut.tooShort) hooks.onNote?.(`skipped "${s.id}": ${s.tokens} tokens < --window ${windows?.window}`);
  const texts = cut.targets.map((t) => ({ id: t.id, text: t.text, ids: textTokens({ id: t.id, text: t.text, ids: t.ids ? Array.from(t.ids) : undefined }, tokenizer, maxLen) }));
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
    plan: texts.map((t) => t.id),
  });
  const orderOf = new Map(texts.map((t, i) => [t.id, i]));
  const pending = writer.pendingTexts(texts);
  let interrupted: boolean;
  try {
    const run = await capacitySearch(
      lm,
      pending,
      { solver: solverOptionsOf(config, init, { kind: 'per-text' }), threshold: config.threshold, grid: config.grid, sharedM: shared },
      {
        onFinal: async (done: CapacityOutcome[]) => {
          const targets = done.map((o) => ({ id: o.id, ids: Int32Array.from(o.ids), text: tokenizer.decode(o.ids), order: orderOf.get(o.id) }));
          const records = await recordsFor(done.map((o, i) => ({ ...o.result, targetIndex: i, m: o.m ?? new Float32Array(lm.config.hiddenSize) })), targets, model, writer);
          await writer.append(records);
        },
        onLength: (L, active) => hooks.onProgress?.(`[${kind}, m ${shared ? 'shared' : 'per text'}] length ${L}: ${active} texts`),
        shouldStop: hooks.shouldStop,
      },
    );
    interrupted = run.interrupted;
  } finally {
    await writer.close();
  }
  // Read back, so texts finished by an earlier (interrupted) run count too.
  const ds = await readDataset(out);
  // A capacity not bounded by a failure: no longer length was left to try for that text.
  const tokens = new Map(texts.map((t) => [t.id, t.ids.length]));
  const offset = layoutFor(config.arrangement, 4).inputs - 4;
  const tried = config.grid.filter((L) => L <= maxLen && L + offset <= lm.config.maxPositions);
  const atGridTop = (id: string, capacity: number): boolean => capacity > 0 && !tried.some((L) => L > capacity && L <= (tokens.get(id) ?? Infinity));
  const outcomes = ds.toRecords().map((r) => {
    const capacity = capacityOfRow(r, config.threshold);
    return { id: r.textId, capacity, hLm: r.hLmNats, atGridTop: atGridTop(r.textId, capacity) };
  });
  return { outcomes, interrupted };
}
