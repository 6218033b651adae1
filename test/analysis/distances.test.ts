/** Distances between proto-token e by pair type: pair spaces, draws, statistics, dataset inputs and their errors. */
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { distanceGroup, distanceGroups, drawIndices, pairSpaces, renderDistances, type Solution } from '../../src/analysis/distances.js';
import { loadDistanceInputs } from '../../src/analysis/distance_inputs.js';
import { DISTANCE_PAIR_TYPES, type DistancePairType } from '../../src/analysis/results.js';
import { TfidfIndex } from '../../src/encoder/tfidf.js';
import { PrototokenError } from '../../src/util/errors.js';
import { Prng } from '../../src/util/prng.js';
import { D, FIXED_M, N, handMadeFolder, handMadeRows, writeSolutions } from './distance_fixtures.js';

/** The pair type of two solutions, by definition. */
function typeOf(a: Pick<Solution, 'textId' | 'context'>, b: Pick<Solution, 'textId' | 'context'>): DistancePairType {
  if (a.textId === b.textId) return 'same-text';
  return a.context === b.context ? 'same-context' : 'different-context';
}

const key = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`);

describe('pair spaces', () => {
  it('hold every pair exactly once, under its type, for any order of the solutions', () => {
    const rng = new Prng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = rng.int(0, 25);
      const items = Array.from({ length: n }, () => {
        const context = `c${rng.int(0, 4)}`;
        return { context, textId: `${context}#${rng.int(0, 3)}` };
      });
      const want = new Map<DistancePairType, Set<string>>(DISTANCE_PAIR_TYPES.map((t) => [t, new Set()]));
      for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) want.get(typeOf(items[a], items[b]))?.add(key(a, b));
      const spaces = pairSpaces(items);
      for (const t of DISTANCE_PAIR_TYPES) {
        const got = Array.from({ length: spaces[t].total }, (_, k) => spaces[t].pair(k)).map((p) => key(p.a, p.b));
        assert.equal(new Set(got).size, got.length, `${t}: a pair twice`);
        assert.deepEqual(new Set(got), want.get(t), `${t}, trial ${trial}`);
      }
    }
  });

  it('count the hand-made set by hand: 9 same-text, 36 same-context, 108 different-context pairs', () => {
    const items = [...handMadeRows(0), ...handMadeRows(1)].map((r) => ({ textId: r.id, context: r.id.split('#')[0] }));
    const spaces = pairSpaces(items);
    // 18 solutions; per context 6 solutions, C(6,2) - 3 same-text = 12 same-context; C(18,2) - 3 C(6,2) = 108.
    assert.deepEqual(DISTANCE_PAIR_TYPES.map((t) => spaces[t].total), [9, 36, 108]);
    assert.throws(() => spaces['same-text'].pair(9), RangeError);
  });
});

describe('drawing pairs', () => {
  it('takes every index when there are few, else max distinct ones, ascending, reproducibly', () => {
    assert.deepEqual(drawIndices(4, 10, new Prng(1)), [0, 1, 2, 3]);
    const a = drawIndices(1e6, 50, new Prng(3));
    assert.equal(a.length, 50);
    assert.equal(new Set(a).size, 50);
    assert.ok(a.every((k, i) => Number.isInteger(k) && k >= 0 && k < 1e6 && (i === 0 || a[i - 1] < k)));
    assert.deepEqual(drawIndices(1e6, 50, new Prng(3)), a);
    assert.notDeepEqual(drawIndices(1e6, 50, new Prng(4)), a);
    // Beyond 2^32 pairs (n ~ 93k solutions) the draw still spans the whole range.
    const big = drawIndices(2 ** 40, 200, new Prng(5));
    assert.ok(big[big.length - 1] > 2 ** 39 && big[big.length - 1] < 2 ** 40);
  });

  it('draws uniformly: each of 10 indices is in about 3 of 10 draws of 3', () => {
    const counts = new Array<number>(10).fill(0);
    const rng = new Prng(11);
    for (let t = 0; t < 4000; t++) for (const k of drawIndices(10, 3, rng)) counts[k]++;
    for (const c of counts) assert.ok(Math.abs(c / 4000 - 0.3) < 0.03, `frequencies ${counts}`);
  });
});

