/**
 * `prototoken eval`: one-pass reconstruction accuracy of an encoder's e_hat on held-out texts,
 * next to the baselines on the same texts (mean e, nearest neighbours, random e, and the solver's
 * own e when a dataset solved with the same m provides it).
 */
import { Command } from 'commander';
import { z } from 'zod';
import { BASELINE_KINDS, type BaselineKind, baselineE, exactCopies } from '../encoder/baselines.js';
import { encodeAll } from '../encoder/encode.js';
import { type EvalSummary, type MethodVectors, evaluateMethods, renderEvalTable } from '../encoder/eval_table.js';
import { commandConfig, printConfigIfAsked, report, withCommonOptions } from './common.js';
import { openModel } from '../lm/open_model.js';
import { addEncoderRunOptions } from './encoder_support.js';
import { encoderRunSchema, flatE, flatIds, openCheckpoint, runTexts } from '../encoder/inputs.js';

const schema = encoderRunSchema.extend({
  baselines: z.array(z.enum(BASELINE_KINDS)).default([...BASELINE_KINDS]),
});

export function evalCommand(): Command {
  const cmd = addEncoderRunOptions(withCommonOptions(new Command('eval')))
    .description('one-pass reconstruction accuracy of an encoder vs baselines on the same texts')
    .option('--baselines <list>', `comma-separated, from ${BASELINE_KINDS.join(',')} (default all)`, (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean));
  cmd.action(async () => {
    const config = commandConfig(cmd, schema);
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    try {
      const run = await runTexts(config, model, enc);
      const { texts, N } = run;
      const ids = flatIds(texts, N);
      const started = Date.now();
      const methods: MethodVectors[] = [{ name: `encoder (${enc.meta.spec.kind})`, eHat: await encodeAll(enc.encoder, ids, N, config.batch) }];
      const encodeSeconds = (Date.now() - started) / 1000;
      const notes: string[] = [];
      for (const kind of config.baselines as BaselineKind[]) {
        if (kind !== 'random' && !enc.reference) {
          notes.push(`${kind}: left out, the checkpoint carries no solved training windows`);
          continue;
        }
        const reference = enc.reference ?? { N, d: enc.meta.dModel, textIds: [], ids: new Int32Array(0), e: new Float32Array(0) };
        methods.push({ name: kind, eHat: baselineE(kind, reference, ids, { queryN: N, seed: config.seed }) });
      }
      const withE = texts.filter((t) => t.e !== null);
      if (withE.length === texts.length && run.eMatchesM) {
        methods.push({ name: 'solver e (upper bound)', eHat: flatE(texts, enc.meta.dModel) });
      } else if (config.dataset) {
        notes.push(run.eMatchesM ? `solver e: left out, ${texts.length - withE.length} of the texts are unsolved or of another N` : 'solver e: left out, the dataset was solved with another m than the checkpoint\'s');
      }
      const { table } = await evaluateMethods(model.lm, enc.m, texts, methods, { batchSize: config.batch });
      // Copies only mean something for windows of the training length (a shorter reference would match prefixes).
      const copies = enc.reference && enc.reference.N === N ? exactCopies(enc.reference, ids, N) : null;
      const summary: EvalSummary = {
        checkpoint: enc.dir,
        source: run.source,
        split: config.split,
        N,
        texts: texts.length,
        too_short: run.tooShort,
        exact_copies_of_training_windows: copies,
        encoder_texts_per_sec: texts.length / Math.max(1e-3, encodeSeconds),
        notes,
        methods: table.methods,
      };
      report(
        cmd,
        summary,
        `${texts.length} texts of N=${N} from ${run.source} (split ${config.split}; ${copies ?? '?'} are exact copies of training windows)\n` +
          renderEvalTable(table) + (notes.length ? `\n${notes.map((n) => `note: ${n}`).join('\n')}` : ''),
      );
    } finally {
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
