/**
 * localization(): same-text against other-text distances and nearest neighbours, on points whose
 * answer is known: tight clusters per text (localized), and points where every text's solutions
 * are spread like the others' (not localized).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localization } from '../../src/analysis/localized.js';
import { Prng } from '../../src/util/prng.js';

const near = (x: number): boolean => Math.abs(x) < 1e-9;

test('tight clusters per text: same-text distances small, every nearest neighbour of the same text', () => {
  const rng = new Prng(1);
  const points = ['a', 'b', 'c'].flatMap((textId, t) =>
    Array.from({ length: 3 }, () => ({ textId, x: Float32Array.from({ length: 4 }, (_, j) => (j === t ? 10 : 0) + 0.01 * rng.normal()) })));
  const l = localization(points);
  assert.deepEqual([l.solutions, l.texts], [9, 3]);
  assert.equal(l.sameText.mean !== null && l.sameText.mean < 0.1, true, `same ${l.sameText.mean}`);
  assert.ok(Math.abs((l.otherText.mean ?? 0) - 10 * Math.SQRT2) < 0.1, `other ${l.otherText.mean}`);
  assert.ok((l.ratio ?? 1) < 0.01);
  assert.equal(l.nearestSameText, 1);
  assert.ok(near((l.nearestSameTextByChance ?? 0) - 2 / 8));
  assert.ok((l.sameTextCosine.mean ?? 1) < 1e-3 && Math.abs((l.otherTextCosine.mean ?? 0) - 1) < 1e-3, 'orthogonal clusters');
});

test('pairs are counted once each way; exact distances on a small case; a text with one solution has no nearest-neighbour say', () => {
  const l = localization([
    { textId: 'a', x: Float32Array.from([0, 0]) },
    { textId: 'a', x: Float32Array.from([3, 4]) },
    { textId: 'b', x: Float32Array.from([0, 1]) },
  ]);
  assert.equal(l.sameText.mean, 5);
  assert.ok(near((l.otherText.mean ?? 0) - (1 + Math.hypot(3, 3)) / 2));
  // a0's nearest is b (1 < 5); a1's nearest is b (4.24 < 5): neither is of its own text. b has no other solution of its text.
  assert.equal(l.nearestSameText, 0);
  assert.ok(near((l.nearestSameTextByChance ?? 0) - 0.5));
  const random = localization(Array.from({ length: 40 }, (_, i) => ({ textId: `t${i % 10}`, x: new Prng(i + 7).normals(16) })));
  assert.ok(Math.abs((random.ratio ?? 0) - 1) < 0.15, `random points: ratio ${random.ratio}`);
});
