/** Baselines from a reference set: hand-made windows whose answers are known, plus brute force on random data. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baselineE, copyFlags, exactCopies, meanE, nearestByTokens } from '../../src/encoder/baselines.js';
import { TfidfIndex } from '../../src/encoder/tfidf.js';
import type { ReferenceSet } from '../../src/encoder/types.js';
import { Prng } from '../../src/util/prng.js';
import { PrototokenError } from '../../src/util/errors.js';

/** Windows of N tokens; row r's e is [r, r + 0.5, -r] so a gathered e names its row. */
function reference(rows: number[][], d = 3): ReferenceSet {
  const N = rows[0].length;
  const e = new Float32Array(rows.length * d);
  rows.forEach((_, r) => e.set([r, r + 0.5, -r].slice(0, d), r * d));
  return { N, d, textIds: rows.map((_, r) => `t${r}`), ids: Int32Array.from(rows.flat()), e };
}

/** Which reference row each gathered e is (by its first coordinate). */
function rowsOf(e: Float32Array, d = 3): number[] {
  return Array.from({ length: e.length / d }, (_, i) => e[i * d]);
}

const windows = [
  [1, 2, 3, 4],
  [1, 2, 9, 9],
  [5, 2, 3, 4],
  [1, 2, 3, 4], // a duplicate of row 0: ties go to row 0
];

describe('nn-tokens', () => {
  const ref = reference(windows);
  it('picks the window with the most same-position tokens, lowest index on ties', () => {
    const queries = Int32Array.from([1, 2, 3, 4, 5, 2, 3, 9, 7, 7, 7, 7, 0, 0, 9, 9, 4, 3, 2, 1]);
    assert.deepEqual(Array.from(nearestByTokens(ref, queries)), [0, 2, 0, 1, 0]);
    assert.deepEqual(rowsOf(baselineE('nn-tokens', ref, queries)), [0, 2, 0, 1, 0]);
  });

  it('compares only the overlapping positions when the query N differs', () => {
    assert.deepEqual(Array.from(nearestByTokens(ref, Int32Array.from([5, 2, 7, 7]), 2)), [2, 0]);
    assert.deepEqual(Array.from(nearestByTokens(ref, Int32Array.from([0, 0, 9, 9, 3, 3]), 6)), [1]);
  });

  it('agrees with brute force on 2000 random references', () => {
    const rng = new Prng(5);
    const N = 12;
    const n = 2000;
    const big: ReferenceSet = { N, d: 1, textIds: Array.from({ length: n }, String), ids: Int32Array.from({ length: n * N }, () => rng.int(0, 6)), e: new Float32Array(n) };
    const queries = Int32Array.from({ length: 50 * N }, () => rng.int(0, 6));
    const got = nearestByTokens(big, queries);
    for (let i = 0; i < 50; i++) {
      let best = 0;
      let bestCount = -1;
      for (let r = 0; r < n; r++) {
        let c = 0;
        for (let p = 0; p < N; p++) if (big.ids[r * N + p] === queries[i * N + p]) c++;
        if (c > bestCount) [best, bestCount] = [r, c];
      }
      assert.equal(got[i], best, `query ${i}`);
    }
  });
});

