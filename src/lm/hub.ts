/**
 * `--model` resolution: a local Hugging Face folder is used as is; an `org/name[@revision]` id is
 * downloaded once into a cache folder with the files prototoken needs, and that folder is returned.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { HubApiError, downloadFile } from '@huggingface/hub';
import { PrototokenError, errorMessage } from '../util/errors.js';

/** Options of `resolveModel`. */
export interface ResolveModelOptions {
  /** Root of the download cache. Default: `$PROTOTOKEN_CACHE`, else `~/.cache/prototoken/hub`. */
  cacheDir?: string;
  /** Hub base URL. Default: `$HF_ENDPOINT`, else `https://huggingface.co`. */
  endpoint?: string;
  /** `fetch` used for every request (tests, proxies). Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Token for gated or private repos (must start with `hf_`). Default: `$HF_TOKEN`, else none. */
  accessToken?: string;
  /** Abandon a request whose response headers have not arrived after this many ms. Default: 30000. */
  timeoutMs?: number;
  /** Called before each file download starts (for progress output). Default: nothing. */
  onDownload?: (file: string) => void;
}

/** Files a model folder must have, besides its weights. */
const REQUIRED_FILES = ['config.json', 'tokenizer.json'];
const OPTIONAL_FILES = ['tokenizer_config.json'];
const SINGLE_WEIGHTS = 'model.safetensors';
const WEIGHTS_INDEX = 'model.safetensors.index.json';
const FOLDER_CONTENTS =
  'config.json, tokenizer.json, tokenizer_config.json and model.safetensors ' +
  '(or model.safetensors.index.json with its shards)';
const COMPLETE_MARKER = '.prototoken-complete.json';
const HUB_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;

/** Whether `value` has the form of a hub id, `org/name[@revision]` (a local folder of that name wins). */
export function isHubId(value: string): boolean {
  return HUB_ID.test(value);
}

/**
 * Turn a `--model` argument into a local model folder. An existing directory is returned as is (it
 * must contain config.json); `org/name` or `org/name@revision` is fetched from the hub into the cache,
 * skipping files already there. Every failure is a `PrototokenError` saying what to do.
 */
export async function resolveModel(modelArg: string, opts: ResolveModelOptions = {}): Promise<string> {
  const stat = await fsp.stat(modelArg).catch(() => null);
  if (stat?.isDirectory()) {
    if (!(await exists(path.join(modelArg, 'config.json')))) {
      throw new PrototokenError('this folder has no config.json, so it is not a Hugging Face model folder', {
        file: modelArg,
        fix: `a model folder must contain ${FOLDER_CONTENTS}`,
      });
    }
    return path.resolve(modelArg);
  }
  const match = HUB_ID.exec(modelArg);
  if (stat || !match) {
    throw new PrototokenError(
      stat ? 'is a file; --model needs a folder or a hub id' : 'no such folder, and not a hub id like org/name',
      { file: modelArg, fix: `pass a folder containing ${FOLDER_CONTENTS}, or a hub id such as EleutherAI/pythia-70m` },
    );
  }
  const [, org, name, revision = 'main'] = match;
  const repo = `${org}/${name}`;
  const cacheRoot =
    opts.cacheDir ?? process.env.PROTOTOKEN_CACHE ?? path.join(os.homedir(), '.cache', 'prototoken', 'hub');
  // Revisions like refs/pr/1 contain slashes; one folder level per revision keeps the layout flat.
  const folder = path.join(cacheRoot, `${org}--${name}`, encodeURIComponent(revision));
  // Written last: its presence means every needed file is here, so a cached model works offline
  // even when the repo lacks an optional file (which would otherwise be asked for every time).
  const marker = path.join(folder, COMPLETE_MARKER);
  if (await exists(marker)) return folder;
  await fsp.mkdir(folder, { recursive: true });
  await new Downloader(repo, revision, folder, opts).run();
  await fsp.writeFile(`${marker}.tmp`, JSON.stringify({ repo, revision, completedAt: new Date().toISOString() }));
  await fsp.rename(`${marker}.tmp`, marker);
  return folder;
}

/** Thrown by the guarded fetch so a transport failure is never mistaken for an HTTP answer. */
class UnreachableError extends Error {}

class Downloader {
  private readonly endpoint: string;
  private readonly fetch: typeof fetch;
  /** Last transport failure; body streams report errors as bare strings, so we remember the cause here. */
  private unreachable: UnreachableError | null = null;

  constructor(
    private readonly repo: string,
    private readonly revision: string,
    private readonly folder: string,
    private readonly opts: ResolveModelOptions,
  ) {
    this.endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
    this.fetch = guardedFetch(opts.fetch ?? fetch, opts.timeoutMs ?? 30_000, (e) => (this.unreachable = e));
  }

  async run(): Promise<void> {
    for (const f of REQUIRED_FILES) await this.get(f, true);
    for (const f of OPTIONAL_FILES) await this.get(f, false);
    // A local copy decides the layout, so a fully cached model makes no request at all.
    const haveSingle = await exists(path.join(this.folder, SINGLE_WEIGHTS));
    const haveIndex = await exists(path.join(this.folder, WEIGHTS_INDEX));
    if (haveSingle || (!haveIndex && (await this.get(SINGLE_WEIGHTS, false)))) return;
    if (!haveIndex && !(await this.get(WEIGHTS_INDEX, false))) {
      throw new PrototokenError(`hub repo ${this.repo}@${this.revision} has no ${SINGLE_WEIGHTS} or ${WEIGHTS_INDEX}`, {
        fix: 'prototoken reads safetensors weights only; choose a repo that publishes them',
      });
    }
    for (const shard of await shardNames(path.join(this.folder, WEIGHTS_INDEX))) await this.get(shard, true);
  }

