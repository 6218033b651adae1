import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runWorkers } from '../../src/jobs/workers.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (s: string) => (text += s));
  return { stream, text: () => text };
}

test('runWorkers runs K children with prefixed output', async () => {
  const err = sink();
  const out = sink();
  const results = await runWorkers({
    k: 3,
    command: process.execPath,
    argsFor: (i, k) => ['-e', `console.error('shard ${i}/${k}\\nsecond line'); process.stdout.write('partial')`],
    stderr: err.stream,
    stdout: out.stream,
  });
  assert.deepEqual(results.map((r) => [r.index, r.code]), [[0, 0], [1, 0], [2, 0]]);
  const lines = err.text().trim().split('\n').sort();
  assert.deepEqual(lines, ['[w 0] second line', '[w 0] shard 0/3', '[w 1] second line', '[w 1] shard 1/3', '[w 2] second line', '[w 2] shard 2/3']);
  assert.deepEqual(out.text().trim().split('\n').sort(), ['[w 0] partial', '[w 1] partial', '[w 2] partial']);
});

test('runWorkers: one failing worker stops the others and names itself', async () => {
  const err = sink();
  const started = Date.now();
  await assert.rejects(
    runWorkers({
      k: 3,
      command: process.execPath,
      argsFor: (i) => ['-e', i === 1 ? "console.error('boom: out of memory'); process.exit(3)" : 'setTimeout(() => {}, 30000)'],
      stderr: err.stream,
      stdout: sink().stream,
    }),
    (e: Error) => {
      assert.match(e.message, /worker 1 of 3 exited with code 3; the other workers were stopped/);
      assert.match(e.message, /its last stderr lines:\n {2}boom: out of memory/);
      assert.match(e.message, /Fix: .*rerun the same command/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 10_000, 'the sleeping workers were killed, not waited for');
  assert.match(err.text(), /\[w 1\] boom: out of memory/);

  await assert.rejects(
    runWorkers({ k: 2, command: '/nonexistent/prototoken-binary', argsFor: () => [], stderr: sink().stream, stdout: sink().stream }),
    /worker \d of 2 could not start \/nonexistent\/prototoken-binary/,
  );
});
