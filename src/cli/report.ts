/** `prototoken report INPUT... --out report.html`: one self-contained HTML page of tables and charts. */
import { Command } from 'commander';
import { writeReport } from '../analysis/report/index.js';
import { printJson, toInt } from './common.js';

export function reportCommand(): Command {
  const cmd = new Command('report')
    .description('one offline HTML page (tables, SVG charts) from datasets, capacity runs, analysis results, eval output and encoder runs')
    .argument('<inputs...>', 'dataset folders, capacity --out folders, result.json files (or folders), eval/capacity --json files, runs/RUN, checkpoints/RUN')
    .requiredOption('--out <file>', 'the HTML file to write (an earlier report there is replaced atomically; its folders are created)')
    .option('--overwrite', 'replace an existing --out file that is not an earlier report')
    .option('--title <text>', 'page title (default "prototoken report")')
    .option('--max-pairs <k>', 'interpolation pairs drawn as charts; the tables list all (default 12)', toInt)
    .option('--no-verify', 'skip dataset checksum verification while reading')
    .option('--no-follow-logdir', "do not load a checkpoint run's TensorBoard folder unless it is given")
    .option('--json', 'print the summary as one JSON object on stdout')
    .option('--quiet', 'print nothing but errors');
  cmd.action(async (paths: string[]) => {
    const o = cmd.opts<{ out: string; title?: string; maxPairs?: number; verify: boolean; followLogdir: boolean; overwrite?: boolean; json?: boolean; quiet?: boolean }>();
    const r = await writeReport(paths, o.out, { title: o.title, maxPairs: o.maxPairs, verify: o.verify, followLogdir: o.followLogdir, overwrite: o.overwrite });
    const filled = r.sections.filter((s) => s.filled);
    const charts = r.sections.reduce((n, s) => n + s.charts, 0);
    if (o.json) {
      printJson({
        out: o.out,
        inputs: r.inputs.map((i) => ({ path: i.path, kind: i.kind, what: i.what, warnings: i.warnings })),
        sections: r.sections,
        chart_warnings: r.chartWarnings,
      });
      return;
    }
    for (const w of r.chartWarnings) process.stderr.write(`warning: chart ${w}\n`);
    if (o.quiet) return;
    const lines = [
      `wrote ${o.out}: ${filled.length} of ${r.sections.length} sections with data, ${charts} charts, from ${r.inputs.length} input(s)`,
      ...r.inputs.map((i) => `  ${i.path}: ${i.what}`),
      ...r.sections.filter((s) => !s.filled).map((s) => `  no data: ${s.title}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  });
  return cmd;
}
