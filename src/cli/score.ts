/** `prototoken score FILE`: H_LM of every text (nats and bits) under the plain LM. */
import { Command } from 'commander';
import { z } from 'zod';
import { commandConfig, printConfigIfAsked, renamedFlag, showDefaults, toInt, withCommonOptions } from './common.js';
import { baseSchema, openModel } from '../lm/open_model.js';
import { scoreTexts } from '../lm/score.js';
import { readTexts } from '../texts/text_file.js';

const schema = baseSchema.extend({
  maxTokens: z.number().int().min(1).nullable().default(null),
  limit: z.number().int().min(1).nullable().default(null),
  batch: z.number().int().min(1).default(16),
});

export function scoreCommand(): Command {
  const cmd = withCommonOptions(new Command('score'))
    .description('cross-entropy H_LM of each text under the LM (BOS-conditioned when the tokenizer has BOS)')
    .argument('<file>', 'texts: JSONL ({"id","text"} per line) or plain text')
    .option('--max-tokens <k>', 'score only the first K tokens of each text (default: all of them)', toInt)
    .option('--limit <n>', 'only the first N texts (default: all)', toInt)
    .option('--batch <n>', 'texts per forward pass (default 16)', toInt)
    .addOption(renamedFlag('--batch-size <n>', '--batch', toInt));
  showDefaults(cmd, schema);
  cmd.action(async (file: string) => {
    const config = commandConfig(cmd, schema);
    if (printConfigIfAsked(cmd, { ...config, texts: file })) return;
    const texts = (await readTexts(file)).slice(0, config.limit ?? undefined);
    const { lm, tokenizer } = await openModel(config, cmd.opts().quiet === true);
    // A text longer than the model's positions is scored as far as they reach, with a note; only
    // that prefix (one token more, to tell) is tokenized, so a huge text costs no more than a short one.
    const room = lm.config.maxPositions - (tokenizer.bosId === null ? 0 : 1);
    const limit = Math.min(config.maxTokens ?? Infinity, room);
    const truncated: boolean[] = [];
    const ids = texts.map((t) => {
      const prefix = tokenizer.encodePrefix(t.text, limit + 1);
      truncated.push(prefix.length > room && (config.maxTokens ?? Infinity) > room);
      return prefix.slice(0, limit);
    });
    texts.forEach((t, i) => {
      if (truncated[i]) process.stderr.write(`note: "${t.id}" is longer than the model's ${lm.config.maxPositions} positions; scored its first ${room} tokens${tokenizer.bosId === null ? '' : ' (after BOS)'}\n`);
    });
    const scores = await scoreTexts(lm, ids, { bosId: tokenizer.bosId, batchSize: config.batch });
    const json = cmd.opts().json === true;
    if (!json) process.stdout.write(`${'id'.padEnd(24)} ${'tokens'.padStart(7)} ${'H_LM nats'.padStart(11)} ${'H_LM bits'.padStart(11)} ${'nats/token'.padStart(11)}\n`);
    texts.forEach((t, i) => {
      const s = scores[i];
      // truncated: the text had more tokens than the model's positions, and n_tokens of them were scored.
      const row = { id: t.id, n_tokens: ids[i].length, scored_tokens: s.scoredTokens, h_lm_nats: s.nats, h_lm_bits: s.bits, truncated: truncated[i] };
      process.stdout.write(
        json
          ? JSON.stringify(row) + '\n'
          : `${t.id.padEnd(24)} ${String(ids[i].length).padStart(7)} ${s.nats.toFixed(3).padStart(11)} ${s.bits.toFixed(3).padStart(11)} ${(s.nats / Math.max(1, s.scoredTokens)).toFixed(4).padStart(11)}\n`,
      );
    });
    lm.dispose();
  });
  return cmd;
}