describe('statistics', () => {
  it('summarise hand-computed values', () => {
    const g = distanceGroup('same-context', [0.1, 0.2, 0.6], [0, 0.5, 1]);
    assert.equal(g.pairs, 3);
    assert.ok(Math.abs((g.cosine.mean ?? NaN) - 0.3) < 1e-12);
    assert.ok(Math.abs((g.cosine.std ?? NaN) - Math.sqrt(0.14 / 3)) < 1e-12);
    assert.equal(g.cosine.median, 0.2);
    assert.deepEqual([g.cosine.min, g.cosine.max], [0.1, 0.6]);
    assert.deepEqual([g.tfidf.mean, g.tfidf.median], [0.5, 0.5]);
    assert.ok(Math.abs((g.tfidf.std ?? NaN) - Math.sqrt(0.5 / 3)) < 1e-12);
    const empty = distanceGroup('same-text', [], []);
    assert.deepEqual([empty.pairs, empty.cosine.mean, empty.tfidf.median], [0, null, null]);
    assert.throws(() => distanceGroup('same-text', [1], []), /1 e distances but 0/);
  });

  it('TF-IDF similarity of two windows equals the index row-to-query similarity, and the sklearn formula', () => {
    const a = [1, 1, 2, 3];
    const b = [1, 4, 5, 6];
    const index = new TfidfIndex(Int32Array.from([...a, ...b]), 4);
    assert.ok(Math.abs(index.similarity(a, b) - index.similarities(a)[1]) < 1e-12);
    assert.ok(Math.abs(index.similarity(a, a) - 1) < 1e-12);
    // idf: token 1 in both texts: ln(3/3)+1 = 1; the others: ln(3/2)+1.
    const rare = Math.log(1.5) + 1;
    const want = 2 / (Math.sqrt(4 + 2 * rare ** 2) * Math.sqrt(1 + 3 * rare ** 2));
    assert.ok(Math.abs(index.similarity(a, b) - want) < 1e-12);
  });
});

