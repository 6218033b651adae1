/** `prototoken interpolate DATASET [DATASET...] --out DIR`: straight, trained Bezier and two-bend paths between solutions of a text, and how localized they are. */
import { Command } from 'commander';
import { commandConfig, printConfigIfAsked, report, showDefaults, toFloat, toInt, withCommonOptions } from './common.js';
import { openModel } from '../lm/open_model.js';
import { installInterrupt } from './run_support.js';
import { CUBIC_MODES, INTERPOLATE_DEFAULTS, interpolatePairs, type InterpolateRun, interpolateSchema } from '../analysis/interpolate.js';
import { loadSolutionPairs, type SolutionPairs, checkPairsModel } from '../analysis/solutions.js';
import { writeInterpolateRun } from '../analysis/curves_file.js';
import type { InterpolateResult } from '../analysis/results.js';
import { PrototokenError } from '../util/errors.js';
import { Progress, formatSeconds } from '../util/progress.js';
import { formatTable } from '../util/table.js';
import { checkOutputFolder } from '../util/output_paths.js';

const defaults = INTERPOLATE_DEFAULTS;

export function interpolateCommand(): Command {
  const cmd = withCommonOptions(new Command('interpolate'))
    .description('accuracy and loss along the straight line, a trained Bezier curve and a two-bend fallback between two solutions of one text (same m setting); same-text vs other-text distances')
    .argument('[datasets...]', 'solution dataset folders: one with --keep-all-restarts rows, or several of the same texts')
    .option('--out <dir>', 'output folder: result.json, config.json, curves.arrow')
    .option('--pairs <k>', 'at most K pairs of solutions, round-robin over texts (default 16)', toInt)
    .option('--taus <n>', `evaluation grid: n evenly spaced taus, 0 and 1 included, n >= 65 (default ${defaults.taus})`, toInt)
    .option('--cubic <mode>', `two-bend curve: ${CUBIC_MODES.join(' | ')} (fallback: pairs the Bezier curve leaves below 1.0; default ${defaults.cubic})`)
    .option('--steps <s>', `AdamW steps of the Bezier control points (default ${defaults.steps})`, toInt)
    .option('--taus-per-step <t>', `taus per pair and step, stratified over [0, 1] (default ${defaults.tausPerStep})`, toInt)
    .option('--lr <x>', `AdamW learning rate of the control points (default ${defaults.adamw.lr})`, toFloat)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (default 0)', toFloat);
  showDefaults(cmd, interpolateSchema);
  cmd.action(async (args: string[]) => {
    const given = commandConfig(cmd, interpolateSchema);
    const config = { ...given, datasets: args.length > 0 ? args : given.datasets };
    if (printConfigIfAsked(cmd, config)) return;
    if (config.datasets.length === 0) throw new PrototokenError('no dataset given', { fix: 'pass one or more solution dataset folders: prototoken interpolate DATASET [DATASET...] --out DIR' });
    const quiet = cmd.opts().quiet === true;
    const started = Date.now();
    await checkOutputFolder(config.out);
    // Every check on the datasets before the model loads and before anything is written.
    const input = await loadSolutionPairs(config.datasets, { maxPairs: config.pairs });
    const model = await openModel(config, quiet);
    try {
      checkPairsModel(input, await model.fingerprint(), config.model);
      // One bar per trained curve: the cubic one's pairs are known only once the Bezier curves are evaluated.
      const bars = new Map<string, Progress>();
      const bar = (curve: string): Progress => bars.get(curve) ?? bars.set(curve, new Progress(config.steps, { unit: `${curve} steps`, quiet })).get(curve) as Progress;
      const interrupt = installInterrupt(quiet);
      let run: InterpolateRun;
      try {
        run = await interpolatePairs(model.lm, input, {
          taus: config.taus,
          steps: config.steps,
          tausPerStep: config.tausPerStep,
          adamw: { lr: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay },
          seed: config.seed,
          evalRows: config.evalRows,
          cubic: config.cubic,
          onStep: (curve, _, loss) => bar(curve).tick(1, `loss ${loss.toFixed(3)} (mean over pairs)`),
          shouldStop: interrupt.stopped,
        });
      } finally {
        interrupt.dispose();
      }
      if (run.interrupted) {
        process.stderr.write(`interrupted after ${run.steps} steps: nothing written to ${config.out}\n`);
        process.exitCode = 130;
        return;
      }
      const result = await writeInterpolateRun(config.out, run, input, config);
      const seconds = (Date.now() - started) / 1000;
      const summary = { out: config.out, steps: run.steps, seconds, texts: new Set(run.pairs.map((p) => p.textId)).size, ...result.summary, localized: result.localized };
      report(cmd, summary, renderResult(result, input, run.steps, seconds, config.out));
    } finally {
      model.lm.dispose();
    }
  });
  return cmd;
}

