/** `prototoken info`: what model and backend a run would use, with a short greedy sample. */
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, renamedFlag, report, showDefaults, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { generate, stopIdsFor } from '../lm/generate.js';
import { currentBackend } from '../backend/index.js';

const schema = baseSchema.extend({ maxNewTokens: z.number().int().min(0).default(40) });

export function infoCommand(): Command {
  const cmd = withCommonOptions(new Command('info'))
    .description('show the model (architecture, size, limits), the backend, and a greedy sample')
    .option('--max-new-tokens <n>', 'length of the greedy sample (default 40)', toInt)
    .addOption(renamedFlag('--sample-tokens <n>', '--max-new-tokens', toInt));
  showDefaults(cmd, schema);
  cmd.action(async () => {
    const config = commandConfig(cmd, schema);
    if (printConfigIfAsked(cmd, config)) return;
    const { lm, tokenizer, dir } = await openModel(config, cmd.opts().quiet === true);
    const c = lm.config;
    const prompt = tokenizer.bosId === null ? tokenizer.encode(' ').slice(0, 1) : [tokenizer.bosId];
    const ids = await generate(lm, prompt, { maxNewTokens: config.maxNewTokens, stopIds: stopIdsFor(tokenizer, prompt) });
    const sample = tokenizer.decode(ids, { skipSpecialTokens: true });
    const backend = currentBackend();
    const json = {
      model: dir,
      architecture: c.architecture,
      parameters: lm.numParameters,
      d_model: c.hiddenSize,
      layers: c.numLayers,
      heads: c.numHeads,
      kv_heads: c.numKvHeads,
      vocab_size: c.vocabSize,
      max_positions: c.maxPositions,
      backend: backend?.detail ?? 'unknown',
      sample,
    };
    report(
      cmd,
      json,
      [
        `model         ${dir}`,
        `architecture  ${c.architecture}, ${c.numLayers} layers, d=${c.hiddenSize}, ${c.numHeads} heads (${c.numKvHeads} kv), vocab ${c.vocabSize}`,
        `parameters    ${lm.numParameters.toLocaleString('en-US')}`,
        `positions     ${c.maxPositions}`,
        `backend       ${json.backend}`,
        `greedy sample ${JSON.stringify(sample)}`,
      ].join('\n'),
    );
    lm.dispose();
  });
  return cmd;
}
