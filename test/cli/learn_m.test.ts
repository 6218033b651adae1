/**
 * train --learn-m: m is a parameter of the run (one step moves it, a resume continues it), the
 * checkpoint carries the learned m and evaluates with it, and the start m is refused as its m.
 * Also train --workers: a data-parallel run matches --workers 1 at the same batch and seed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/lm/safetensors.js';
import { fingerprintM, readVector } from '../../src/lm/vector_file.js';
import { Prng } from '../../src/util/prng.js';
import { CORPUS, assertOk, assertUserError, lastJson, runCli, tempDir } from './run.js';

describe('train --learn-m and --workers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const p = (f: string): string => join(dir, f);
  const common = ['--backend', 'wasm', '--quiet'];
  const train = (name: string, extra: string[]): string[] => [
    'train', '--name', name, '--checkpoints-dir', p('ck'), '--logdir', p(`runs/${name}`), '--texts', p('small.jsonl'), '--window', '4',
    '--encoder', 'transformer', '--width', '16', '--layers', '1', '--heads', '2', '--max-length', '8', '--batch', '8', '--lr', '0.01',
    '--warmup-steps', '1', '--val-every', '0', '--json', ...common, ...extra,
  ];

  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-learn-m-'));
    await writeFile(p('small.jsonl'), (await readFile(CORPUS, 'utf8')).split('\n').slice(0, 12).join('\n') + '\n');
    await writeSafetensors(p('m.safetensors'), { m: { shape: [64], data: new Prng(5).normals(64, 0.3) } });
  });
  after(async () => cleanup());

  it('one step moves m; the checkpoint carries it, evaluates with it and refuses the start m', async () => {
    assertOk(await runCli(train('lm', ['--m', p('m.safetensors'), '--learn-m', '--steps', '1']), { timeoutMs: 120_000 }));
    const start = await readVector(p('m.safetensors'), 'm', 64, null);
    const learned = await readVector(p('ck/lm/last'), 'm', 64, null);
    assert.ok(learned.some((x, i) => x !== start[i]), 'm moved');
    const meta = JSON.parse(await readFile(p('ck/lm/last/encoder.json'), 'utf8')) as { mSha256: string };
    assert.equal(meta.mSha256, fingerprintM(learned));
    const ev = await runCli(['eval', '--checkpoint', p('ck/lm'), '--texts', p('small.jsonl'), '--window', '4', '--baselines', 'random', '--json', ...common], { timeoutMs: 120_000 });
    assertOk(ev);
    assert.ok(lastJson<{ texts: number }>(ev).texts > 0);
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/lm'), '--m', p('m.safetensors'), '--texts', p('small.jsonl'), '--window', '4', ...common]), /m: checkpoint/);
    // Its baselines come from windows solved again with its m (eval --reference); another m is refused.
    assertOk(await runCli(['solve', '--texts', p('small.jsonl'), '--window', '4', '--windows-per-text', '2', '--m', p('ck/lm/last'), '--preset', 'fast', '--max-steps', '400', '--out', p('ref'), ...common], { timeoutMs: 120_000 }));
    const withRef = await runCli(['eval', '--checkpoint', p('ck/lm/last'), '--reference', p('ref'), '--texts', p('small.jsonl'), '--window', '4', '--json', ...common], { timeoutMs: 120_000 });
    assertOk(withRef);
    assert.ok(lastJson<{ methods: { method: string }[] }>(withRef).methods.some((x) => x.method === 'nn-tokens'), 'the nn-tokens baseline from the given reference');
    assertOk(await runCli(['solve', '--texts', p('small.jsonl'), '--window', '4', '--windows-per-text', '1', '--m', p('m.safetensors'), '--preset', 'fast', '--max-steps', '50', '--out', p('ref-other'), ...common], { timeoutMs: 120_000 }));
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/lm/last'), '--reference', p('ref-other'), '--texts', p('small.jsonl'), '--window', '4', ...common]), /solved with another m than the checkpoint/);
    assertUserError(await runCli(train('lm-distill', ['--m', p('m.safetensors'), '--learn-m', '--loss', 'distill', '--steps', '1'])), /--learn-m trains m by the recon loss/);
  });

  it('a --learn-m run stopped and resumed equals an uninterrupted one, m included', async () => {
    assertOk(await runCli(train('whole', ['--m', p('m.safetensors'), '--learn-m', '--steps', '4']), { timeoutMs: 120_000 }));
    assertOk(await runCli(train('split', ['--m', p('m.safetensors'), '--learn-m', '--steps', '4', '--max-steps', '2']), { timeoutMs: 120_000 }));
    assertOk(await runCli(train('split', ['--m', p('m.safetensors'), '--learn-m', '--steps', '4', '--resume']), { timeoutMs: 120_000 }));
    for (const f of ['weights.safetensors', 'm.safetensors']) {
      const [a, b] = await Promise.all([readFile(p(`ck/whole/last/${f}`)), readFile(p(`ck/split/last/${f}`))]);
      assert.ok(a.equals(b), `${f} byte-identical`);
    }
  });

  it('--learn-m without any m starts from N(0,1) and says so in the checkpoint', async () => {
    const r = await runCli(train('scratch', ['--learn-m', '--steps', '1']), { timeoutMs: 120_000 });
    assertOk(r);
    const m = await readVector(p('ck/scratch/last'), 'm', 64, null);
    const rms = Math.sqrt(m.reduce((a, x) => a + x * x, 0) / m.length);
    assert.ok(rms > 0.5 && rms < 1.5, `rms of the learned m ${rms}`);
    assertUserError(await runCli(train('nom', ['--steps', '1'])), /an encoder needs one fixed m/);
  });

  it('--workers 2 trains what --workers 1 trains, within float rounding', async () => {
    const losses = async (name: string, workers: string): Promise<number> => {
      const r = await runCli(train(name, ['--m', p('m.safetensors'), '--steps', '5', '--log-every', '5', '--workers', workers]), { timeoutMs: 120_000 });
      assertOk(r);
      return (lastJson<{ train: { loss: number } }>(r)).train.loss;
    };
    const [one, two] = [await losses('w1', '1'), await losses('w2', '2')];
    assert.ok(Math.abs(one - two) < 1e-4 * Math.max(1, one), `loss ${two} with 2 workers vs ${one} with 1`);
    const [a, b] = await Promise.all([readVector(p('ck/w1/last'), 'm', 64, null), readVector(p('ck/w2/last'), 'm', 64, null)]);
    assert.deepEqual(a, b, 'a fixed m stays fixed');
  });
});
