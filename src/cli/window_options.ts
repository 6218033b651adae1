/**
 * `--window N [--stride S] [--windows-per-text K]`: the flags that cut corpus texts into N-token
 * windows (src/texts/windows.ts), shared by every command that reads texts.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { toInt } from './common.js';
import { type WindowOptions, checkWindowOptions } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';

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

/** Add the window flags to `cmd`. */
export function addWindowOptions(cmd: Command): Command {
  return cmd
    .option('--window <n>', 'cut each text into windows of N tokens (ids "<text id>#k"); default: only its first N tokens', toInt)
    .option('--stride <s>', 'tokens between window starts (default: the window, i.e. no overlap)', toInt)
    .option('--windows-per-text <k>', 'at most K windows per text, the first ones (default: all that fit)', toInt)
    .option('--first-window <k>', 'skip each text\'s windows before index K: windows from inside the texts, past their openings (default 0)', toInt);
}

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
 * `config` as recorded in the dataset: without the window keys when there are no windows (so
 * datasets made before windows existed resume unchanged), else with the stride filled in (so
 * `--stride N` and no stride are the same recipe). Window and stride decide what a row id means,
 * so they are part of the recipe a resumed run must match; the per-text cap is not (window k is
 * the same window under any cap, so a rerun may add windows).
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
