/** Paths and JSON of the reference fixtures copied from ../shared/models (see their READMEs). */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/..., sources live beside). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const MODEL_FIXTURES = ['stories260k', 'tiny-random-neox', 'tiny-random-neox-seq'] as const;
export const CORPUS = join(ROOT, 'data', 'tinystories', 'stories.jsonl');
export const EMBEDDED_MODEL = join(ROOT, 'models', 'stories260k');
/** The universal m shipped with the N=8 encoder checkpoint, fitted to stories260k: texts solve with it in tens of steps. */
export const SHIPPED_M = join(ROOT, 'checkpoints', 'stories260k-n8', 'best', 'm.safetensors');

export function fixtureDir(name: string): string {
  return join(FIXTURES, name);
}

/** The first `count` stories of the embedded corpus. */
export function corpusStories(count: number): { id: string; text: string }[] {
  return readFileSync(CORPUS, 'utf8').trim().split('\n').slice(0, count).map((l) => JSON.parse(l) as { id: string; text: string });
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Per-position reference outputs (logits_first8, top5, logsumexp, argmax). */
export interface PositionRefs {
  logits_first8: number[][];
  top5: [number, number][][];
  logsumexp: number[];
  argmax: number[];
}

export interface Tolerance {
  logits_lse_abs: number;
  logits_lse_rel: number;
  loss_rel: number;
  grad_rel_to_max: number;
}

export interface GradCase {
  target_ids: number[];
  loss: number;
  grad_inputs_embeds: number[][];
  grad_max_abs: number;
}
