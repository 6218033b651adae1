/**
 * The encoder commands end to end on the embedded model: train overfits a small set, stop +
 * resume equals an uninterrupted run, the TensorBoard file is valid, eval has every baseline row
 * with the numbers it should, refine compares the three starts, and bad input gets one message.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, writeSafetensors } from '../../src/lm/safetensors.js';
import { readTfEvents } from '../../src/util/tfevents.js';
import { Prng } from '../../src/util/prng.js';
import { CORPUS, ROOT, assertOk, assertUserError, describeRun, fixtureDir, lastJson, runCli, signalWhenReady, sizeOf, startCli, tempDir, waitFor } from './run.js';

interface TrainJson {
  step: number;
  interrupted: boolean;
  train: { token_accuracy: number } | null;
  val: { tokenAccuracy: number } | null;
}
interface EvalStatsJson {
  method: string;
  texts: number;
  token_accuracy: number;
  exact_match: number;
}
interface EvalJson {
  N: number;
  texts: number;
  exact_copies_of_training_windows: number | null;
  methods: EvalStatsJson[];
  unseen_windows?: { texts: number; methods: EvalStatsJson[] };
  head_to_head: { method: string; encoder_better: number; ties: number; encoder_worse: number; better_of_two_token_accuracy: number; better_of_two_exact_match: number }[];
}

/** The named tensors of two snapshots' weights agree within 1e-6, and none is all zeros. */
async function assertSameWeights(fromDir: string, toDir: string, names: readonly string[]): Promise<void> {
  const [from, to] = await Promise.all([SafetensorsFile.open(join(fromDir, 'weights.safetensors')), SafetensorsFile.open(join(toDir, 'weights.safetensors'))]);
  try {
    for (const name of names) {
      const [a, b] = [await from.read(name), await to.read(name)];
      assert.ok(a.some((x) => x !== 0), name);
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-6, `${name}[${i}]: ${x} vs ${b[i]}`));
    }
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

