/**
 * The solver state of a stopped run, beside its part: `part-SSSSS-of-NNNNN.state.safetensors`.
 * Ctrl-C or SIGTERM ends a solve after the current step; the texts then in flight would start over
 * on the rerun. Instead their rows (e, m, AdamW moments, steps, patience, elapsed time) and, when
 * the best restart is kept, the finished restarts of unsettled texts are saved here, and the rerun
 * of the shard continues them where they stopped.
 *
 * Written atomically after the part's last batch; replaced by the next stop, deleted when the
 * shard finishes. A process killed outright (SIGKILL) saves nothing: its in-flight texts restart,
 * or continue from an older state file that is still there (its rows are still valid starts).
 * Tensors: `e`, `e_m1`, `e_m2` [rows, d] (and `m`, `m_m1`, `m_m2` when m is per text), `best_e`
 * (and `best_m`) [partial, d]; everything else is JSON in the header metadata (`state`).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, writeSafetensors, type F32Tensor } from '../lm/safetensors.js';
import type { PartialText, RowState, SolveResult, SolverCheckpoint } from '../solver/types.js';
import { errorMessage } from '../util/errors.js';
import { fsyncDir } from '../util/fs_atomic.js';

const STATE_FORMAT = 'prototoken-solver-state';

/** The state file of the part at `partPath`. */
export function stateFileFor(partPath: string): string {
  return partPath.replace(/\.arrows$/, '.state.safetensors');
}

/** What the header's `state` JSON holds besides the tensors. */
interface StateMeta {
  format: typeof STATE_FORMAT;
  version: 1;
  /** Target tokens per row and embedding width: a state of another shape is not loaded. */
  n: number;
  d: number;
  /** `solved_at`: absent in states written before polishing existed (read: not solved yet). */
  rows: { id: string; restart: number; seed: number; steps: number; best_loss: number | null; since_best: number; seconds: number; solved_at?: number | null }[];
  /** The best's `margin` is null when not measured (JSON has no NaN). */
  partial: { id: string; finished: number[]; best: Omit<SolveResult, 'e' | 'm' | 'targetIndex' | 'margin'> & { margin?: number | null; has_m: boolean } }[];
  written: string;
}

/** Save `checkpoint` beside the part (or remove a stale state when there is nothing in flight). Returns the rows saved. */
export async function saveSolverState(partPath: string, checkpoint: SolverCheckpoint, n: number, d: number): Promise<number> {
  const { rows, partial } = checkpoint;
  if (rows.length === 0 && partial.length === 0) {
    await removeSolverState(partPath);
    return 0;
  }
  const stack = (vs: readonly Float32Array[]): F32Tensor => {
    const data = new Float32Array(vs.length * d);
    vs.forEach((v, i) => data.set(v, i * d));
    return { shape: [vs.length, d], data };
  };
  const tensors: Record<string, F32Tensor> = { e: stack(rows.map((r) => r.e)), e_m1: stack(rows.map((r) => r.eM1)), e_m2: stack(rows.map((r) => r.eM2)) };
  const perTextM = rows.some((r) => r.m !== null);
  if (perTextM) {
    tensors.m = stack(rows.map((r) => r.m?.param ?? new Float32Array(d)));
    tensors.m_m1 = stack(rows.map((r) => r.m?.m1 ?? new Float32Array(d)));
    tensors.m_m2 = stack(rows.map((r) => r.m?.m2 ?? new Float32Array(d)));
  }
  tensors.best_e = stack(partial.map((p) => p.best.e));
  tensors.best_m = stack(partial.map((p) => p.best.m ?? new Float32Array(d)));
  // Tensors of no rows are left out (a reader finds them missing and needs none).
  for (const [name, t] of Object.entries(tensors)) if (t.shape[0] === 0) delete tensors[name];
  const meta: StateMeta = {
    format: STATE_FORMAT,
    version: 1,
    n,
    d,
    // JSON has no Infinity: a row that never scored a loss has none.
    rows: rows.map((r) => ({ id: r.id, restart: r.restart, seed: r.seed, steps: r.steps, best_loss: Number.isFinite(r.bestLoss) ? r.bestLoss : null, since_best: r.sinceBest, seconds: r.seconds, solved_at: r.solvedAt ?? null })),
    partial: partial.map((p) => {
      const b = p.best;
      const best = {
        id: b.id, restart: b.restart, seed: b.seed, steps: b.steps, accuracy: b.accuracy, cTokens: b.cTokens, prefixLen: b.prefixLen, loss: b.loss, seconds: b.seconds, solved: b.solved,
        margin: b.margin !== undefined && Number.isFinite(b.margin) ? b.margin : null, polishSteps: b.polishSteps ?? 0,
      };
      return { id: p.id, finished: p.finished, best: { ...best, has_m: b.m !== null } };
    }),
    written: new Date().toISOString(),
  };
  const file = stateFileFor(partPath);
  await writeSafetensors(file, tensors, { state: JSON.stringify(meta) });
  await fsyncDir(path.dirname(file));
  return rows.length;
}

