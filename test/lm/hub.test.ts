import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveModel } from '../../src/lm/hub.js';
import { writeSafetensors } from '../../src/lm/safetensors.js';
import { PrototokenError } from '../../src/util/errors.js';

const NEOX = fileURLToPath(new URL('../../../test/fixtures/tiny-random-neox/', import.meta.url));
const NEOX_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'];

/** Per repo: file name -> bytes, or 'truncate' (send half the body, then drop the connection). */
type RepoFiles = Record<string, Buffer | 'truncate'>;

/** A stand-in for huggingface.co answering the requests @huggingface/hub's downloadFile makes. */
class FakeHub {
  readonly repos = new Map<string, RepoFiles>();
  readonly requests: string[] = [];
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  endpoint = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    const repo = m && this.repos.get(m[1]);
    if (!m || !repo) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'X-Error-Code': 'RepositoryNotFound' });
      res.end(JSON.stringify({ error: 'Repository not found' }));
      return;
    }
    const file = repo[decodeURIComponent(m[3])];
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': 'EntryNotFound' });
      res.end(JSON.stringify({ error: 'Entry not found' }));
      return;
    }
    const body = file === 'truncate' ? Buffer.alloc(100_000, 7) : file;
    const etag = `"${body.length}-${m[3]}"`;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const [start, end] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${body.length}`, ETag: etag });
      res.end(body.subarray(start, end + 1));
    } else if (file === 'truncate') {
      res.writeHead(200, { 'Content-Length': body.length, ETag: etag });
      res.write(body.subarray(0, body.length / 2), () => res.destroy());
    } else {
      res.writeHead(200, { 'Content-Length': body.length, ETag: etag });
      res.end(body);
    }
  }
}

function folderFiles(dir: string): RepoFiles {
  return Object.fromEntries(NEOX_FILES.map((f) => [f, readFileSync(path.join(dir, f))]));
}

async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PrototokenError, `expected PrototokenError, got ${String(err)}`);
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });
}

describe('resolveModel', () => {
  const hub = new FakeHub();
  let cacheDir: string;
  before(async () => {
    await hub.start();
    cacheDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'prototoken-hub-'));
    hub.repos.set('test-org/tiny-neox', folderFiles(NEOX));
  });
  after(async () => {
    await hub.stop();
    await fsp.rm(cacheDir, { recursive: true, force: true });
  });

  it('downloads a hub id into the cache, byte for byte, and reuses it', async () => {
    const downloaded: string[] = [];
    const opts = { cacheDir, endpoint: hub.endpoint, onDownload: (f: string) => downloaded.push(f) };
    const dir = await resolveModel('test-org/tiny-neox', opts);
    assert.equal(dir, path.join(cacheDir, 'test-org--tiny-neox', 'main'));
    for (const f of NEOX_FILES) assert.ok(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(NEOX, f))), f);
    assert.deepEqual(downloaded.sort(), [...NEOX_FILES].sort());
    assert.ok(hub.requests.some((r) => r === 'GET /test-org/tiny-neox/resolve/main/model.safetensors'));

    const before = hub.requests.length;
    assert.equal(await resolveModel('test-org/tiny-neox', opts), dir);
    assert.equal(hub.requests.length, before, 'a cached model makes no request');
    // Even an unreachable hub does not matter once the model is cached.
    assert.equal(await resolveModel('test-org/tiny-neox', { ...opts, endpoint: 'http://127.0.0.1:1' }), dir);
  });

  it('resumes an interrupted download, fetching only the missing files', async () => {
    const dir = await resolveModel('test-org/tiny-neox@resume', { cacheDir, endpoint: hub.endpoint });
    await fsp.rm(path.join(dir, 'model.safetensors'));
    await fsp.rm(path.join(dir, '.prototoken-complete.json'));
    const before = hub.requests.length;
    await resolveModel('test-org/tiny-neox@resume', { cacheDir, endpoint: hub.endpoint });
    assert.deepEqual(hub.requests.slice(before).map((r) => r.split('/').pop()), ['model.safetensors', 'model.safetensors']);
    assert.ok(readFileSync(path.join(dir, 'model.safetensors')).equals(readFileSync(path.join(NEOX, 'model.safetensors'))));
  });

  it('does not ask again for an optional file the repo lacks', async () => {
    const files = folderFiles(NEOX);
    delete files['tokenizer_config.json'];
    hub.repos.set('test-org/no-tok-config', files);
    const opts = { cacheDir, endpoint: hub.endpoint };
    const dir = await resolveModel('test-org/no-tok-config', opts);
    assert.equal(await fsp.stat(path.join(dir, 'tokenizer_config.json')).catch(() => null), null);
    const before = hub.requests.length;
    await resolveModel('test-org/no-tok-config', opts);
    assert.equal(hub.requests.length, before);
  });

  it('keeps revisions apart', async () => {
    const dir = await resolveModel('test-org/tiny-neox@v1.0', { cacheDir, endpoint: hub.endpoint });
    assert.equal(dir, path.join(cacheDir, 'test-org--tiny-neox', 'v1.0'));
    assert.ok(hub.requests.includes('GET /test-org/tiny-neox/resolve/v1.0/config.json'));
  });

  it('downloads a sharded checkpoint through its index', async () => {
    const src = path.join(cacheDir, 'src-sharded');
    await fsp.mkdir(src);
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    await writeSafetensors(path.join(src, shards[0]), { a: { shape: [2], data: Float32Array.from([1, 2]) } });
    await writeSafetensors(path.join(src, shards[1]), { b: { shape: [1], data: Float32Array.from([3]) } });
    const files: RepoFiles = folderFiles(NEOX);
    delete files['model.safetensors'];
    files['model.safetensors.index.json'] = Buffer.from(JSON.stringify({ weight_map: { a: shards[0], b: shards[1] } }));
    for (const s of shards) files[s] = readFileSync(path.join(src, s));
    hub.repos.set('test-org/sharded', files);

    const dir = await resolveModel('test-org/sharded', { cacheDir, endpoint: hub.endpoint });
    for (const s of shards) assert.ok(readFileSync(path.join(dir, s)).equals(files[s] as Buffer), s);
    assert.equal(await fsp.stat(path.join(dir, 'model.safetensors')).catch(() => null), null);
  });

  it('never leaves a half-written file behind', async () => {
    hub.repos.set('test-org/flaky', { ...folderFiles(NEOX), 'model.safetensors': 'truncate' });
    await rejectsWith(resolveModel('test-org/flaky', { cacheDir, endpoint: hub.endpoint }), /downloading test-org\/flaky@main\/model\.safetensors failed/, /run the command again/);
    const dir = path.join(cacheDir, 'test-org--flaky', 'main');
    // Finished files stay (a rerun resumes), the broken one is gone, and nothing claims completeness.
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['config.json', 'tokenizer.json', 'tokenizer_config.json']);
  });

  it('names the repo or file the hub does not have', async () => {
    await rejectsWith(resolveModel('test-org/absent', { cacheDir, endpoint: hub.endpoint }), /hub repo test-org\/absent is gated, private or does not exist \(HTTP 401\)/, /HF_TOKEN/);
    const noTokenizer = folderFiles(NEOX);
    delete noTokenizer['tokenizer.json'];
    hub.repos.set('test-org/no-tok', noTokenizer);
    await rejectsWith(resolveModel('test-org/no-tok', { cacheDir, endpoint: hub.endpoint }), /test-org\/no-tok@main has no file tokenizer\.json \(404\)/);
  });

  it('gives one clear message when the hub is unreachable', async () => {
    const opts = { cacheDir: path.join(cacheDir, 'other'), endpoint: 'http://127.0.0.1:1' };
    await rejectsWith(
      resolveModel('test-org/tiny-neox', opts),
      /^cannot reach the Hugging Face hub \(http:\/\/127\.0\.0\.1:1\) for test-org\/tiny-neox: /,
      /--model \/path\/to\/folder/,
      /config\.json, tokenizer\.json.*model\.safetensors/,
    );
    // Port 1 is on fetch's blocked-port list; a freshly closed port exercises a real refused connection.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await rejectsWith(
      resolveModel('test-org/tiny-neox', { ...opts, endpoint: `http://127.0.0.1:${port}` }),
      /for test-org\/tiny-neox: connection refused \(ECONNREFUSED\)/,
    );
  });

  it('times out on a hub that never answers', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      await rejectsWith(resolveModel('test-org/tiny-neox', { cacheDir: path.join(cacheDir, 'silent'), endpoint, timeoutMs: 150 }),
        /cannot reach the Hugging Face hub .*: no response after 150 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('uses local folders as they are', async () => {
    assert.equal(await resolveModel(NEOX), path.resolve(NEOX));
    await rejectsWith(resolveModel(cacheDir), /has no config\.json/);
    await rejectsWith(resolveModel('./no/such/folder'), /no such folder, and not a hub id/);
    await rejectsWith(resolveModel(path.join(NEOX, 'config.json')), /is a file/);
  });
});
