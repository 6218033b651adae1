/**
 * The paper's arrangement ablation: how well each way of laying out e and m as the LM's inputs
 * (solver/arrangements.ts) can be solved, per text length N. One cell per (arrangement, N): the
 * same targets solved by the batched pool solver with m per text (where the arrangement has an
 * m), reporting the final token accuracy, the solved count and the steps.
 */
import type { CausalLM } from '../lm/types.js';
import { type Arrangement, layoutFor, ARRANGEMENTS } from '../solver/arrangements.js';
import { solveTexts } from '../solver/solve.js';
import type { SolveResult, SolverOptions, SolveTarget } from '../solver/types.js';
import { summarize } from '../util/stats.js';
import { type Cell, type TextOutcome, targetsHash, textOutcome } from './cells.js';
import { type ArrangementsResult, RESULT_VERSION } from './results.js';
import { PrototokenError } from '../util/errors.js';
import { solvingAnalysisSchema } from './solving_run.js';
import { z } from 'zod';

export interface ArrangementsOptions {
  /** The arrangements compared (no default: the CLI's default is all five). */
  arrangements: readonly Arrangement[];
  /** The target lengths N (no default: the CLI's default is 1,2,4,8,16,32). */
  lengths: readonly number[];
  /** The solver; its `arrangement` is replaced per cell and m is always per text. */
  solver: SolverOptions;
  /** Settings that decide every cell besides its own (solver recipe, model fingerprint); stored with each cell. */
  recipe: Record<string, unknown>;
  /** Checked before every solver step; true interrupts the run. Default: never. */
  shouldStop?: () => boolean;
}

/** One finished (arrangement, N) cell. */
export interface ArrangementCell {
  arrangement: Arrangement;
  N: number;
  texts: TextOutcome[];
}

/** Refuse lengths whose inputs do not fit the model, naming the flag (before any text is read). */
export function checkArrangementLengths(arrangements: readonly Arrangement[], lengths: readonly number[], maxPositions: number): void {
  for (const a of arrangements) {
    for (const N of lengths) {
      const inputs = layoutFor(a, N).inputs;
      if (inputs > maxPositions) {
        throw new PrototokenError(`--lengths: N=${N} with arrangement ${a} needs ${inputs} input positions but the model allows ${maxPositions}`, {
          fix: `use lengths of at most ${maxPositions - (inputs - N)}`,
        });
      }
    }
  }
}

/** The cells of the ablation, arrangement by arrangement; `targetsOf(N)` gives the targets of length N. */
export function arrangementCells(lm: CausalLM, targetsOf: (N: number) => readonly SolveTarget[], opts: ArrangementsOptions): Cell<ArrangementCell>[] {
  return opts.arrangements.flatMap((arrangement) =>
    opts.lengths.map((N): Cell<ArrangementCell> => {
      const targets = targetsOf(N);
      return {
        key: `${arrangement}.N${N}`,
        recipe: { ...opts.recipe, arrangement, N, targets: targetsHash(targets) },
        work: targets.length,
        run: async (tick) => {
          const results: SolveResult[] = [];
          const solver: SolverOptions = { ...opts.solver, arrangement, m: { kind: 'per-text' } };
          const out = await solveTexts(lm, targets, solver, {
            onResults: (rs) => {
              results.push(...rs);
              tick(rs.length);
            },
            onStep: () => tick(0), // keeps the progress line alive through long cells
            shouldStop: opts.shouldStop,
          });
          if (out.interrupted) return null;
          results.sort((a, b) => a.targetIndex - b.targetIndex);
          return { arrangement, N, texts: results.map(textOutcome) };
        },
      };
    }),
  );
}

/** The result row of a cell. */
export function arrangementRow(cell: ArrangementCell): ArrangementsResult['rows'][number] {
  return {
    arrangement: cell.arrangement,
    N: cell.N,
    texts: cell.texts.length,
    solved: cell.texts.filter((t) => t.solved).length,
    accuracy: summarize(cell.texts.map((t) => t.accuracy)),
    steps: summarize(cell.texts.map((t) => t.steps)),
  };
}

export function arrangementsResult(model: string, cells: readonly ArrangementCell[]): ArrangementsResult {
  return { kind: 'arrangements', version: RESULT_VERSION, model, created: new Date().toISOString(), rows: cells.map(arrangementRow) };
}

/** `prototoken arrangements`' config keys. */
export const arrangementsSchema = solvingAnalysisSchema.extend({
  /** Target lengths N; each is a cell per arrangement. */
  lengths: z.array(z.number().int().min(1)).min(1).default([1, 2, 4, 8, 16, 32]),
  /** Arrangements compared (names as in --arrangement). */
  arrangements: z.array(z.string()).min(1).default([...ARRANGEMENTS]),
});
