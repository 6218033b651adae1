/**
 * Synthetic rows and writer options shared by the dataset tests. Every value of a row is a pure
 * function of its text index, so a test can check any row it reads back without keeping state.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DatasetWriterOptions, SolutionRecord } from '../../src/datasets/index.js';

/** Embedding width of the synthetic datasets. */
export const D = 8;

/** Writer options of a small synthetic run; override any field. */
export function testOptions(over: Partial<DatasetWriterOptions> = {}): DatasetWriterOptions {
  return {
    kind: 'solve',
    model: { id: 'test/tiny', fingerprint: 'f'.repeat(64), tokenizerHash: 't'.repeat(64), dModel: D },
    arrangement: 'e-m-repeat',
    length: 5,
    init: 'randn * 0.02',
    m: 'per-text',
    solverConfig: { lr: 0.01, maxSteps: 100, nested: { beta1: 0.9 } },
    source: { name: 'synthetic', license: 'mit' },
    ...over,
  };
}

/** The text id of index i. */
export function idOf(i: number): string {
  return `t${i}`;
}

/** Index of a text id made by idOf. */
export function indexOf(id: string): number {
  return Number(id.slice(1));
}

/** The synthetic row of text i (restart r), with per-text m when `withM`. */
export function recordOf(i: number, withM = true, r = 0, d = D): SolutionRecord {
  const e = Float32Array.from({ length: d }, (_, j) => i + j / 16 + r);
  const rec: SolutionRecord = {
    textId: idOf(i),
    text: `Text number ${i} — ünïcödé ✓\nsecond line`,
    tokenIds: Int32Array.from({ length: 3 + (i % 4) }, (_, j) => i * 10 + j),
    e,
    seed: i * 1000 + r,
    restart: r,
    steps: 10 + i,
    accuracy: (i % 5) / 4,
    cTokens: i % 7,
    prefixLen: i % 3,
    loss: 0.5 + i,
    hLmNats: 1.25 * i + 1e-9,
    solved: i % 2 === 0,
    seconds: 0.25 * i,
  };
  if (withM) rec.m = Float32Array.from({ length: d }, (_, j) => -i - j / 32);
  return rec;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'prototoken-ds-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
