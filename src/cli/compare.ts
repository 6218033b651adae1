/** `prototoken compare`: for texts with optimized e, how close the encoder's e_hat is, and how each does in one pass. */
import { Command } from 'commander';
import { z } from 'zod';
import { compareToOptimized, renderComparison } from '../encoder/compare.js';
import { encodeAll } from '../encoder/encode.js';
import { PrototokenError } from '../util/errors.js';
import { commandConfig, printConfigIfAsked, report, withCommonOptions } from './common.js';
import { openModel } from '../lm/open_model.js';
import { addEncoderRunOptions } from './encoder_support.js';
import { encoderRunSchema, flatE, flatIds, openCheckpoint, runTexts } from '../encoder/inputs.js';

export function compareCommand(): Command {
  const cmd = addEncoderRunOptions(withCommonOptions(new Command('compare')))
    .description('cosine and L2 between the encoder\'s e_hat and the solver\'s e, and the one-pass accuracy of each')
    .option('--per-text', 'also list every text');
  cmd.action(async () => {
    const config = commandConfig(cmd, encoderRunSchema.extend({ perText: z.boolean().default(false) }));
    if (printConfigIfAsked(cmd, config)) return;
    const quiet = cmd.opts().quiet === true;
    if (!config.dataset) throw new PrototokenError('compare needs optimized e', { fix: 'pass --dataset DIR (a solution dataset solved with the checkpoint\'s m)' });
    const model = await openModel(config, quiet);
    const enc = await openCheckpoint(config, model);
    try {
      const run = await runTexts(config, model, enc);
      if (!run.eMatchesM) {
        throw new PrototokenError('the dataset was solved with another m than the encoder was trained with, so its e are not comparable', {
          file: config.dataset,
          fix: 'solve the texts with the checkpoint\'s m: `prototoken solve --m CHECKPOINT/best/m.safetensors ...`',
        });
      }
      const texts = run.texts.filter((t) => t.e !== null);
      if (texts.length === 0) throw new PrototokenError(`no solved rows of N=${run.N}`, { file: config.dataset, fix: 'check --split and --length' });
      const d = enc.meta.dModel;
      const eOpt = flatE(texts, d);
      const eHat = await encodeAll(enc.encoder, flatIds(texts, run.N), run.N, config.batch);
      const c = await compareToOptimized(model.lm, enc.m, texts, eHat, eOpt, { batchSize: config.batch });
      report(cmd, { checkpoint: enc.dir, dataset: config.dataset, split: config.split, N: run.N, ...c }, renderComparison(c, { perText: config.perText }));
    } finally {
      enc.encoder.dispose();
      model.lm.dispose();
    }
  });
  return cmd;
}