/**
 * The saved state of the part at `partPath` for targets of `n` tokens and width `d`, or null when
 * there is none. A state that cannot be used (unreadable, another shape) is reported in `problem`
 * and not loaded: its texts then restart, which loses time, never correctness.
 */
export async function loadSolverState(partPath: string, n: number, d: number): Promise<{ checkpoint: SolverCheckpoint | null; problem: string | null }> {
  const file = stateFileFor(partPath);
  if (!(await fsp.stat(file).catch(() => null))) return { checkpoint: null, problem: null };
  let st: SafetensorsFile | null = null;
  try {
    st = await SafetensorsFile.open(file);
    const meta = JSON.parse(st.metadata.state ?? '') as StateMeta;
    if (meta.format !== STATE_FORMAT || meta.d !== d || meta.n !== n) throw new Error(`made for N=${meta.n}, d=${meta.d}; this run has N=${n}, d=${d}`);
    const read = async (name: string): Promise<Float32Array | null> => (st!.has(name) ? st!.read(name) : null);
    const [e, eM1, eM2, m, mM1, mM2, bestE, bestM] = await Promise.all(['e', 'e_m1', 'e_m2', 'm', 'm_m1', 'm_m2', 'best_e', 'best_m'].map(read));
    const rowOf = (a: Float32Array, i: number): Float32Array => a.slice(i * d, (i + 1) * d);
    const rows: RowState[] = meta.rows.map((r, i) => ({
      id: r.id, restart: r.restart, seed: r.seed, steps: r.steps, bestLoss: r.best_loss ?? Infinity, sinceBest: r.since_best, seconds: r.seconds, solvedAt: r.solved_at ?? null,
      e: rowOf(e!, i), eM1: rowOf(eM1!, i), eM2: rowOf(eM2!, i),
      m: m ? { param: rowOf(m, i), m1: rowOf(mM1!, i), m2: rowOf(mM2!, i) } : null,
    }));
    const partial: PartialText[] = meta.partial.map((p, i) => {
      const { has_m: hasM, margin, ...rest } = p.best;
      return { id: p.id, finished: p.finished, best: { ...rest, margin: margin ?? NaN, targetIndex: -1, e: rowOf(bestE!, i), m: hasM ? rowOf(bestM!, i) : null } };
    });
    return { checkpoint: { rows, partial }, problem: null };
  } catch (err) {
    return { checkpoint: null, problem: `${path.basename(file)} not loaded (${errorMessage(err).split('\n')[0]}): its texts start over` };
  } finally {
    await st?.close();
  }
}

/** Ids of the texts a part's saved state holds (in flight when its run stopped); reads the header only. */
export async function savedStateIds(partPath: string): Promise<string[]> {
  const file = stateFileFor(partPath);
  if (!(await fsp.stat(file).catch(() => null))) return [];
  let st: SafetensorsFile | null = null;
  try {
    st = await SafetensorsFile.open(file);
    const meta = JSON.parse(st.metadata.state ?? '') as StateMeta;
    return [...meta.rows.map((r) => r.id), ...meta.partial.map((p) => p.id)];
  } catch {
    return [];
  } finally {
    await st?.close();
  }
}

/** Remove the part's saved state (its shard finished). */
export async function removeSolverState(partPath: string): Promise<void> {
  await fsp.rm(stateFileFor(partPath), { force: true });
}
