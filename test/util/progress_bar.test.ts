// Training progress: plain lines (content, ETA from this process's steps only, quiet, log gating)
// and the cli-progress bar drawn on a fake terminal (renders, keeps messages, stops cleanly).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainProgress, formatMetrics, type BarStream } from '../../src/util/progress_bar.js';

/** A clock the test moves by hand, in milliseconds. */
function clock(startMs = 1_000_000): { now: () => number; advance: (s: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (s) => void (t += s * 1000) };
}

/** A stream that records what is written to it. */
function fakeTerminal(isTTY: boolean): BarStream & { out: string[] } {
  const out: string[] = [];
  return {
    out,
    isTTY,
    columns: 120,
    write(chunk: string, cb?: (err?: Error | null) => void) {
      out.push(chunk);
      cb?.();
      return true;
    },
  };
}

test('plain mode: one line per log step with percentage, metrics, elapsed and ETA', () => {
  const c = clock();
  const lines: string[] = [];
  const p = new TrainProgress({ total: 2000, tty: false, write: (l) => lines.push(l), now: c.now });
  c.advance(62);
  p.update(120, { loss: 1.2344, acc: 0.5119 }, true);
  c.advance(1);
  p.update(121, { loss: 1.2 }); // not a log step: nothing
  p.update(121, { loss: 1.2 }, false);
  c.advance(1);
  p.update(2000, { loss: 0.00001234 }, true);
  p.stop();
  assert.deepEqual(lines, [
    // 120 steps in 62 s -> 1880 left take 971.3 s
    'step 120/2000 (6.0%) loss 1.234 acc 0.512 | 1m2s elapsed, ETA 16m11s',
    'step 2000/2000 (100.0%) loss 1.23e-5 | 1m4s elapsed, ETA 0.0s',
  ]);
});

test('plain mode: the ETA counts only the steps of this process after a resume', () => {
  const c = clock();
  const lines: string[] = [];
  const p = new TrainProgress({ total: 1000, start: 900, tty: false, write: (l) => lines.push(l), now: c.now });
  p.update(900, {}, true); // nothing done yet: no rate
  c.advance(10);
  p.update(950, { loss: 2 }, true); // 50 steps in 10 s -> 50 left take 10 s (not 950 steps' worth)
  assert.deepEqual(lines, ['step 900/1000 (90.0%) | 0.0s elapsed, ETA ?', 'step 950/1000 (95.0%) loss 2.000 | 10.0s elapsed, ETA 10.0s']);
});

test('plain mode: messages pass through; quiet prints nothing at all', () => {
  const lines: string[] = [];
  const p = new TrainProgress({ total: 10, tty: false, write: (l) => lines.push(l) });
  p.message('checkpoint saved');
  assert.deepEqual(lines, ['checkpoint saved']);

  const quiet: string[] = [];
  const stream = fakeTerminal(true);
  const q = new TrainProgress({ total: 10, quiet: true, stream, write: (l) => quiet.push(l) });
  q.update(5, { loss: 1 }, true);
  q.message('hello');
  q.stop();
  assert.deepEqual(quiet, []);
  assert.deepEqual(stream.out, []);
});

test('by default a stream that is not a terminal gets plain lines', () => {
  const lines: string[] = [];
  const pipe = fakeTerminal(false);
  const p = new TrainProgress({ total: 4, stream: pipe, write: (l) => lines.push(l) });
  p.update(1, { loss: 1 }, true);
  p.stop();
  assert.equal(lines.length, 1);
  assert.deepEqual(pipe.out, []);
});

test('TTY mode on a fake terminal: bar with metrics, messages above it, clean stop', async () => {
  const c = clock();
  const term = fakeTerminal(true);
  const lines: string[] = [];
  const p = new TrainProgress({ total: 100, start: 20, stream: term, write: (l) => lines.push(l), now: c.now });
  for (let s = 21; s <= 60; s++) {
    c.advance(0.5);
    p.update(s, { loss: 10 / s, acc: s / 100 }, s % 10 === 0);
  }
  p.message('eval acc 0.600');
  await new Promise((r) => setTimeout(r, 150)); // let the bar's redraw timer fire at least once
  p.update(100, { loss: 0.1, acc: 1 });
  p.stop();
  p.stop(); // idempotent
  const text = term.out.join('');
  assert.deepEqual(lines, [], 'no plain lines in TTY mode');
  assert.ok(text.includes('eval acc 0.600\n'), 'the message is printed');
  assert.match(text, /\[#{10,}-*\] 60\/100 \(60\.0%\) 20\.0s elapsed, ETA 20\.0s \| loss 0\.167 acc 0\.600/);
  assert.match(text, /\[#{24}\] 100\/100 \(100\.0%\) 20\.0s elapsed, ETA 0\.0s \| loss 0\.100 acc 1\.000/);
  assert.ok(text.endsWith('\n'), 'stop leaves the cursor on a fresh line');
  assert.ok(!text.includes('\x1B[?25l') && !text.includes('\x1B[?7l'), 'cursor and line wrapping are left alone');

  const before = term.out.length;
  p.update(100, { loss: 0 });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(term.out.length, before, 'nothing is drawn after stop');
  p.message('after the bar');
  assert.equal(term.out.at(-1), 'after the bar\n');
});

test('tty: true forces the bar onto a stream that is not a terminal', () => {
  const pipe = fakeTerminal(false);
  const p = new TrainProgress({ total: 3, tty: true, stream: pipe, write: () => assert.fail('no plain lines') });
  p.update(3, { loss: 1 }, true);
  p.stop();
  assert.match(pipe.out.join(''), /\[#{24}\] 3\/3 \(100\.0%\) .*elapsed, ETA \S+ \| loss 1\.000/);
});

test('formatMetrics and argument checks', () => {
  assert.equal(formatMetrics({ loss: 1.23456, lr: 0.0003, big: 123456, zero: 0, bad: NaN }), 'loss 1.235 lr 3.00e-4 big 1.23e+5 zero 0 bad NaN');
  assert.throws(() => new TrainProgress({ total: 10, start: 11, tty: false }), /start/);
  assert.throws(() => new TrainProgress({ total: -1, tty: false }), /total/);
});
