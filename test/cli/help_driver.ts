/**
 * Run by conventions.test.ts as a child process (one process instead of two per command): prints
 * one JSON object, command name -> its --help text and what `--print-config` prints with `needs`.
 */
import type { Command } from 'commander';
import { arrangementsCommand } from '../../src/cli/arrangements.js';
import { capacityCommand } from '../../src/cli/capacity.js';
import { compareCommand } from '../../src/cli/compare.js';
import { distancesCommand } from '../../src/cli/distances.js';
import { evalCommand } from '../../src/cli/eval.js';
import { fitMCommand } from '../../src/cli/fit_m.js';
import { generateCommand } from '../../src/cli/generate.js';
import { generateCorpusCommand } from '../../src/cli/generate_corpus.js';
import { infoCommand } from '../../src/cli/info.js';
import { interpolateCommand } from '../../src/cli/interpolate.js';
import { refineCommand } from '../../src/cli/refine.js';
import { scoreCommand } from '../../src/cli/score.js';
import { sharingCommand } from '../../src/cli/sharing.js';
import { solveCommand } from '../../src/cli/solve.js';
import { trainCommand } from '../../src/cli/train.js';

/** Each command with --print-config, and the least it needs to print its config. */
export const PRINTING_COMMANDS: [string, () => Command, string[]][] = [
  ['info', infoCommand, []], ['generate', generateCommand, []], ['score', scoreCommand, ['texts.jsonl']], ['solve', solveCommand, ['--out', 'x']],
  ['capacity', capacityCommand, ['--out', 'x']], ['fit-m', fitMCommand, ['--texts', 't', '--out', 'x']],
  ['generate-corpus', generateCorpusCommand, ['--count', '1', '--out', 'x']], ['train', trainCommand, ['--name', 'x']],
  ['eval', evalCommand, ['--checkpoint', 'c']], ['compare', compareCommand, ['--checkpoint', 'c']], ['refine', refineCommand, ['--checkpoint', 'c']],
  ['arrangements', arrangementsCommand, ['--texts', 't', '--out', 'x']], ['sharing', sharingCommand, ['--texts', 't', '--out', 'x']],
  ['distances', distancesCommand, ['--out', 'x']], ['interpolate', interpolateCommand, ['--out', 'x']],
];

if (process.argv[1]?.endsWith('help_driver.js')) {
  const out: Record<string, { help: string; needs: string[]; printed: string }> = {};
  const write = process.stdout.write.bind(process.stdout);
  for (const [name, make, needs] of PRINTING_COMMANDS) {
    const cmd = make();
    let printed = '';
    process.stdout.write = ((s: string) => (printed += s, true)) as typeof process.stdout.write;
    try {
      await cmd.parseAsync([...needs, '--print-config'], { from: 'user' });
    } finally {
      process.stdout.write = write;
    }
    out[name] = { help: cmd.helpInformation(), needs, printed };
  }
  write(JSON.stringify(out) + '\n');
}
