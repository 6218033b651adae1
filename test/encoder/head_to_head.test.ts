/** The encoder against each other method text by text: counts and the better of two on hand-made rows. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headToHead, renderHeadToHead } from '../../src/encoder/head_to_head.js';
import type { OnePassRow } from '../../src/encoder/types.js';

const row = (N: number, right: number): OnePassRow => ({ N, firstError: right === N ? N : 0, accuracy: right / N, exact: right === N });

describe('headToHead', () => {
  const enc = { name: 'encoder', rows: [row(4, 4), row(4, 1), row(8, 2), row(8, 5)] };
  const nn = { name: 'nn-tokens', rows: [row(4, 2), row(4, 1), row(8, 8), row(8, 3)] };
  const mean = { name: 'mean-e', rows: [row(4, 0), row(4, 1), row(8, 0), row(8, 0)] };

  it('counts wins, ties and losses, and averages the better of the two per text', () => {
    const [a, b] = headToHead([enc, nn, mean]);
    assert.deepEqual({ ...a, better_of_two_token_accuracy: 0 }, { method: 'nn-tokens', encoder_better: 2, ties: 1, encoder_worse: 1, better_of_two_token_accuracy: 0, better_of_two_exact_match: 0.5 });
    assert.ok(Math.abs(a.better_of_two_token_accuracy - (1 + 0.25 + 1 + 5 / 8) / 4) < 1e-12);
    assert.equal(b.encoder_better, 3);
    assert.equal(b.ties, 1, 'level on the second text');
    assert.ok(Math.abs(b.better_of_two_token_accuracy - (1 + 0.25 + 0.25 + 5 / 8) / 4) < 1e-12, 'a method that never wins adds nothing');
    assert.equal(b.better_of_two_exact_match, 0.25);
  });

  it('is empty for the encoder alone, and refuses methods over other texts', () => {
    assert.deepEqual(headToHead([enc]), []);
    assert.deepEqual(headToHead([]), []);
    assert.throws(() => headToHead([enc, { name: 'short', rows: nn.rows.slice(1) }]), /short/);
  });

  it('renders one aligned line per method under the encoder\'s name', () => {
    const lines = renderHeadToHead('encoder (transformer)', headToHead([enc, nn, mean])).split('\n');
    assert.match(lines[0], /^encoder \(transformer\), text by text:/);
    assert.equal(lines.length, 4);
    assert.match(lines[2], /^\s*nn-tokens\s+2\s+1\s+1\s+0\.7188\s+0\.5000$/);
  });
});
