import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  SafetensorsFile,
  bf16BitsToFloat32,
  f16BitsToFloat32,
  openWeights,
  sha256File,
  weightsFingerprint,
  writeSafetensors,
} from '../../src/lm/safetensors.js';
import { PrototokenError } from '../../src/util/errors.js';

// Compiled to dist/test/lm/, so the repository root is three levels up.
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const STORIES = path.join(FIXTURES, 'stories260k', 'model.safetensors');

let tmp: string;
before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'prototoken-st-'));
});
after(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** A safetensors file with an arbitrary header, for corrupt and non-F32 cases the writer cannot make. */
async function rawFile(name: string, header: unknown, data: Uint8Array): Promise<string> {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(tmp, name);
  await fsp.writeFile(file, Buffer.concat([len, json, data]));
  return file;
}

async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PrototokenError, `expected PrototokenError, got ${String(err)}`);
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });
}

describe('writeSafetensors + SafetensorsFile', () => {
  it('round-trips tensors and metadata', async () => {
    const file = path.join(tmp, 'rt.safetensors');
    const a = Float32Array.from([1, -2.5, 3e-8, Infinity, -0, 6]);
    const b = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    await writeSafetensors(file, { a: { shape: [2, 3], data: a }, 'x.b': { shape: [4], data: b } }, { note: 'hi' });
    // The header is padded so tensor data starts 8-byte aligned.
    assert.equal(Number(readFileSync(file).readBigUInt64LE(0)) % 8, 0);
    const st = await SafetensorsFile.open(file);
    try {
      assert.deepEqual(st.names(), ['a', 'x.b']);
      assert.deepEqual(st.info('a'), { dtype: 'F32', shape: [2, 3] });
      assert.deepEqual(st.metadata, { note: 'hi' });
      assert.deepEqual(await st.read('a'), a);
      assert.deepEqual(await st.read('x.b'), b);
    } finally {
      await st.close();
    }
    assert.deepEqual((await fsp.readdir(tmp)).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
  });

  it('reads an F32 tensor larger than one read chunk', async () => {
    const file = path.join(tmp, 'big.safetensors');
    const big = new Float32Array(4 * 1024 * 1024 + 3);
    for (let i = 0; i < big.length; i++) big[i] = i;
    await writeSafetensors(file, { big: { shape: [big.length], data: big } });
    const st = await SafetensorsFile.open(file);
    try {
      const got = await st.read('big');
      assert.ok(Buffer.from(got.buffer).equals(Buffer.from(big.buffer)));
    } finally {
      await st.close();
    }
  });

  it('rejects data whose length does not match the shape', async () => {
    await rejectsWith(writeSafetensors(path.join(tmp, 'bad.safetensors'), { a: { shape: [3], data: new Float32Array(2) } }), /'a' has 2 values/);
  });
});

describe('half-precision conversion', () => {
  it('decodes f16 bit patterns, including subnormals, infinities and NaN', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504],
      [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)],
      [0x7c00, Infinity], [0xfc00, -Infinity],
    ];
    for (const [bits, want] of cases) assert.equal(f16BitsToFloat32(bits), want, `0x${bits.toString(16)}`);
    assert.ok(Object.is(f16BitsToFloat32(0x8000), -0));
    assert.ok(Number.isNaN(f16BitsToFloat32(0x7e00)) && Number.isNaN(f16BitsToFloat32(0xfc01)));
  });

  it('decodes bf16 bit patterns', () => {
    const cases: [number, number][] = [
      [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x0001, 2 ** -133], [0x7f80, Infinity], [0xff80, -Infinity],
    ];
    for (const [bits, want] of cases) assert.equal(bf16BitsToFloat32(bits), want, `0x${bits.toString(16)}`);
    assert.ok(Number.isNaN(bf16BitsToFloat32(0x7fc0)));
  });

  it('reads F16 and BF16 tensors, across read-chunk boundaries', async () => {
    // Longer than the reader's 16 MB scratch buffer, so the chunk loop runs twice.
    const n = 8 * 1024 * 1024 + 3;
    // All ones, except 2, 3, 4 at the very end: a chunk read from the wrong offset would see ones.
    const half = new Uint16Array(n).fill(0x3c00);
    half.set([0x4000, 0x4200, 0x4400], n - 3);
    const bf = Uint16Array.from([0x3f80, 0x0001, 0x7f80, 0x7fc0]);
    const header = {
      h: { dtype: 'F16', shape: [n], data_offsets: [0, n * 2] },
      b: { dtype: 'BF16', shape: [2, 2], data_offsets: [n * 2, n * 2 + 8] },
    };
    const file = await rawFile('half.safetensors', header, Buffer.concat([new Uint8Array(half.buffer), new Uint8Array(bf.buffer)]));
    const st = await SafetensorsFile.open(file);
    try {
      const h = await st.read('h');
      assert.equal(h.length, n);
      assert.deepEqual([...h.subarray(n - 5)], [1, 1, 2, 3, 4]);
      const b = await st.read('b');
      assert.deepEqual([...b.slice(0, 3)], [1, 2 ** -133, Infinity]);
      assert.ok(Number.isNaN(b[3]));
    } finally {
      await st.close();
    }
  });
});

