/** `prototoken generate`: sample a continuation of a prompt. */
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, report, showDefaults, toFloat, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { generate, stopIdsFor } from '../lm/generate.js';
import { PrototokenError } from '../util/errors.js';

const schema = baseSchema.extend({
  prompt: z.string().default(''),
  maxNewTokens: z.number().int().min(1).default(100),
  temperature: z.number().min(0).default(0),
});

export function generateCommand(): Command {
  const cmd = withCommonOptions(new Command('generate'))
    .description('continue a prompt with the LM (greedy by default)')
    .argument('[prompt]', 'text to continue (default: start from BOS)')
    .option('--max-new-tokens <n>', 'tokens to generate (default 100)', toInt)
    .option('--temperature <t>', '0 = greedy; > 0 samples (default 0)', toFloat);
  showDefaults(cmd, schema);
  cmd.action(async (prompt: string | undefined) => {
    const config = commandConfig(cmd, schema);
    const text = prompt ?? config.prompt;
    if (printConfigIfAsked(cmd, { ...config, prompt: text })) return;
    const { lm, tokenizer } = await openModel(config, cmd.opts().quiet === true);
    const promptIds = tokenizer.encode(text, { addBos: true });
    if (promptIds.length === 0) throw new PrototokenError('the prompt is empty and the tokenizer has no BOS token', { fix: 'give a prompt' });
    if (promptIds.length >= lm.config.maxPositions) {
      throw new PrototokenError(`the prompt has ${promptIds.length} tokens; the model allows ${lm.config.maxPositions} positions`, { fix: 'shorten the prompt' });
    }
    const ids = await generate(lm, promptIds, {
      maxNewTokens: config.maxNewTokens,
      temperature: config.temperature,
      seed: config.seed,
      stopIds: stopIdsFor(tokenizer, promptIds),
    });
    // Decode the whole sequence: decoding the new ids alone would drop the space before them.
    const full = tokenizer.decode(ids, { skipSpecialTokens: true });
    const head = tokenizer.decode(promptIds, { skipSpecialTokens: true });
    const continuation = full.startsWith(head) ? full.slice(head.length) : full;
    report(cmd, { prompt: text, continuation, new_tokens: ids.length - promptIds.length, token_ids: ids }, full);
    lm.dispose();
  });
  return cmd;
}
