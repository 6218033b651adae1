/** An encoder's architecture as recorded in a checkpoint, and building one from it. */
import { PrototokenError } from '../util/errors.js';
import type { EncoderContext } from './context.js';
import { LM_POOL_DEFAULTS, LmPoolEncoder, type LmPoolEncoderOptions } from './lm_pool.js';
import { TRANSFORMER_DEFAULTS, TransformerEncoder, type TransformerEncoderOptions } from './transformer.js';
import { RETRIEVE_EDIT_DEFAULTS, RetrieveEditEncoder, type RetrieveEditEncoderOptions } from './retrieve_edit.js';
import type { ProtoEncoder } from './types.js';

export type EncoderSpec =
  | { kind: 'transformer'; options: TransformerEncoderOptions }
  | { kind: 'lm-pool'; options: LmPoolEncoderOptions }
  | { kind: 'retrieve-edit'; options: RetrieveEditEncoderOptions };

/** Fill in defaults for the options a user gave. */
export function encoderSpec(kind: string, given: Record<string, unknown>): EncoderSpec {
  const pick = <T extends object>(defaults: T): T => {
    const out = { ...defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) if (k in defaults && v !== undefined) out[k] = v;
    return out as T;
  };
  if (kind === 'transformer') return { kind, options: pick(TRANSFORMER_DEFAULTS) };
  if (kind === 'lm-pool') return { kind, options: pick(LM_POOL_DEFAULTS) };
  if (kind === 'retrieve-edit') return { kind, options: pick(RETRIEVE_EDIT_DEFAULTS) };
  throw new PrototokenError(`unknown encoder architecture "${kind}"`, { fix: 'use transformer, lm-pool or retrieve-edit' });
}

export function buildEncoder(spec: EncoderSpec, ctx: EncoderContext): ProtoEncoder {
  switch (spec.kind) {
    case 'transformer':
      return new TransformerEncoder(ctx, spec.options);
    case 'lm-pool':
      return new LmPoolEncoder(ctx, spec.options);
    case 'retrieve-edit':
      return new RetrieveEditEncoder(ctx, spec.options);
  }
}
