/**
 * What the analysis experiments that run the solver (`arrangements`, `sharing`) share: their config
 * keys, the texts they solve, and the recipe every one of their cells is computed under.
 */
import { z } from 'zod';
import type { LoadedModel } from '../lm/load.js';
import { baseSchema } from '../lm/open_model.js';
import type { TextTokenizer } from '../lm/tokenizer.js';
import { SOLVER_RECIPE, solverSchema } from '../solver/config.js';
import type { SolveTarget } from '../solver/types.js';
import { type TextItem, prepareTargets } from '../texts/targets.js';
import { readTexts } from '../texts/text_file.js';
import { WINDOW_RECIPE, windowOptionsOf, windowSchema } from '../texts/window_config.js';
import { windowTargets } from '../texts/windows.js';

/** Config keys of every solving analysis command (each adds its own). */
export const solvingAnalysisSchema = baseSchema.merge(solverSchema).merge(windowSchema).extend({
  /** Corpus file: JSONL or plain text. */
  texts: z.string().min(1),
  /** The first K texts (each cut into windows with --window); null = all. */
  limit: z.number().int().min(1).nullable().default(32),
  /** Output folder: cells/ as they finish, then result.json and config.json. */
  out: z.string().min(1),
});

export type SolvingAnalysisConfig = z.infer<typeof solvingAnalysisSchema>;

/**
 * The texts of a run, each with its token ids (tokenized once, at most `maxTokens` of them: the
 * model's positions bound every N): the first --limit texts, or their windows.
 */
export async function loadRunTexts(config: SolvingAnalysisConfig, tokenizer: TextTokenizer, onNote: (line: string) => void, maxTokens: number): Promise<TextItem[]> {
  const all = await readTexts(config.texts);
  const texts = config.limit === null ? all : all.slice(0, config.limit);
  const windows = windowOptionsOf(config);
  if (!windows) return texts.map((t) => ({ id: t.id, text: t.text, ids: tokenizer.encodePrefix(t.text, maxTokens) }));
  const cut = windowTargets(texts, tokenizer, windows, config.texts);
  for (const s of cut.tooShort) onNote(`skipped "${s.id}": ${s.tokens} tokens < --window ${windows.window}`);
  return cut.targets.map((t) => ({ id: t.id, text: t.text, ids: Array.from(t.ids) }));
}

/** The first N tokens of every text long enough (the others are reported and skipped). */
export function targetsAt(texts: readonly TextItem[], tokenizer: TextTokenizer, N: number, file: string, onNote: (line: string) => void): SolveTarget[] {
  const prepared = prepareTargets(texts, tokenizer, N, file);
  for (const s of prepared.tooShort) onNote(`skipped "${s.id}" at N=${N}: ${s.tokens} tokens`);
  return prepared.targets;
}

/** What decides every cell of a run besides the cell's own settings: the solver recipe, the seed and the exact weights. */
export async function baseRecipe(config: SolvingAnalysisConfig, model: LoadedModel): Promise<Record<string, unknown>> {
  return { ...SOLVER_RECIPE.with(WINDOW_RECIPE).pick(config), model: await model.fingerprint() };
}
