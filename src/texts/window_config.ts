/**
 * The window keys of a command's config (`--window N [--stride S] [--windows-per-text K]
 * [--first-window K]`), turned into the options of src/texts/windows.ts, and how they are
 * recorded in a dataset's recipe.
 */
import { z } from 'zod';
import { type WindowOptions, checkWindowOptions } from './windows.js';
import { PrototokenError } from '../util/errors.js';
import { Recipe } from '../util/recipe.js';

/** Config keys of the window flags; all null = no windows (each text's first N tokens). */
export const windowSchema = z.object({
  /** Tokens per window; null = no windows. */
  window: z.number().int().min(1).nullable().default(null),
  /** Tokens between window starts; null = the window (no overlap). */
  stride: z.number().int().min(1).nullable().default(null),
  /** At most this many windows per text; null = all that fit. */
  windowsPerText: z.number().int().min(1).nullable().default(null),
  /** Skip each text's windows before this index (windows from inside stories); null = from the first. */
  firstWindow: z.number().int().min(0).nullable().default(null),
});

export type WindowConfig = z.infer<typeof windowSchema>;

/**
 * Window and stride decide what a row id means, so they are part of a recipe (recorded by
 * `recordedWindowConfig`, which fills in the stride). The per-text cap and the first window are not:
 * window k is the same window under any of them, so a rerun may add windows. Both keys came after
 * the first datasets, which were made without windows.
 */
export const WINDOW_RECIPE = new Recipe(['window', 'stride'], { window: null, stride: null });

/** The window options of a config, or null without --window (then --stride and --windows-per-text are errors). */
export function windowOptionsOf(config: WindowConfig): WindowOptions | null {
  if (config.window === null) {
    const stray = config.stride !== null ? '--stride' : config.windowsPerText !== null ? '--windows-per-text' : config.firstWindow !== null ? '--first-window' : null;
    if (stray) throw new PrototokenError(`${stray} only applies to windows`, { fix: `also pass --window N, or drop ${stray}` });
    return null;
  }
  const { stride } = checkWindowOptions({ window: config.window, stride: config.stride ?? undefined });
  return { window: config.window, stride, windowsPerText: config.windowsPerText, firstWindow: config.firstWindow ?? 0 };
}

/**
 * `config` as recorded with a dataset: without the window keys when there are no windows (so the
 * config reads as it did before windows existed), else with the stride filled in (so `--stride N`
 * and no stride are the same recipe, WINDOW_RECIPE).
 */
export function recordedWindowConfig<C extends WindowConfig>(config: C): Omit<C, keyof WindowConfig> & Partial<WindowConfig> {
  const { window, stride, windowsPerText, firstWindow, ...rest } = config;
  if (window === null) return rest;
  // firstWindow only when given, so the configs of runs made before it existed compare equal.
  return { ...rest, window, stride: stride ?? window, windowsPerText, ...(firstWindow !== null ? { firstWindow } : {}) };
}

/**
 * N of a run that takes both --length and --window: the window when given (then --length may be
 * left out, and must agree when it is not), else --length.
 */
export function lengthOf(length: number | null, windows: WindowOptions | null): number {
  if (windows === null) {
    if (length === null) throw new PrototokenError('the target length is not set', { fix: 'pass --length N (or --window N to cut texts into N-token windows)' });
    return length;
  }
  if (length !== null && length !== windows.window) {
    throw new PrototokenError(`--length ${length} and --window ${windows.window} disagree: with windows, N is the window`, {
      fix: 'drop --length, or make it equal to --window',
    });
  }
  return windows.window;
}
