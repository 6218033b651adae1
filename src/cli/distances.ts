/**
 * `prototoken distances DATASET [DATASET...] --out DIR`: cosine distances between proto-token e by
 * pair type (same text under different seeds, same context, different contexts) beside the TF-IDF
 * distances of the texts. Needs no model: e and the target tokens are in the datasets.
 */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, report, showDefaults, toInt, withConfigOptions } from './common.js';
import { DISTANCES_DEFAULTS, renderDistances, distancesSchema, writeDistances } from '../analysis/distances.js';
import { loadDistanceInputs } from '../analysis/distance_inputs.js';
import { PrototokenError } from '../util/errors.js';
import { checkOutputFolder } from '../util/output_paths.js';

export function distancesCommand(): Command {
  const cmd = new Command('distances')
    .description('cosine distances between proto-token e by pair type (same text, same context, different contexts), beside TF-IDF distances of the texts')
    .argument('[datasets...]', 'solution dataset folders solved with one fixed m (same model, N and arrangement)')
    .option('--out <dir>', 'folder for result.json and config.json')
    .option('--max-pairs <k>', `pairs per pair type at most, drawn at random (default ${DISTANCES_DEFAULTS.maxPairs})`, toInt)
    .option('--include-unsolved', 'also use rows whose text the solver did not reproduce exactly')
    .option('--seed <n>', 'seed of the pair draws', toInt);
  withConfigOptions(cmd, 'no notes on stderr');
  showDefaults(cmd, distancesSchema);
  cmd.action(async (datasets: string[]) => {
    const fromFlags = commandConfig(cmd, distancesSchema);
    const config = datasets.length > 0 ? { ...fromFlags, datasets } : fromFlags;
    if (printConfigIfAsked(cmd, config)) return;
    if (config.datasets.length === 0) {
      throw new PrototokenError('no dataset given', { fix: 'pass the solution dataset folders: `prototoken distances DATASET [DATASET...] --out DIR`' });
    }
    await checkOutputFolder(config.out);
    const inputs = await loadDistanceInputs(config.datasets, { includeUnsolved: config.includeUnsolved });
    if (cmd.opts().quiet !== true) for (const n of inputs.notes) process.stderr.write(`note: ${n}\n`);
    const { groups, resultFile } = await writeDistances(config, inputs);
    const texts = new Set(inputs.solutions.map((s) => s.textId)).size;
    const contexts = new Set(inputs.solutions.map((s) => s.context)).size;
    const summary = {
      out: config.out,
      result: resultFile,
      model: inputs.model,
      N: inputs.N,
      d: inputs.d,
      solutions: inputs.solutions.length,
      texts,
      contexts,
      datasets: inputs.datasets,
      groups: groups.map(({ type, pairs, cosine, tfidf }) => ({ type, pairs, cosine, tfidf })),
    };
    const head = `${inputs.solutions.length} solutions of ${texts} texts in ${contexts} contexts, from ${inputs.datasets.length} dataset(s) (N=${inputs.N}, d=${inputs.d})`;
    report(cmd, summary, [head, ...renderDistances(groups), `-> ${resultFile}`].join('\n'));
  });
  return cmd;
}