/** The per-pair table and the summary line. */
function renderResult(r: InterpolateResult, input: SolutionPairs, steps: number, seconds: number, out: string): string {
  const several = input.datasets.length > 1;
  const label = (dataset: number | undefined, restart: number): string => (several ? `d${dataset ?? 0}:r${restart}` : `r${restart}`);
  const acc = (x: number): string => x.toFixed(3);
  const rows = [
    ['text_id', 'a', 'b', 'margins', 'distance', 'line min acc', 'bezier min acc', 'cubic min acc', 'length ratio', 'loss line -> bezier', 'bezier max loss'],
    ...r.pairs.map((p) => [
      p.textId, label(p.datasetA, p.restartA), label(p.datasetB, p.restartB), [p.marginA, p.marginB].map((x) => (x == null ? '-' : x.toFixed(2))).join(', '),
      p.endpointDistance.toFixed(2), acc(p.lineMinAccuracy), acc(p.bezierMinAccuracy), p.cubicMinAccuracy == null ? '-' : acc(p.cubicMinAccuracy),
      p.lengthRatio.toFixed(3), `${p.bezierLossBefore.toFixed(3)} -> ${p.bezierLossAfter.toFixed(3)}`, p.bezierLoss ? Math.max(...p.bezierLoss).toFixed(3) : '-',
    ]),
  ];
  const s = r.summary;
  const mean = (x: number | null, digits = 3): string => (x === null ? 'n/a' : x.toFixed(digits));
  const lines = [
    ...(several ? input.datasets.map((d, i) => `  d${i} = ${d}`) : []),
    ...formatTable(rows, [false, false, false, true, true, true, true, true, true, true, true]),
    '',
    `${s.pairs} pairs of ${new Set(r.pairs.map((p) => p.textId)).size} texts at N=${input.N}` +
      ` | line: ${s.lineConnected}/${s.pairs} connected, min accuracy mean ${mean(s.lineMinAccuracy.mean)}` +
      ` | bezier: ${s.bezierConnected}/${s.pairs} connected, min accuracy mean ${mean(s.bezierMinAccuracy.mean)}, length ratio mean ${mean(s.lengthRatio.mean)}` +
      ` | cubic: ${s.cubicConnected ?? 0}/${s.cubicPairs ?? 0} connected | any path: ${s.connected ?? 0}/${s.pairs}` +
      ` | ${steps} steps, ${formatSeconds(seconds)} -> ${out}`,
  ];
  const l = r.localized;
  if (l) {
    lines.push(
      `localized: ${l.solutions} solutions of ${l.texts} texts | distance same text ${mean(l.sameText.mean, 2)} vs other texts ${mean(l.otherText.mean, 2)} (ratio ${mean(l.ratio)})` +
        ` | 1 - cos ${mean(l.sameTextCosine.mean)} vs ${mean(l.otherTextCosine.mean)} | nearest neighbour of the same text ${mean(l.nearestSameText)} (chance ${mean(l.nearestSameTextByChance)})`,
    );
  }
  if (input.textsWithPairs > r.pairs.length) lines.push(`(${input.textsWithPairs} texts have two or more solutions; --pairs ${r.pairs.length} kept the first pairs)`);
  return lines.join('\n');
}