  /** Ensure `file` is in the folder; returns false if the repo lacks an optional file. */
  private async get(file: string, required: boolean): Promise<boolean> {
    const dest = path.join(this.folder, file);
    if (await exists(dest)) return true;
    const label = `${this.repo}@${this.revision}/${file}`;
    const token = this.opts.accessToken ?? process.env.HF_TOKEN;
    try {
      const blob = await downloadFile({
        repo: this.repo,
        path: file,
        revision: this.revision,
        hubUrl: this.endpoint,
        fetch: this.fetch,
        ...(token ? { accessToken: token } : {}),
      });
      if (!blob) {
        if (!required) return false;
        throw new PrototokenError(`hub repo ${this.repo}@${this.revision} has no file ${file} (404)`, {
          fix: `prototoken needs ${FOLDER_CONTENTS}; choose a repo that has them`,
        });
      }
      this.opts.onDownload?.(file);
      await saveAtomically(blob, dest, label);
      return true;
    } catch (err) {
      throw this.explain(err, label);
    }
  }

  private explain(err: unknown, label: string): Error {
    if (err instanceof PrototokenError) return err;
    const unreachable = err instanceof UnreachableError ? err : this.unreachable;
    if (unreachable) {
      return new PrototokenError(`cannot reach the Hugging Face hub (${this.endpoint}) for ${this.repo}: ${unreachable.message}`, {
        fix:
          `download the model folder where the hub is reachable (e.g. \`huggingface-cli download ${this.repo} ` +
          '--local-dir DIR`), copy it here and pass `--model /path/to/folder`; ' +
          `it must contain ${FOLDER_CONTENTS}`,
      });
    }
    if (err instanceof HubApiError) {
      const status = err.statusCode;
      const problem =
        status === 401 || status === 403
          ? `hub repo ${this.repo} is gated, private or does not exist (HTTP ${status})`
          : status === 404
            ? `hub repo ${this.repo} or revision ${this.revision} not found (HTTP 404 for ${label})`
            : `the hub answered HTTP ${status} for ${label}`;
      return new PrototokenError(problem, {
        fix:
          status === 401 || status === 403
            ? 'check the id; for a gated model accept its license on the hub and set HF_TOKEN'
            : 'check the model id and revision (org/name or org/name@revision)',
      });
    }
    return new PrototokenError(`downloading ${label} failed: ${errorMessage(err)}`, {
      fix: 'run the command again (finished files are kept; the interrupted one is restarted)',
    });
  }
}

/**
 * Wrap `base` so that every transport failure (DNS, refused connection, reset, no response within
 * `timeoutMs`) becomes an `UnreachableError`. The timer stops once headers arrive, so slow large
 * bodies are not cut off.
 */
function guardedFetch(base: typeof fetch, timeoutMs: number, onFail: (e: UnreachableError) => void): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no response after ${timeoutMs} ms`)), timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    try {
      return await base(input, { ...init, signal });
    } catch (err) {
      const failure = new UnreachableError(transportReason(err));
      onFail(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  };
}

const TRANSPORT_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found (offline or no DNS?)',
  EAI_AGAIN: 'host name lookup failed (offline or no DNS?)',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  ENETUNREACH: 'network unreachable',
};

/** Node's fetch says only "fetch failed"; the useful code (ECONNREFUSED, ENOTFOUND, ...) is in `cause`. */
function transportReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return `${TRANSPORT_CODES[cause.code] ?? 'network error'} (${cause.code})`;
  if (typeof cause?.message === 'string') return cause.message;
  return errorMessage(err);
}

/** Stream `blob` to a temporary file next to `dest` and rename it, so a partial file is never used. */
async function saveAtomically(blob: Blob, dest: string, label: string): Promise<void> {
  const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await pipeline(Readable.fromWeb(blob.stream() as NodeReadableStream<Uint8Array>), createWriteStream(tmp));
    const written = (await fsp.stat(tmp)).size;
    if (written !== blob.size) {
      throw new Error(`received ${written} of ${blob.size} bytes for ${label}`);
    }
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

async function shardNames(indexFile: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await fsp.readFile(indexFile, 'utf8'));
  } catch (err) {
    await fsp.rm(indexFile, { force: true });
    throw new PrototokenError(`invalid shard index (${errorMessage(err)}); it was deleted`, {
      file: indexFile,
      fix: 'run the command again to re-download it',
    });
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  const shards = typeof map === 'object' && map !== null ? Object.values(map) : [];
  // Shard names come from the network: refuse anything that could escape the cache folder.
  if (shards.length === 0 || !shards.every((s) => typeof s === 'string' && /^[\w.-]+$/.test(s))) {
    throw new PrototokenError('the shard index has no usable weight_map', {
      file: indexFile,
      fix: 'delete this folder and run again; if it persists the repo is broken',
    });
  }
  return [...new Set(shards as string[])].sort();
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(() => true, () => false);
}
