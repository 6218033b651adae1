/** `prototoken fit-m`: learn one m shared by a set of texts (the paper's universal m). */
import { basename } from 'node:path';
import { promises as fsp } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, report, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { installInterrupt } from './run_support.js';
import { loadInitSpec } from '../solver/init.js';
import { eByTextId } from '../datasets/solve_records.js';
import { presetsOf } from './solve.js';
import { addSolverOptions } from './dataset_run.js';
import { solverOptionsOf, solverSchema } from '../solver/config.js';
import { solveShared } from '../solver/shared_m.js';
import { prepareTargets } from '../texts/targets.js';
import { readTexts } from '../texts/text_file.js';
import { VECTOR_MODEL_KEY, writeVectorFile } from '../lm/vector_file.js';
import { PrototokenError } from '../util/errors.js';
import { splitOf } from '../texts/split.js';
import { windowTargets } from '../texts/windows.js';
import { addWindowOptions } from './window_options.js';
import { lengthOf, windowOptionsOf, windowSchema } from '../texts/window_config.js';
import { Progress } from '../util/progress.js';

const schema = baseSchema.merge(solverSchema).merge(windowSchema).extend({
  texts: z.string().min(1),
  /** N; may be left out with --window. */
  length: z.number().int().min(1).nullable().default(null),
  /** Fit only on texts of this split (by story), e.g. train, so held-out windows never shape m. */
  split: z.enum(['train', 'val', 'test', 'all']).default('all'),
  out: z.string().min(1),
  limit: z.number().int().min(1).nullable().default(64),
});

export function fitMCommand(): Command {
  const cmd = addWindowOptions(addSolverOptions(withCommonOptions(new Command('fit-m'))))
    .description('learn one m jointly with per-text e on a set of texts, and save it for `solve --m`')
    .requiredOption('--texts <file>', 'texts: JSONL or plain text')
    .requiredOption('--out <file>', 'where to save m (a .safetensors file; its config is saved beside it)')
    .option('--length <n>', 'N: target tokens per text (with --window, N is the window)', toInt)
    .option('--split <name>', 'only texts of this split: train | val | test | all (default all)')
    .option('--limit <k>', 'fit on the first K texts, or windows with --window (default 64)', toInt);
  cmd.action(async () => {
    const config = commandConfig(cmd, schema, presetsOf(cmd));
    if (printConfigIfAsked(cmd, config)) return;
    if (!config.out.endsWith('.safetensors')) {
      throw new PrototokenError(`--out ${config.out}: m is saved as a .safetensors file`, { fix: 'name the output like m.safetensors' });
    }
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const windows = windowOptionsOf(config);
    const N = lengthOf(config.length, windows);
    const texts = await readTexts(config.texts);
    const prepared = windows ? windowTargets(texts, model.tokenizer, windows, config.texts) : prepareTargets(texts, model.tokenizer, N, config.texts);
    const targets = prepared.targets.filter((t) => config.split === 'all' || splitOf(t.id) === config.split).slice(0, config.limit ?? undefined);
    if (targets.length === 0) throw new PrototokenError(`no texts of N=${N} in the ${config.split} split`, { file: config.texts, fix: 'check --split and --length' });
    if (!windows) for (const s of prepared.tooShort) process.stderr.write(`skipped "${s.id}": ${s.tokens} tokens < N=${N}\n`);
    const init = await loadInitSpec(config.init, config.initScale, model.lm, eByTextId);
    const interrupt = installInterrupt(quiet);
    const progress = new Progress(config.maxSteps, { unit: 'steps', quiet });
    const started = Date.now();
    const run = await solveShared(model.lm, targets, solverOptionsOf(config, init, { kind: 'per-text' }), {
      shouldStop: interrupt.stopped,
      onStep: (s) => progress.tick(s.step === 0 ? 0 : 1, `${s.solved}/${targets.length} solved, loss ${s.loss.toFixed(2)}`),
    }).finally(() => interrupt.dispose());
    const solved = run.results.filter((r) => r.solved).length;
    const meanAcc = run.results.reduce((a, r) => a + r.accuracy, 0) / run.results.length;
    const fingerprint = await model.fingerprint();
    const m = run.shared[0];
    await writeVectorFile(config.out, 'm', m, {
      [VECTOR_MODEL_KEY]: fingerprint,
      model: config.model,
      arrangement: config.arrangement,
      length: String(N),
      texts: basename(config.texts),
      fitted_on: String(targets.length),
      steps: String(run.steps),
      solved: String(solved),
    });
    const configFile = config.out.replace(/\.safetensors$/, '.config.json');
    await fsp.writeFile(configFile, JSON.stringify({ ...config, fitted_on: targets.length, steps: run.steps }, null, 2) + '\n');
    const summary = {
      out: config.out,
      texts: targets.length,
      solved,
      mean_accuracy: meanAcc,
      steps: run.steps,
      seconds: (Date.now() - started) / 1000,
      interrupted: run.interrupted,
    };
    report(cmd, summary, `${run.interrupted ? 'interrupted: saved the current m. ' : ''}m fitted on ${targets.length} texts at N=${N}: ${solved} solved together, mean accuracy ${(100 * meanAcc).toFixed(1)}%, ${run.steps} steps -> ${config.out} (config: ${configFile})`);
    model.lm.dispose();
    if (run.interrupted) process.exitCode = 130;
  });
  return cmd;
}
