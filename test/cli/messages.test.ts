/**
 * Messages that named the wrong cause (issue 17, defect 8): each one must name the real cause and
 * its fix. Every case ran against the old code and failed there.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatasetWriter } from '../../src/datasets/index.js';
import { readIndex } from '../../src/datasets/checksums.js';
import { readVector } from '../../src/lm/vector_file.js';
import { recordOf, testOptions } from '../datasets/helpers.js';
import { CORPUS, EMBEDDED_MODEL, assertUserError, describeRun, runCli, tempDir } from './run.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};

/** A merged dataset of 6 rows in 3 batches. */
async function smallDataset(name: string): Promise<string> {
  const ds = join(dir, name);
  const w = await openDatasetWriter(ds, testOptions());
  for (let i = 0; i < 6; i += 2) await w.append([recordOf(i), recordOf(i + 1)]);
  await w.close();
  return ds;
}

describe('messages name the real cause', { concurrency: 2 }, () => {
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('export of a data.arrow with one flipped byte names the damaged batch (as inspect does), not the disk', async () => {
    const ds = await smallDataset('flipped');
    // Drop the parts so data.arrow is the only source, then flip one byte inside its first batch.
    const { rm } = await import('node:fs/promises');
    for (const f of ['part-00000-of-00001.arrows', 'part-00000-of-00001.index.jsonl']) await rm(join(ds, f));
    const data = join(ds, 'data.arrow');
    const index = await readIndex(data);
    const b0 = index!.entries.find((e) => e.kind === 'batch')!;
    const bytes = await readFile(data);
    bytes[b0.offset + b0.length - 16] ^= 0xff;
    await writeFile(data, bytes);
    const out = join(dir, 'flipped.parquet');
    const r = await runCli(['export', ds, '--out', out]);
    assertUserError(r, /data\.arrow: record batch 0 \(bytes \d+\.\.\d+, \d+ rows\) does not match its recorded sha256/, /\nFix: .*merge/);
    assert.doesNotMatch(r.stderr, /Dyn casting|disk space/, describeRun(r));
    assert.equal(existsSync(out), false, 'no half-written Parquet file is left behind');
  });

  it('verify on an empty folder says it is not a dataset folder, not DAMAGED', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const r = await runCli(['verify', empty]);
    assertUserError(r, /not a prototoken dataset folder/, /\nFix: /);
    assert.doesNotMatch(r.stdout + r.stderr, /DAMAGED|damage found/, describeRun(r));
  });

  it('--m given a model weights file: a short list, what an m file is and how to make one', async () => {
    const weights = join(EMBEDDED_MODEL, 'model.safetensors');
    await assert.rejects(readVector(weights, 'm', 64, null), (err: Error) => {
      const tensorNames = err.message.match(/model\.layers\.\d+\./g) ?? [];
      assert.ok(tensorNames.length <= 5, `at most a few tensor names, got ${tensorNames.length}:\n${err.message}`);
      assert.match(err.message, /and \d+ more/);
      assert.match(err.message, /one float32 vector "m"/);
      assert.match(err.message, /fit-m/);
      return true;
    });
    const r = await runCli(['solve', '--texts', CORPUS, '--length', '8', '--limit', '2', '--m', weights, '--out', join(dir, 'm-wrong'), '--backend', 'wasm', '--quiet']);
    assertUserError(r, /no tensor "m"/, /Fix: .*fit-m/);
    assert.ok(r.stderr.length < 1500, `the message stays short (${r.stderr.length} chars)\n${describeRun(r)}`);
  });
});
