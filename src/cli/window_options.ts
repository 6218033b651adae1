/**
 * `--window N [--stride S] [--windows-per-text K] [--first-window K]`: the flags that cut corpus
 * texts into N-token windows (their config keys: src/texts/window_config.ts).
 */
import type { Command } from 'commander';
import { toInt } from './common.js';

/** Add the window flags to `cmd`. */
export function addWindowOptions(cmd: Command): Command {
  return cmd
    .option('--window <n>', 'cut each text into windows of N tokens (ids "<text id>#k"); default: only its first N tokens', toInt)
    .option('--stride <s>', 'tokens between window starts (default: the window, i.e. no overlap)', toInt)
    .option('--windows-per-text <k>', 'at most K windows per text, the first ones (default: all that fit)', toInt)
    .option('--first-window <k>', 'skip each text\'s windows before index K: windows from inside the texts, past their openings (default: none skipped)', toInt);
}