describe('nn-tfidf', () => {
  const rows = [
    [1, 1, 20, 21],
    [1, 30, 31, 32],
    [1, 40, 41, 42],
    [50, 51, 52, 53],
  ];
  const index = new TfidfIndex(Int32Array.from(rows.flat()), 4);

  it('uses sklearn smooth idf and l2-normalised counts', () => {
    assert.ok(Math.abs((index.idf.get(1) as number) - (Math.log(5 / 4) + 1)) < 1e-12);
    assert.ok(Math.abs((index.idf.get(30) as number) - (Math.log(5 / 2) + 1)) < 1e-12);
    // Query [1, 30, 60, 61]: 60 and 61 are unknown to the reference and dropped (as sklearn's transform).
    const i1 = Math.log(5 / 4) + 1;
    const ir = Math.log(5 / 2) + 1;
    const q = [i1, ir].map((v) => v / Math.hypot(i1, ir)); // weights of tokens 1, 30
    const expected = [
      (q[0] * 2 * i1) / Math.hypot(2 * i1, ir, ir),
      (q[0] * i1 + q[1] * ir) / Math.hypot(i1, ir, ir, ir),
      (q[0] * i1) / Math.hypot(i1, ir, ir, ir),
      0,
    ];
    const sims = index.similarities([1, 30, 60, 61]);
    expected.forEach((v, r) => assert.ok(Math.abs(sims[r] - v) < 1e-12, `row ${r}: ${sims[r]} vs ${v}`));
    assert.ok(sims[1] > sims[0] && sims[0] > sims[2] && sims[2] > sims[3], 'rare shared token > repeated common token > one common token > none');
  });

  it('is a bag of tokens: a permutation finds its window; no known token goes to row 0', () => {
    const ref = reference(rows);
    const queries = Int32Array.from([21, 20, 1, 1, 53, 52, 51, 50, 1, 30, 60, 61, 90, 91, 92, 93]);
    assert.deepEqual(rowsOf(baselineE('nn-tfidf', ref, queries)), [0, 3, 1, 0]);
    const self = index.similarities([53, 52, 51, 50]);
    assert.ok(Math.abs(self[3] - 1) < 1e-12);
  });

  it('takes queries of another N', () => {
    assert.deepEqual(Array.from(index.nearest(Int32Array.from([40, 41, 1, 31, 32, 1]), 3)), [2, 1]);
  });
});

describe('mean-e, random and exact copies', () => {
  it('mean-e is the exact mean, repeated for every query', () => {
    const ref: ReferenceSet = { N: 2, d: 3, textIds: ['a', 'b', 'c', 'd'], ids: new Int32Array(8), e: Float32Array.from([0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8.5]) };
    assert.deepEqual(Array.from(meanE(ref)), [3, 4, 5.125]);
    assert.deepEqual(Array.from(baselineE('mean-e', ref, new Int32Array(6))), [3, 4, 5.125, 3, 4, 5.125, 3, 4, 5.125]);
  });

  it('random is N(0,1) from the seed, reproducible', () => {
    const ref = reference(windows, 3);
    ref.d = 64;
    ref.e = new Float32Array(4 * 64);
    const queries = new Int32Array(200 * 4);
    const a = baselineE('random', ref, queries, { seed: 11 });
    assert.equal(a.length, 200 * 64);
    assert.deepEqual(a, baselineE('random', ref, queries, { seed: 11 }));
    assert.notDeepEqual(a, baselineE('random', ref, queries, { seed: 12 }));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    assert.ok(Math.abs(mean) < 0.03 && Math.abs(std - 1) < 0.03, `mean ${mean}, std ${std}`);
  });

  it('exactCopies counts queries equal to a reference window (prefixes when N differs); copyFlags marks which', () => {
    const ref = reference(windows);
    assert.equal(exactCopies(ref, Int32Array.from([1, 2, 3, 4, 1, 2, 9, 8, 5, 2, 3, 4, 1, 2, 3, 4])), 3);
    assert.equal(exactCopies(ref, Int32Array.from([1, 2, 5, 2, 2, 1]), 2), 2);
    assert.deepEqual(Array.from(copyFlags(ref, Int32Array.from([1, 2, 3, 4, 1, 2, 9, 8, 5, 2, 3, 4, 1, 2, 3, 4]))), [1, 0, 1, 1]);
    assert.deepEqual(Array.from(copyFlags(ref, Int32Array.from([1, 2, 5, 2, 2, 1]), 2)), [1, 1, 0]);
  });

  it('an empty reference is a user error; a malformed one is a bug', () => {
    const empty: ReferenceSet = { N: 4, d: 3, textIds: [], ids: new Int32Array(0), e: new Float32Array(0) };
    assert.throws(() => baselineE('mean-e', empty, new Int32Array(4)), PrototokenError);
    assert.throws(() => baselineE('nn-tfidf', empty, new Int32Array(4)), PrototokenError);
    assert.throws(() => nearestByTokens({ ...reference(windows), textIds: ['x'] }, new Int32Array(4)), /do not fit/);
    assert.throws(() => baselineE('nn-tokens', reference(windows), new Int32Array(5)), /do not split/);
  });
});
