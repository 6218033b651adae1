/** What an encoder needs from the frozen LM and the training data to be built. */
import type { CausalLM } from '../lm/types.js';
import type { EStats } from './head.js';
import type { ReferenceSet } from './types.js';

export interface EncoderContext {
  /** The frozen LM (its config gives d and the vocabulary; lm-pool also reads its hidden states). */
  lm: CausalLM;
  /** BOS id of the LM's tokenizer, prepended by encoders that read the text through the LM. */
  bosId: number | null;
  /** Statistics of the training e the output head starts from. */
  stats: EStats;
  /** Solved training windows (retrieve-edit retrieves from them; the others ignore them). */
  reference?: ReferenceSet | null;
}
