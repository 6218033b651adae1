/** `prototoken inspect DATASET`: counts, solved rate, histograms, margins, capacity table, first rows; with --radius, how deep inside their solution sets a sample of e sits. */
import { Command } from 'commander';
import { printJson, toInt } from './common.js';
import { RADIUS_SAMPLE_DEFAULTS, inspectDataset, renderInspect, renderRadius, sampleRadius } from '../datasets/index.js';
import { openModel } from '../lm/open_model.js';
import { BACKEND_CHOICES, type BackendChoice } from '../backend/index.js';
import { PrototokenError } from '../util/errors.js';

interface InspectFlags {
  head?: number;
  verify: boolean;
  json?: boolean;
  radius?: boolean;
  radiusRows?: number;
  radiusDirections?: number;
  seed?: number;
  model?: string;
  backend?: string;
}

export function inspectCommand(): Command {
  const cmd = new Command('inspect')
    .description('summarise a solution dataset in the terminal')
    .argument('<dataset>', 'the dataset folder')
    .option('--head <n>', 'also list the first N rows (default 0)', toInt)
    .option('--no-verify', 'skip checksum verification while reading')
    .option('--json', 'print the summary as JSON')
    .option('--radius', 'also measure, on a sample of solved rows, the largest random perturbation of e that keeps the text at 100% (loads the model)')
    .option('--radius-rows <n>', `solved rows sampled for --radius (default ${RADIUS_SAMPLE_DEFAULTS.rows})`, toInt)
    .option('--radius-directions <k>', `random directions per row for --radius; all must keep 100% (default ${RADIUS_SAMPLE_DEFAULTS.directions})`, toInt)
    .option('--seed <n>', 'seed of the --radius sample and directions (default 0)', toInt)
    .option('--model <dir|org/name>', 'model for --radius (default: the one the dataset records)')
    .option('--backend <name>', `compute backend for --radius: ${BACKEND_CHOICES.join('|')} (default auto)`);
  cmd.action(async (dir: string) => {
    const opts = cmd.opts<InspectFlags>();
    const backend = (opts.backend ?? 'auto') as BackendChoice;
    if (!BACKEND_CHOICES.includes(backend)) throw new PrototokenError(`unknown backend '${opts.backend}'`, { fix: `use one of: ${BACKEND_CHOICES.join(', ')}` });
    const summary = await inspectDataset(dir, { head: opts.head ?? 0, verify: opts.verify });
    let radius = null;
    if (opts.radius) {
      const model = await openModel({ model: opts.model ?? summary.model.id, backend }, opts.json === true);
      try {
        radius = await sampleRadius(dir, model, { rows: opts.radiusRows, directions: opts.radiusDirections, seed: opts.seed, verify: opts.verify });
      } finally {
        model.lm.dispose();
      }
    }
    if (opts.json) printJson(radius ? { ...summary, radius } : summary);
    else process.stdout.write(renderInspect(summary) + (radius ? `\n${renderRadius(radius)}\n` : ''));
  });
  return cmd;
}
