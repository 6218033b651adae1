#!/usr/bin/env node
/**
 * The `prototoken` command. Each subcommand lives in its own file; this one wires them together
 * and turns errors into one readable message and a non-zero exit.
 */
import { Command } from 'commander';
import { PrototokenError, systemErrorAsUserError } from '../util/errors.js';
import { softwareVersion } from '../util/package.js';
import { infoCommand } from './info.js';
import { generateCommand } from './generate.js';
import { scoreCommand } from './score.js';
import { solveCommand } from './solve.js';
import { capacityCommand } from './capacity.js';
import { fitMCommand } from './fit_m.js';
import { gateCommand } from './gate.js';
import { mergeCommand } from './merge.js';
import { inspectCommand } from './inspect.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { compareCommand } from './compare.js';
import { refineCommand } from './refine.js';
import { generateCorpusCommand } from './generate_corpus.js';
import { verifyCommand } from './verify.js';
import { exportCommand } from './export.js';
import { arrangementsCommand } from './arrangements.js';
import { sharingCommand } from './sharing.js';
import { distancesCommand } from './distances.js';
import { reportCommand } from './report.js';
import { interpolateCommand } from './interpolate.js';

const program = new Command('prototoken')
  .description('proto-token embeddings: make a frozen causal LM emit a whole text in one forward pass')
  .version(softwareVersion(), '-V, --version', 'print the version of prototoken (from its package.json) and exit')
  .showHelpAfterError()
  .addCommand(infoCommand())
  .addCommand(generateCommand())
  .addCommand(scoreCommand())
  .addCommand(solveCommand())
  .addCommand(capacityCommand())
  .addCommand(fitMCommand())
  .addCommand(mergeCommand())
  .addCommand(inspectCommand())
  .addCommand(generateCorpusCommand())
  .addCommand(verifyCommand())
  .addCommand(exportCommand())
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(gateCommand())
  .addCommand(compareCommand())
  .addCommand(refineCommand())
  .addCommand(arrangementsCommand())
  .addCommand(sharingCommand())
  .addCommand(distancesCommand())
  .addCommand(reportCommand())
  .addCommand(interpolateCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A disk, permission or path problem is the environment's, said as such (never "internal error").
  const user = err instanceof PrototokenError ? err : systemErrorAsUserError(err);
  if (user) {
    process.stderr.write(`error: ${user.message}\n`);
  } else {
    const e = err as Error;
    process.stderr.write(`internal error: ${e.message}\n${process.env.PROTOTOKEN_DEBUG ? e.stack + '\n' : '(set PROTOTOKEN_DEBUG=1 for the stack trace)\n'}`);
  }
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
}
