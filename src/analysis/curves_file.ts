/**
 * curves.arrow: every evaluated point of every path, one row per (pair, path, tau), as an Arrow
 * IPC file (pyarrow: `pa.ipc.open_file`, polars: `pl.read_ipc`), written atomically.
 */
import { Float32, Float64, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { writeFileAtomic } from '../util/fs_atomic.js';
import type { CurvePoint } from './interpolate.js';
import type { InterpolatePair } from './results.js';

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
