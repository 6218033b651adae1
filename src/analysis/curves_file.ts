/**
 * curves.arrow: every evaluated point of every path, one row per (pair, path, tau), as an Arrow
 * IPC file (pyarrow: `pa.ipc.open_file`, polars: `pl.read_ipc`), written atomically.
 */
import { Float32, Float64, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs_atomic.js';
import { type CurvePoint, type InterpolateRun, interpolateResult } from './interpolate.js';
import type { InterpolatePair, InterpolateResult } from './results.js';
import type { SolutionPairs } from './solutions.js';

/** The file's name beside result.json. */
export const CURVES_FILE = 'curves.arrow';

/** The table of `points` (pair indexes into `pairs`). */
export function curvesTable(points: readonly CurvePoint[], pairs: readonly InterpolatePair[]): Table {
  const col = <T>(f: (p: CurvePoint) => T): T[] => points.map(f);
  return new Table({
    pair: vectorFromArray(Int32Array.from(col((p) => p.pair))),
    text_id: vectorFromArray(col((p) => pairs[p.pair].textId), new Utf8()),
    restart_a: vectorFromArray(col((p) => pairs[p.pair].restartA), new Int32()),
    restart_b: vectorFromArray(col((p) => pairs[p.pair].restartB), new Int32()),
    path: vectorFromArray(col((p) => p.path), new Utf8()),
    tau: vectorFromArray(col((p) => p.tau), new Float64()),
    accuracy: vectorFromArray(col((p) => p.accuracy), new Float32()),
    loss: vectorFromArray(col((p) => p.loss), new Float32()),
  });
}

/** Write `points` to `file` (temporary file, fsync, rename). */
export async function writeCurvesFile(file: string, points: readonly CurvePoint[], pairs: readonly InterpolatePair[]): Promise<void> {
  await writeFileAtomic(file, tableToIPC(curvesTable(points, pairs), 'file'));
}

/**
 * Write an interpolate run into `out`: curves.arrow, config.json, then result.json last, so its
 * presence means the whole set is there. Returns the result.
 */
export async function writeInterpolateRun(out: string, run: InterpolateRun, input: SolutionPairs, config: { model: string }): Promise<InterpolateResult> {
  const result = interpolateResult(run, input, config.model, CURVES_FILE);
  await fsp.mkdir(out, { recursive: true });
  await writeCurvesFile(join(out, CURVES_FILE), run.curves, run.pairs);
  await writeFileAtomic(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  await writeFileAtomic(join(out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
