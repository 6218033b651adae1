/**
 * Starting points for e (and per-text m). Each (text, restart) row draws from its own PRNG stream
 * derived from the run seed and the text's id, so a text gets the same start whatever batch,
 * shard or resume it is solved in.
 */
import { promises as fsp } from 'node:fs';
import { embeddingStd } from '../lm/embeddings.js';
import type { CausalLM } from '../lm/types.js';
import { readVector } from '../lm/vector_file.js';
import { Prng, deriveSeed } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';

/**
 * normal: N(0, 1) per coordinate (the paper). scaled: N(0, 1) * scale. vector: one shared start for
 * every text (e.g. the mean of earlier solutions). perText: a start per text id (from a dataset).
 */
export type InitSpec =
  | { kind: 'normal' }
  | { kind: 'scaled'; scale: number }
  | { kind: 'vector'; e: Float32Array; source: string }
  | { kind: 'perText'; e: ReadonlyMap<string, Float32Array>; source: string };

/** Stable 32-bit FNV-1a hash of a text id. */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The seed of restart `restart` of text `textId` in a run seeded with `seed`. */
export function rowSeed(seed: number, textId: string, restart: number): number {
  return deriveSeed(deriveSeed(seed, hashId(textId)), restart);
}

/** The starting e of one row, and a per-text m (N(0,1) scaled like e's normal draws) when asked. */
export function initialRow(
  spec: InitSpec,
  d: number,
  textId: string,
  seed: number,
  withM: boolean,
): { e: Float32Array; m: Float32Array | null } {
  const rng = new Prng(seed);
  const scale = spec.kind === 'scaled' ? spec.scale : 1;
  let e: Float32Array;
  if (spec.kind === 'vector') {
    e = Float32Array.from(spec.e);
  } else if (spec.kind === 'perText') {
    const v = spec.e.get(textId);
    if (!v) {
      throw new PrototokenError(`no starting vector for text "${textId}"`, {
        file: spec.source,
        fix: 'init from a dataset that holds every text being solved, or use --init normal',
      });
    }
    e = Float32Array.from(v);
  } else {
    e = rng.normals(d, scale);
  }
  if (e.length !== d) {
    throw new PrototokenError(`the starting vector has ${e.length} values but the model needs d=${d}`, {
      file: spec.kind === 'vector' || spec.kind === 'perText' ? spec.source : undefined,
    });
  }
  return { e, m: withM ? rng.normals(d, scale) : null };
}

/** A short description recorded in dataset_info.json. */
export function describeInit(spec: InitSpec): string {
  switch (spec.kind) {
    case 'normal':
      return 'normal: N(0,1) per coordinate';
    case 'scaled':
      return `scaled: N(0,1) x ${spec.scale}`;
    case 'vector':
      return `vector: one shared start from ${spec.source}`;
    case 'perText':
      return `perText: per-text starts from ${spec.source}`;
  }
}

/**
 * `--init normal | scaled | embed-std | FILE.safetensors | FOLDER` as an InitSpec. A folder is a
 * solution dataset whose e become per-text starts; the dataset layer reads it (`perTextFrom`), since
 * the solver sits below it.
 */
export async function loadInitSpec(
  init: string,
  scale: number,
  lm: CausalLM,
  perTextFrom: (dir: string) => Promise<ReadonlyMap<string, Float32Array>>,
): Promise<InitSpec> {
  if (init === 'normal') return scale === 1 ? { kind: 'normal' } : { kind: 'scaled', scale };
  if (init === 'scaled') return { kind: 'scaled', scale };
  if (init === 'embed-std') return { kind: 'scaled', scale: scale * embeddingStd(lm) };
  const stat = await fsp.stat(init).catch(() => null);
  if (!stat) {
    throw new PrototokenError(`--init "${init}" is neither a known choice nor an existing file`, {
      fix: 'use normal, scaled, embed-std, a .safetensors file with one vector "e", or a solution dataset folder',
    });
  }
  if (stat.isDirectory()) return { kind: 'perText', e: await perTextFrom(init), source: init };
  return { kind: 'vector', e: await readVector(init, 'e', lm.config.hiddenSize, null), source: init };
}