describe('distances of the hand-made datasets', () => {
  const ds = handMadeFolder();

  it('order the pair types same-text < same-context < different-context, with the closed-form values', async () => {
    const inputs = await loadDistanceInputs([ds('seed0'), ds('seed1')]);
    assert.equal(inputs.solutions.length, 18);
    assert.deepEqual([inputs.N, inputs.d, inputs.model], [N, D, 'test/tiny']);
    assert.deepEqual(inputs.datasets.map((x) => [x.rows, x.used, x.restartColumn]), [[9, 9, false], [9, 9, false]]);
    const groups = distanceGroups(inputs.solutions, { maxPairs: 1000, seed: 0 });
    assert.deepEqual(groups.map((g) => [g.type, g.pairs]), [['same-text', 9], ['same-context', 36], ['different-context', 108]]);
    const [text, context, different] = groups;
    const sameText = 1 - Math.sqrt(20 / 20.09);
    for (const v of text.cosineValues) assert.ok(Math.abs(v - sameText) < 1e-6, `same-text ${v}`);
    assert.deepEqual(new Set(text.tfidfValues), new Set([0]));
    // Same context: 1 - 16/20 (both shift 0), 1 - 16.09/20.09 (both 1), 1 - 16/sqrt(20 * 20.09) (one of each).
    const sameContext = [0.2, 1 - 16.09 / 20.09, 1 - 16 / Math.sqrt(20 * 20.09)];
    for (const v of context.cosineValues) assert.ok(sameContext.some((x) => Math.abs(v - x) < 1e-6), `same-context ${v}`);
    for (const v of different.cosineValues) assert.ok(v > 0.79 && v <= 1 + 1e-6, `different-context ${v}`);
    assert.deepEqual(new Set(different.tfidfValues), new Set([1]));
    const mean = (g: (typeof groups)[number], f: 'cosine' | 'tfidf'): number => g[f].mean ?? NaN;
    assert.ok(mean(text, 'cosine') < mean(context, 'cosine') && mean(context, 'cosine') < mean(different, 'cosine'));
    assert.ok(mean(text, 'tfidf') < mean(context, 'tfidf') && mean(context, 'tfidf') < mean(different, 'tfidf'));
    const table = renderDistances(groups).join('\n');
    assert.match(table, /same-text\s+9\s+0\.0022 ± 0\.0000/);
    assert.match(table, /different-context\s+108/);
  });

  it('caps pairs per type with a seeded draw', async () => {
    const { solutions } = await loadDistanceInputs([ds('seed0'), ds('seed1')]);
    const a = distanceGroups(solutions, { maxPairs: 5, seed: 1 });
    assert.deepEqual(a.map((g) => g.pairs), [5, 5, 5]);
    assert.deepEqual(distanceGroups(solutions, { maxPairs: 5, seed: 1 }), a);
    assert.notDeepEqual(distanceGroups(solutions, { maxPairs: 5, seed: 2 })[2].cosineValues, a[2].cosineValues);
    assert.throws(() => distanceGroups(solutions, { maxPairs: 0 }), RangeError);
  });

  it('pairs restarts of one text within one dataset; leaves out unsolved rows and repeated solutions', async () => {
    const restarts = handMadeRows(0).flatMap((r) => [r, { ...r, seed: r.seed + 500, e: r.e.map((x, j) => (j === 7 ? 0.3 : x)) }]);
    restarts[0] = { ...restarts[0], solved: false };
    await writeSolutions(ds('restarts'), restarts);
    await cp(ds('seed1'), ds('seed1-copy'), { recursive: true });
    const inputs = await loadDistanceInputs([ds('restarts'), ds('seed1'), ds('seed1-copy')]);
    assert.equal(inputs.solutions.length, 17 + 9);
    assert.ok(inputs.notes.some((n) => n.includes('1 unsolved rows left out')), inputs.notes.join('\n'));
    assert.ok(inputs.notes.some((n) => n.includes('seed1-copy: 9 rows repeat a solution')), inputs.notes.join('\n'));
    const [text] = distanceGroups(inputs.solutions);
    // Per text: 2 restarts + 1 seed-1 row = 3 pairs, but ctx0#0 lost a restart: 8 * 3 + 1.
    assert.equal(text.pairs, 25);
    const withUnsolved = await loadDistanceInputs([ds('restarts')], { includeUnsolved: true });
    assert.equal(withUnsolved.solutions.length, 18);
  });

  it('refuses what makes e incomparable, naming the file and the fix', async () => {
    const refused = async (dirs: string[], ...patterns: RegExp[]): Promise<void> => {
      await assert.rejects(loadDistanceInputs(dirs), (err: unknown) => {
        assert.ok(err instanceof PrototokenError, String(err));
        for (const p of patterns) assert.match(err.message, p);
        assert.match(err.message, /\nFix: /);
        return true;
      });
    };
    const one = handMadeRows(0).slice(0, 1);
    await writeSolutions(ds('per-text'), one.map((r) => ({ ...r })), { m: 'per-text' });
    await refused([ds('per-text')], /per-text: m was learned per text/, /only comparable under one fixed m/, /fit-m .* --m m\.safetensors/);

    await writeSolutions(ds('n6'), [{ ...one[0], tokens: [1, 2, 3, 4, 5, 6] }], { length: 6 });
    await refused([ds('seed0'), ds('n6')], /n6: not comparable with .*seed0: N=6 vs N=4/, /same model, --length/);

    await writeSolutions(ds('other-m'), one, { m: FIXED_M.map((x) => -x) });
    await refused([ds('seed0'), ds('other-m')], /other-m: not comparable .*fixed m sha256/);

    await writeSolutions(ds('other-model'), one, {
      model: { id: 'test/other', fingerprint: 'a'.repeat(64), tokenizerHash: 't'.repeat(64), dModel: D },
      arrangement: 'e-mN',
    });
    await refused([ds('seed0'), ds('other-model')], /other-model: not comparable .*model test\/other .*; arrangement e-mN vs e-m-repeat/);

    await writeSolutions(ds('capacity'), one, { kind: 'capacity', length: null });
    await refused([ds('capacity')], /capacity: a capacity dataset: its rows have different lengths N/, /--length N/);

    await writeSolutions(ds('other-text'), [{ ...one[0], tokens: [9, 9, 9, 9], seed: 77 }]);
    await refused([ds('seed0'), ds('other-text')], /other-text: text 'ctx0#0' has other target tokens here than in .*seed0/, /--text-seed/);

    await refused([ds('seed0'), `${ds('seed0')}/`], /given twice/);
    await writeSolutions(ds('unsolved'), [{ ...one[0], solved: false }]);
    await refused([ds('unsolved')], /no solved rows to compare/, /--include-unsolved/);
    await refused([], /no dataset given/);
  });
});
