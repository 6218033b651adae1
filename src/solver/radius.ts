/**
 * How far inside its solution set a solution sits: the largest radius r such that e + r u still
 * makes the LM emit the whole text for every one of K random unit directions u (a sample: more
 * directions can only shrink it). A solution the solver left at its first solved pass sits on the
 * edge (r near 0); a polished one deeper. Only e moves; m (fixed or the row's own) stays.
 *
 * Per row, the radius is bisected on [0, |e|] (doubled while still inside, a few times), with the
 * same K directions at every radius; every row and direction of one bisection step share forwards.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../lm/types.js';
import { type Arrangement, checkPositions, layoutFor } from './arrangements.js';
import { scoreRows } from './step.js';
import { Prng, deriveSeed } from '../util/prng.js';
import { PrototokenError } from '../util/errors.js';

/** One solution to measure. */
export interface RadiusRow {
  /** [d] */
  e: Float32Array;
  /** Its own m [d] when m is per text; null with a fixed m. */
  m: Float32Array | null;
  /** The N target tokens. */
  ids: Int32Array;
}

/** How the radius is searched. */
export interface RadiusOptions {
  /** Random unit directions per row: the sample that must all stay at 100%. Default 16. */
  directions: number;
  /** Bisection steps (the radius is known to within |e| / 2^steps: an edge solution's room is often below |e| / 1000). Default 16. */
  bisections: number;
  /** Times the upper end doubles while every direction is still inside. Default 3. */
  doublings: number;
  /** Rows (solutions x directions) per forward. Default 512. */
  maxRows: number;
  /** Seed of the directions; row i draws from deriveSeed(seed, i). Default 0. */
  seed: number;
}

export const RADIUS_DEFAULTS: RadiusOptions = { directions: 16, bisections: 16, doublings: 3, maxRows: 512, seed: 0 };

/** What was found per row. */
export interface RadiusResult {
  /** The largest radius found at which every direction kept the text; 0 when the row is not reproduced itself. */
  radius: number;
  /** radius / |e|. */
  relative: number;
  /** The search never left the solution set: the radius is a lower bound. */
  capped: boolean;
}

/**
 * The radius of every row (all of one N), with `fixedM` [d] when the rows have no m of their own
 * (null also when the arrangement uses no m).
 */
export async function perturbationRadii(
  lm: CausalLM,
  arrangement: Arrangement,
  fixedM: Float32Array | null,
  rows: readonly RadiusRow[],
  options: Partial<RadiusOptions> = {},
): Promise<RadiusResult[]> {
  const opts = { ...RADIUS_DEFAULTS, ...options };
  if (!Number.isInteger(opts.directions) || opts.directions < 1) {
    throw new PrototokenError(`the radius needs at least one direction per row, got ${opts.directions}`, { fix: 'use --radius-directions 1 or more (16 is the default)' });
  }
  if (rows.length === 0) return [];
  const d = lm.config.hiddenSize;
  const N = rows[0].ids.length;
  checkPositions(arrangement, N, lm.config.maxPositions);
  const layout = layoutFor(arrangement, N);
  const K = opts.directions;
  const norms = rows.map((r) => Math.hypot(...r.e));
  const dirs = rows.map((_, i) => unitDirections(new Prng(deriveSeed(opts.seed, i)), K, d));
  const inside = async (radii: readonly number[]): Promise<boolean[]> => allKept(lm, layout, fixedM, rows, dirs, radii, K, opts.maxRows);

  const lo = new Array<number>(rows.length).fill(0);
  const hi = norms.slice();
  const [atZero, atTop] = [await inside(lo), await inside(hi)];
  const capped = atZero.map(() => false);
  for (let i = 0; i < rows.length; i++) if (atTop[i]) lo[i] = hi[i];
  // While every direction is still inside at the top, look further out.
  for (let k = 0; k < opts.doublings && rows.some((_, i) => atZero[i] && lo[i] === hi[i]); k++) {
    const open = rows.map((_, i) => atZero[i] && lo[i] === hi[i]);
    const further = await inside(hi.map((h, i) => (open[i] ? 2 * h : h)));
    for (let i = 0; i < rows.length; i++) {
      if (!open[i]) continue;
      if (further[i]) lo[i] = hi[i] = 2 * hi[i];
      else hi[i] = 2 * hi[i];
    }
  }
  for (let i = 0; i < rows.length; i++) capped[i] = atZero[i] && lo[i] === hi[i];
  for (let s = 0; s < opts.bisections; s++) {
    const mid = lo.map((l, i) => (l + hi[i]) / 2);
    const ok = await inside(mid);
    for (let i = 0; i < rows.length; i++) {
      if (!atZero[i] || capped[i]) continue;
      if (ok[i]) lo[i] = mid[i];
      else hi[i] = mid[i];
    }
  }
  return rows.map((_, i) => {
    const radius = atZero[i] ? lo[i] : 0;
    return { radius, relative: norms[i] > 0 ? radius / norms[i] : 0, capped: capped[i] };
  });
}

/** K random unit vectors of width d, [K * d]. */
function unitDirections(rng: Prng, K: number, d: number): Float32Array {
  const out = rng.normals(K * d);
  for (let k = 0; k < K; k++) {
    const v = out.subarray(k * d, (k + 1) * d);
    const n = Math.hypot(...v);
    for (let j = 0; j < d; j++) v[j] /= n;
  }
  return out;
}

/** Per row: whether e + radius u reproduces the text for every direction u of the row. */
async function allKept(
  lm: CausalLM,
  layout: ReturnType<typeof layoutFor>,
  fixedM: Float32Array | null,
  rows: readonly RadiusRow[],
  dirs: readonly Float32Array[],
  radii: readonly number[],
  K: number,
  maxRows: number,
): Promise<boolean[]> {
  const d = rows[0].e.length;
  const N = rows[0].ids.length;
  const per = Math.max(1, Math.floor(maxRows / K));
  const kept = new Array<boolean>(rows.length).fill(true);
  for (let s = 0; s < rows.length; s += per) {
    const c = Math.min(per, rows.length - s);
    const e = new Float32Array(c * K * d);
    const ids = new Int32Array(c * K * N);
    const ownM = rows[s].m ? new Float32Array(c * K * d) : null;
    for (let i = 0; i < c; i++) {
      const row = rows[s + i];
      for (let k = 0; k < K; k++) {
        const at = (i * K + k) * d;
        for (let j = 0; j < d; j++) e[at + j] = row.e[j] + radii[s + i] * dirs[s + i][k * d + j];
        ids.set(row.ids, (i * K + k) * N);
        ownM?.set(row.m as Float32Array, at);
      }
    }
    const full = tf.tidy(() => {
      const m = ownM ? tf.tensor2d(ownM, [c * K, d]) : layout.usesM && fixedM ? tf.tensor2d(fixedM, [1, d]) : null;
      const { hits } = scoreRows(lm, layout, tf.tensor2d(ids, [c * K, N], 'int32'), tf.tensor2d(e, [c * K, d]), m);
      return tf.min(hits, 1); // [c*K]: 1 when every token is right
    });
    const host = await full.data();
    full.dispose();
    for (let i = 0; i < c; i++) for (let k = 0; k < K; k++) if (host[i * K + k] < 1) kept[s + i] = false;
  }
  return kept;
}
