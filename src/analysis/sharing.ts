/**
 * The paper's sharing experiment: texts are split into groups of S_g, and each group shares one
 * trainable vector, either m (with e per text) or e (with m per text). One cell per (shared
 * vector, S_g, seed): all groups solved in one batched run of the shared solver
 * (solver/shared_m.ts), reporting the mean token accuracy over the texts; per (shared vector,
 * S_g) the best and mean ± std of that over seeds.
 */
import type { CausalLM } from '../lm/types.js';
import { type SharedSolveOptions, type SharedVector, solveShared } from '../solver/shared_m.js';
import type { SolveTarget } from '../solver/types.js';
import { summarize } from '../util/stats.js';
import { type Cell, type TextOutcome, targetsHash, textOutcome } from './cells.js';
import { RESULT_VERSION, type SharingResult } from './results.js';
import { PrototokenError } from '../util/errors.js';
import { solvingAnalysisSchema } from './solving_run.js';
import { z } from 'zod';

export interface SharingOptions {
  /** Which vectors are shared, one experiment each (no default: the CLI's default is e,m). */
  share: readonly SharedVector[];
  /** Group sizes S_g (no default: the CLI's default is 1,4,16). */
  groupSizes: readonly number[];
  /** The run seeds; each one is a cell per (share, S_g) (no default: the CLI's is --seed .. --seed+2). */
  seeds: readonly number[];
  /** The shared solver; `share`, `groupSize` and `seed` are set per cell. */
  solver: Omit<SharedSolveOptions, 'share' | 'groupSize' | 'seed'>;
  /** Settings that decide every cell besides its own (solver recipe, model fingerprint); stored with each cell. */
  recipe: Record<string, unknown>;
  /** Checked before every solver step; true interrupts the run. Default: never. */
  shouldStop?: () => boolean;
}

/** One finished (share, S_g, seed) cell. */
export interface SharingCell {
  share: SharedVector;
  groupSize: number;
  seed: number;
  groups: number;
  /** Mean token accuracy over all texts. */
  accuracy: number;
  texts: TextOutcome[];
}

/** Refuse group sizes larger than the number of texts (a "group of 16" of 8 texts would be a group of 8). */
export function checkGroupSizes(groupSizes: readonly number[], texts: number): void {
  const tooBig = groupSizes.filter((s) => s > texts);
  if (tooBig.length > 0) {
    throw new PrototokenError(`--group-sizes: a group of ${Math.max(...tooBig)} texts needs at least that many texts, but there are ${texts}`, {
      fix: `raise --limit to at least ${Math.max(...tooBig)}, or use group sizes of at most ${texts}`,
    });
  }
}

/** The cells of the experiment: share, then group size, then seed. */
export function sharingCells(lm: CausalLM, targets: readonly SolveTarget[], opts: SharingOptions): Cell<SharingCell>[] {
  const hash = targetsHash(targets);
  return opts.share.flatMap((share) =>
    opts.groupSizes.flatMap((groupSize) =>
      opts.seeds.map((seed): Cell<SharingCell> => ({
        key: `share-${share}.S${groupSize}.seed${seed}`,
        recipe: { ...opts.recipe, share, groupSize, seed, targets: hash },
        work: targets.length,
        run: async (tick) => {
          let done = 0;
          const run = await solveShared(lm, targets, { ...opts.solver, share, groupSize, seed }, {
            shouldStop: opts.shouldStop,
            onStep: (s) => {
              tick(s.done - done);
              done = s.done;
            },
          });
          if (run.interrupted) return null;
          const texts = run.results.map(textOutcome);
          return { share, groupSize, seed, groups: run.shared.length, accuracy: texts.reduce((a, t) => a + t.accuracy, 0) / texts.length, texts };
        },
      })),
    ),
  );
}

/** One row per (share, S_g) over its seeds, in the order of `cells`. */
export function sharingResult(model: string, N: number, cells: readonly SharingCell[]): SharingResult {
  const rows: SharingResult['rows'] = [];
  for (const c of cells) {
    if (rows.some((r) => r.shared === c.share && r.groupSize === c.groupSize)) continue;
    const same = cells.filter((x) => x.share === c.share && x.groupSize === c.groupSize);
    const acc = same.map((x) => x.accuracy);
    const s = summarize(acc);
    rows.push({
      shared: c.share,
      groupSize: c.groupSize,
      seeds: same.map((x) => x.seed),
      groups: c.groups,
      accuracyBySeed: acc,
      best: s.max ?? 0,
      mean: s.mean ?? 0,
      std: s.std ?? 0,
    });
  }
  return { kind: 'sharing', version: RESULT_VERSION, model, created: new Date().toISOString(), N, rows };
}

/** `prototoken sharing`' config keys. */
export const sharingSchema = solvingAnalysisSchema.extend({
  /** N; may be left out with --window (which then sets N). */
  length: z.number().int().min(1).nullable().default(null),
  /** Texts per group S_g; each is a row of the result. */
  groupSizes: z.array(z.number().int().min(1)).min(1).default([1, 4, 16]),
  /** Which vector a group shares (the other is per text); each is a set of rows. */
  share: z.array(z.enum(['e', 'm'])).min(1).default(['e', 'm']),
  /** Runs per (share, S_g), with seeds --seed, --seed+1, ... */
  seeds: z.number().int().min(1).default(3),
});