describe('real checkpoint (stories260k)', () => {
  it('lists the HF Llama tensors with their shapes and reads values', async () => {
    const st = await SafetensorsFile.open(STORIES);
    try {
      assert.equal(st.names().length, 48);
      assert.deepEqual(st.info('model.embed_tokens.weight'), { dtype: 'F32', shape: [512, 64] });
      assert.deepEqual(st.info('model.layers.0.self_attn.k_proj.weight').shape, [32, 64]);
      const params = st.names().filter((n) => n !== 'lm_head.weight')
        .reduce((sum, n) => sum + st.info(n).shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(params, 260032);
      const norm = await st.read('model.norm.weight');
      assert.deepEqual([...norm.slice(0, 2)], [Math.fround(2.4583089351654053), Math.fround(1.3673226833343506)]);
      assert.deepEqual(await st.read('lm_head.weight'), await st.read('model.embed_tokens.weight'));
    } finally {
      await st.close();
    }
  });
});

describe('corrupt files', () => {
  it('names a missing file', async () => {
    await rejectsWith(SafetensorsFile.open(path.join(tmp, 'nope.safetensors')), /nope\.safetensors: weights file not found/);
  });

  it('detects a truncated download and says to re-download', async () => {
    const file = path.join(tmp, 'truncated.safetensors');
    const bytes = readFileSync(STORIES);
    await fsp.writeFile(file, bytes.subarray(0, bytes.length - 100));
    await rejectsWith(SafetensorsFile.open(file), /truncated\.safetensors/, /truncated/, /re-download/);
  });

  it('rejects files shorter than the header', async () => {
    const tiny = path.join(tmp, 'tiny.safetensors');
    await fsp.writeFile(tiny, Buffer.from([1, 2, 3]));
    await rejectsWith(SafetensorsFile.open(tiny), /only 3 bytes/);
    const cut = await rawFile('cut.safetensors', '{"a": {"dtype": "F32"', new Uint8Array(0));
    await fsp.truncate(cut, 20);
    await rejectsWith(SafetensorsFile.open(cut), /header length field says 21 bytes, but the file has only 20/);
  });

  it('rejects a header that is not a JSON object', async () => {
    await rejectsWith(SafetensorsFile.open(await rawFile('garbage.safetensors', 'PK\x03\x04garbage', new Uint8Array(0))), /not valid JSON/);
    await rejectsWith(SafetensorsFile.open(await rawFile('array.safetensors', [1, 2], new Uint8Array(0))), /not a JSON object/);
    await rejectsWith(
      SafetensorsFile.open(await rawFile('entry.safetensors', { a: { dtype: 'F32', shape: [2] } }, new Uint8Array(8))),
      /entry for tensor 'a' is malformed/,
    );
  });

  it('rejects offsets inconsistent with shape and dtype', async () => {
    const file = await rawFile('incons.safetensors', { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(16));
    await rejectsWith(SafetensorsFile.open(file), /'a' has data_offsets \[0, 12\] \(12 bytes\) but shape \[2, 2\] of F32 needs 16 bytes/);
  });

  it('names an unsupported or unknown dtype and lists the supported ones', async () => {
    const header = {
      i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
      q: { dtype: 'Q4_K', shape: [2], data_offsets: [16, 20] },
      f: { dtype: 'F32', shape: [1], data_offsets: [20, 24] },
    };
    const st = await SafetensorsFile.open(await rawFile('dtype.safetensors', header, new Uint8Array(24)));
    try {
      await rejectsWith(st.read('i'), /'i' has dtype I64/, /F32, F16, BF16/);
      await rejectsWith(st.read('q'), /'q' has dtype Q4_K/, /F32, F16, BF16/);
      assert.deepEqual(await st.read('f'), new Float32Array(1));
    } finally {
      await st.close();
    }
  });
});

describe('openWeights', () => {
  it('checks expected shapes and names missing tensors', async () => {
    const dir = path.join(tmp, 'single');
    await fsp.mkdir(dir);
    await writeSafetensors(path.join(dir, 'model.safetensors'), {
      'model.a.weight': { shape: [2, 3], data: new Float32Array(6).fill(1) },
    });
    const w = await openWeights(dir);
    try {
      assert.deepEqual(w.shape('model.a.weight'), [2, 3]);
      assert.deepEqual(await w.read('model.a.weight', [2, 3]), new Float32Array(6).fill(1));
      await rejectsWith(w.read('model.a.weight', [3, 2]), /'model\.a\.weight' has shape \[2, 3\] but config\.json implies \[3, 2\]/, /single[/\\]model\.safetensors/);
      await rejectsWith(w.read('model.b.weight'), /'model\.b\.weight' is not in the checkpoint \(1 tensors, e\.g\. model\.a\.weight\)/);
    } finally {
      await w.close();
    }
    assert.equal(await weightsFingerprint(dir), createHash('sha256').update(readFileSync(path.join(dir, 'model.safetensors'))).digest('hex'));
  });

  it('reads a sharded checkpoint through its index', async () => {
    const dir = path.join(tmp, 'sharded');
    await fsp.mkdir(dir);
    const s1 = 'model-00001-of-00002.safetensors';
    const s2 = 'model-00002-of-00002.safetensors';
    await writeSafetensors(path.join(dir, s2), { 'b.weight': { shape: [2], data: Float32Array.from([3, 4]) } });
    await writeSafetensors(path.join(dir, s1), {
      'a.weight': { shape: [1], data: Float32Array.from([1]) },
      'c.bias': { shape: [1], data: Float32Array.from([5]) },
    });
    const index = { metadata: { total_size: 16 }, weight_map: { 'b.weight': s2, 'a.weight': s1, 'c.bias': s1 } };
    await fsp.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    const w = await openWeights(dir);
    try {
      assert.deepEqual(w.names(), ['a.weight', 'b.weight', 'c.bias']);
      assert.deepEqual(await w.read('b.weight', [2]), Float32Array.from([3, 4]));
      assert.deepEqual(await w.read('c.bias'), Float32Array.from([5]));
    } finally {
      await w.close();
    }
    const lines = `${await sha256File(path.join(dir, s1))}  ${s1}\n${await sha256File(path.join(dir, s2))}  ${s2}\n`;
    assert.equal(await weightsFingerprint(dir), createHash('sha256').update(lines).digest('hex'));

    // An index that disagrees with its shards, or a shard that never arrived, must not load.
    await fsp.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'b.weight': s1 } }));
    await rejectsWith(openWeights(dir), /places tensor 'b\.weight' in model-00001-of-00002/);
    await fsp.rm(path.join(dir, s2));
    await fsp.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await rejectsWith(openWeights(dir), /model-00002-of-00002\.safetensors: weights file not found/, /re-download/);
  });

  it('explains a folder without weights', async () => {
    const dir = path.join(tmp, 'empty');
    await fsp.mkdir(dir);
    await rejectsWith(openWeights(dir), /no model\.safetensors or model\.safetensors\.index\.json/);
  });
});