describe('encoder commands', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const p = (f: string): string => join(dir, f);
  const common = ['--backend', 'wasm', '--quiet'];
  const trainArgs = (name: string, extra: string[] = []): string[] => [
    'train', '--name', name, '--checkpoints-dir', p('ck'), '--logdir', p(`runs/${name}`), '--texts', p('small.jsonl'), '--window', '4',
    '--windows-per-text', '2', '--dataset', p('ds'), '--encoder', 'transformer', '--width', '32', '--layers', '1', '--heads', '2', '--max-length', '64',
    '--warmup-steps', '10', '--lr', '0.01', '--batch', '8', '--max-train', '8', '--json', ...common, ...extra,
  ];

  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-encoder-'));
    const stories = (await readFile(CORPUS, 'utf8')).split('\n').slice(0, 12).join('\n') + '\n';
    await writeFile(p('small.jsonl'), stories);
    await writeFile(p('short.jsonl'), '{"id": "a", "text": "Hi."}\n');
    await writeFile(p('empty.jsonl'), '\n');
    // A fixed m at a scale that short windows solve with quickly (an N(0,1) m needs far more steps).
    await writeSafetensors(p('m.safetensors'), { m: { shape: [64], data: new Prng(5).normals(64, 0.3) } });
    await writeSafetensors(p('other-m.safetensors'), { m: { shape: [64], data: new Prng(6).normals(64, 0.3) } });
    assertOk(await runCli(['solve', '--texts', p('small.jsonl'), '--window', '4', '--windows-per-text', '1', '--limit', '8', '--m', p('m.safetensors'), '--preset', 'fast', '--max-steps', '800', '--out', p('ds'), ...common], { timeoutMs: 120_000 }));
  });
  after(async () => cleanup());

  it('train overfits a small set and writes last/, best/ and a valid TensorBoard file', async () => {
    const r = await runCli(trainArgs('ov', ['--steps', '300', '--val-every', '100', '--log-every', '20']), { timeoutMs: 120_000 });
    assertOk(r);
    const s = lastJson<TrainJson>(r);
    assert.equal(s.step, 300);
    assert.ok((s.train?.token_accuracy ?? 0) >= 0.9, `train token accuracy ${s.train?.token_accuracy}`);
    for (const sub of ['last', 'best']) {
      const files = await readdir(p(`ck/ov/${sub}`));
      for (const f of ['encoder.json', 'weights.safetensors', 'm.safetensors', 'config.json']) assert.ok(files.includes(f), `${sub}/${f}`);
    }
    assert.ok((await readdir(p('ck/ov/last'))).includes('optimizer.safetensors'));
    const [eventsFile] = await readdir(p('runs/ov'));
    const events = await readTfEvents(p(`runs/ov/${eventsFile}`)); // checks both CRCs of every record
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    const tags = new Set(events.flatMap((e) => e.values.map((v) => v.tag)));
    for (const t of ['train/loss', 'train/token_accuracy', 'lr', 'grad_norm', 'windows_per_sec', 'val/token_accuracy', 'val/exact_match']) assert.ok(tags.has(t), t);
    const losses = events.flatMap((e) => e.values.filter((v) => v.tag === 'train/loss').map((v) => v.value));
    assert.equal(losses.length, 15); // 300 steps, one point per 20
    assert.ok(losses[14] < losses[0], 'the training loss went down');
  });

  it('a run stopped and resumed gives the same next-step loss and the same final weights', async () => {
    const args = ['--steps', '24', '--val-every', '0', '--log-every', '1'];
    assertOk(await runCli(trainArgs('whole', args), { timeoutMs: 120_000 }));
    const first = await runCli(trainArgs('split', [...args, '--max-steps', '12']), { timeoutMs: 120_000 });
    assertOk(first);
    assert.equal(lastJson<TrainJson>(first).step, 12);
    assertUserError(await runCli(trainArgs('split', args)), /already exists/, /--resume/);
    assertUserError(await runCli(trainArgs('split', [...args, '--resume', '--lr', '0.02'])), /other settings/, /lr: saved 0.01 vs now 0.02/);
    const second = await runCli(trainArgs('split', [...args, '--resume']), { timeoutMs: 120_000 });
    assertOk(second);
    assert.equal(lastJson<TrainJson>(second).step, 24);
    const lossAt = async (name: string, step: number): Promise<number> => {
      const files = await readdir(p(`runs/${name}`));
      for (const f of files) {
        for (const e of await readTfEvents(p(`runs/${name}/${f}`))) {
          const v = e.step === step ? e.values.find((x) => x.tag === 'train/loss') : undefined;
          if (v) return v.value;
        }
      }
      return assert.fail(`no loss at step ${step} in ${name}`);
    };
    assert.equal(await lossAt('split', 13), await lossAt('whole', 13));
    assert.equal(await lossAt('split', 24), await lossAt('whole', 24));
    const a = await readFile(p('ck/whole/last/weights.safetensors'));
    const b = await readFile(p('ck/split/last/weights.safetensors'));
    assert.ok(a.equals(b), 'final weights are byte-identical');
  });

  it('--init-from starts a run at another N from trained weights; another architecture is refused', async () => {
    const ft = (name: string, extra: string[]): string[] => [
      'train', '--name', name, '--checkpoints-dir', p('ck'), '--logdir', p(`runs/${name}`), '--texts', p('small.jsonl'), '--window', '6', '--m', p('m.safetensors'),
      '--encoder', 'transformer', '--width', '32', '--layers', '1', '--heads', '2', '--max-length', '64', '--batch', '8', '--max-train', '8', '--val-every', '0',
      '--init-from', p('ck/ov'), '--json', ...common, ...extra,
    ];
    // A vanishing learning rate: the run's weights must still be the checkpoint's (another seed
    // draws other initial weights and data order; the checkpoint's weights replace the former).
    assertOk(await runCli(ft('ft', ['--steps', '2', '--lr', '1e-12', '--seed', '7']), { timeoutMs: 120_000 }));
    await assertSameWeights(p('ck/ov/best'), p('ck/ft/last'), ['tokens', 'blocks.0.attn.qkv.weight', 'head.proj.weight', 'head.shift']);
    assertUserError(await runCli(ft('ft2', ['--width', '16'])), /--init-from needs the same architecture/, /checkpoint's encoder options/);
  });

  it('--init-from into more layers: the old blocks keep their weights, the new one starts as the identity', async () => {
    const deep = await runCli([
      'train', '--name', 'deep', '--checkpoints-dir', p('ck'), '--logdir', p('runs/deep'), '--texts', p('small.jsonl'), '--window', '4', '--m', p('m.safetensors'),
      '--encoder', 'transformer', '--width', '32', '--layers', '2', '--heads', '2', '--max-length', '64', '--batch', '8', '--max-train', '8', '--val-every', '0',
      '--init-from', p('ck/ov'), '--steps', '2', '--lr', '1e-12', '--json', '--backend', 'wasm',
    ], { timeoutMs: 120_000 });
    assertOk(deep);
    assert.match(deep.stderr, /1 -> 2 layers; blocks 1 to 1 start as the identity/);
    await assertSameWeights(p('ck/ov/best'), p('ck/deep/last'), ['blocks.0.attn.qkv.weight', 'blocks.0.mlp.down.weight', 'final_norm.weight', 'head.proj.weight']);
    const to = await SafetensorsFile.open(p('ck/deep/last/weights.safetensors'));
    try {
      for (const name of ['blocks.1.attn.proj.weight', 'blocks.1.mlp.down.weight']) assert.ok((await to.read(name)).every((x) => Math.abs(x) < 1e-9), `${name} starts at zero`);
      assert.ok((await to.read('blocks.1.attn.qkv.weight')).some((x) => x !== 0), 'the new block\'s inner weights are drawn');
    } finally {
      await to.close();
    }
    // The same e_hat, so the same one-pass result on every text.
    const evalOf = async (ck: string): Promise<EvalJson> => {
      const r = await runCli(['eval', '--checkpoint', ck, '--texts', p('small.jsonl'), '--window', '4', '--windows-per-text', '3', '--baselines', 'random', '--json', ...common]);
      assertOk(r);
      return lastJson<EvalJson>(r);
    };
    const [a, b] = await Promise.all([evalOf(p('ck/ov')), evalOf(p('ck/deep'))]);
    assert.deepEqual(b.methods[0], a.methods[0]);
    assert.deepEqual(b.head_to_head, a.head_to_head);
  });

  it('Ctrl-C saves last/ and exits 130; --resume continues from the saved step', async () => {
    const args = trainArgs('ctrlc', ['--steps', '5000', '--val-every', '0', '--checkpoint-every', '5']);
    const run = startCli(args, { timeoutMs: 120_000 });
    const stopped = await signalWhenReady(run, () => waitFor('the first last/ snapshot', async () => ((await sizeOf(p('ck/ctrlc/last/encoder.json'))) ? true : undefined), 90_000));
    assert.equal(stopped.code, 130, describeRun(stopped));
    const s = lastJson<TrainJson>(stopped);
    assert.equal(s.interrupted, true);
    const state = JSON.parse(await readFile(p('ck/ctrlc/last/train_state.json'), 'utf8')) as { step: number };
    assert.equal(state.step, s.step, 'the saved step is the step reached');
    const resumed = await runCli([...args, '--resume', '--max-steps', String(s.step + 3)], { timeoutMs: 120_000 });
    assertOk(resumed);
    assert.equal(lastJson<TrainJson>(resumed).step, s.step + 3);
  });

  it('a signal stops training promptly even between snapshots', async () => {
    const run = startCli(trainArgs('sigterm', ['--steps', '5000', '--val-every', '0', '--checkpoint-every', '5000', '--log-every', '5000']), { timeoutMs: 60_000 });
    await waitFor('the event file', async () => ((await readdir(p('runs/sigterm')).catch(() => [])).length > 0 ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // inside the step loop, no file written until step 5000
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    assert.equal(stopped.code, 130, describeRun(stopped));
    assert.ok(Date.now() - sent < 10_000, `stopped ${Date.now() - sent} ms after SIGTERM`);
    assert.ok((await sizeOf(p('ck/sigterm/last/train_state.json'))) !== null, 'last/ was saved');
  });

  it('eval reports the encoder and every baseline; the solver e row is 1.0 on solved rows, random near 0', async () => {
    const r = await runCli(['eval', '--checkpoint', p('ck/ov'), '--dataset', p('ds'), '--json', ...common]);
    assertOk(r);
    const s = lastJson<EvalJson>(r);
    assert.equal(s.N, 4);
    const by = new Map(s.methods.map((m) => [m.method, m]));
    for (const m of ['encoder (transformer)', 'mean-e', 'nn-tokens', 'nn-tfidf', 'random', 'solver e (upper bound)']) assert.ok(by.has(m), m);
    assert.equal(by.get('solver e (upper bound)')?.token_accuracy, 1);
    assert.equal(by.get('solver e (upper bound)')?.exact_match, 1);
    assert.ok((by.get('random')?.token_accuracy ?? 1) < 0.3);
    for (const m of s.methods) assert.equal(m.texts, s.texts);
    // Text by text against each other method: the counts cover every text, the better of two is at least either.
    assert.deepEqual(s.head_to_head.map((h) => h.method), s.methods.slice(1).map((m) => m.method));
    for (const h of s.head_to_head) {
      assert.equal(h.encoder_better + h.ties + h.encoder_worse, s.texts, h.method);
      assert.ok(h.better_of_two_token_accuracy >= Math.max(s.methods[0].token_accuracy, by.get(h.method)?.token_accuracy ?? 1) - 1e-12, h.method);
    }
    const upper = s.head_to_head.find((h) => h.method === 'solver e (upper bound)');
    assert.equal(upper?.encoder_better, 0, 'nothing beats a solved e');
    assert.equal(upper?.better_of_two_exact_match, 1);
    // Windows of a text file (no solved e: no upper-bound row), the text table.
    const t = await runCli(['eval', '--checkpoint', p('ck/ov'), '--texts', p('small.jsonl'), '--window', '4', '--windows-per-text', '3', ...common]);
    assertOk(t);
    assert.match(t.stdout, /36 texts of N=4/);
    assert.doesNotMatch(t.stdout, /upper bound/);
    assert.match(t.stdout, /encoder \(transformer\), text by text:\n.*against.*better of two/);
  });

  it('refine solves the same texts from N(0,1), the mean e and e_hat, with ratios', async () => {
    const r = await runCli(['refine', '--checkpoint', p('ck/ov'), '--texts', p('small.jsonl'), '--window', '4', '--limit', '3', '--max-steps', '300', '--preset', 'fast', '--json', ...common], { timeoutMs: 120_000 });
    assertOk(r);
    const s = lastJson<{ texts: number; starts: { start: string; texts: number; median_ratio_vs_first: number | null }[] }>(r);
    assert.deepEqual(s.starts.map((x) => x.start), ['N(0,1)', 'mean e (constant)', 'encoder e_hat']);
    assert.ok(s.starts.every((x) => x.texts === 3));
    assert.equal(s.starts[0].median_ratio_vs_first, 1);
    // The amortised solver as a dataset run: starts from e_hat with the checkpoint's m, recorded.
    const solve = await runCli(['solve', '--init', `encoder:${p('ck/ov')}`, '--texts', p('small.jsonl'), '--window', '4', '--limit', '2', '--windows-per-text', '1', '--max-steps', '300', '--out', p('warm'), '--json', ...common], { timeoutMs: 120_000 });
    assertOk(solve);
    const info = JSON.parse(await readFile(p('warm/dataset_info.json'), 'utf8')) as { init: string; m: { kind: string } };
    assert.match(JSON.stringify(info), /per-text starts from encoder/);
    assertUserError(await runCli(['solve', '--init', `encoder:${p('ck/ov')}`, '--m', p('other-m.safetensors'), '--texts', p('small.jsonl'), '--window', '4', '--out', p('warm2'), ...common]), /m: checkpoint/);
  });

  for (const N of [8, 16]) {
    it(`the shipped N=${N} checkpoint evaluates out of the box`, async () => {
      const r = await runCli(['eval', '--checkpoint', join(ROOT, 'checkpoints', `stories260k-n${N}`), '--texts', CORPUS, '--window', String(N), '--windows-per-text', '3', '--limit', '24', '--json', ...common]);
      assertOk(r);
      const s = lastJson<EvalJson>(r);
      assert.equal(s.N, N);
      assert.equal(s.texts, 24);
      const enc = s.methods.find((m) => m.method === 'encoder (transformer)');
      const mean = s.methods.find((m) => m.method === 'mean-e');
      assert.ok(enc && mean && enc.token_accuracy > mean.token_accuracy, 'the trained encoder beats its own starting point');
      if (N !== 8) return;
      // Windows of every split: most are training windows the reference set holds (the N = 16 encoder's is another N).
      const copies = s.exact_copies_of_training_windows ?? 0;
      assert.ok(copies > 0 && copies < s.texts, `copies: ${copies}`);
      const unseen = s.unseen_windows;
      assert.ok(unseen, 'the table on the windows that copy no training window');
      assert.equal(unseen.texts, s.texts - copies);
      assert.deepEqual(unseen.methods.map((m) => [m.method, m.texts]), s.methods.map((m) => [m.method, unseen.texts]));
      // A copy is a solved training window, which its nearest neighbour's e emits exactly: all of
      // nn-tokens' misses are among the unseen windows.
      const nn = (ms: EvalStatsJson[]): EvalStatsJson => ms.find((m) => m.method === 'nn-tokens') as EvalStatsJson;
      assert.ok(Math.abs(nn(s.methods).token_accuracy * s.texts - (nn(unseen.methods).token_accuracy * unseen.texts + copies)) < 1e-9);
      assert.ok(Math.abs(nn(s.methods).exact_match * s.texts - (nn(unseen.methods).exact_match * unseen.texts + copies)) < 1e-9);
    });
  }

  it('mismatched checkpoints and bad texts get one clear error', async () => {
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/ov'), '--model', fixtureDir('tiny-random-neox'), '--dataset', p('ds'), ...common]), /made for another setup/, /model weights: checkpoint [0-9a-f]{12}/);
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/ov'), '--m', p('other-m.safetensors'), '--dataset', p('ds'), ...common]), /made for another setup/, /m: checkpoint/);
    assertUserError(await runCli(['eval', '--checkpoint', p('nowhere'), '--dataset', p('ds'), ...common]), /no encoder checkpoint here/);
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/ov'), '--texts', p('short.jsonl'), '--window', '4', ...common]), /no texts of 4 tokens/, /1 too short/);
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/ov'), '--texts', p('empty.jsonl'), ...common]), /holds no texts/);
    assertUserError(await runCli(['eval', '--checkpoint', p('ck/ov'), '--texts', p('small.jsonl'), '--window', '70', ...common]), /70 tokens does not fit this encoder/);
    assertUserError(await runCli(['train', '--name', 'x', '--checkpoints-dir', p('ck'), '--texts', p('small.jsonl'), '--window', '4', ...common]), /needs one fixed m/);
    assertUserError(await runCli(['train', '--name', 'x', '--checkpoints-dir', p('ck'), '--texts', p('small.jsonl'), '--m', p('m.safetensors'), ...common]), /--window N/);
  });
});
