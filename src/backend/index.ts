/**
 * Choose, initialise and patch the TF.js backend. Call `initBackend` once, before any tf op; every
 * other layer then just uses `tf` (see ./tf.ts) and never names a backend.
 *
 * Order of preference for 'auto': the native TensorFlow bindings (@tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node; optional dependencies that need libtensorflow and so are often absent),
 * then wasm (XNNPACK, works everywhere Node runs), then the pure-JS cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { errorMessage, PrototokenError } from '../util/errors.js';
import { installPatches, type PatchOptions } from './patches.js';

export { installPatches, patchState, uninstallPatches, type PatchOptions, type PatchState } from './patches.js';

/** What the user may ask for (`--backend`). */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** Every accepted `BackendChoice`, for flag parsing and help text. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** The backend actually running. */
export interface BackendInfo {
  /** tf's name for it (`tf.getBackend()`). */
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** Human-readable, e.g. 'tfjs-node-gpu', 'wasm (simd, 1 thread)', 'cpu (pure JS)'. */
  detail: string;
}

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Do not print the `backend: ...` line. Default false. */
  quiet?: boolean;
  /**
   * Our kernel/gradient replacements: `true` installs all, `false` restores stock tfjs, an object
   * picks (see `PatchOptions`). Applied on every call, even when the backend is already set.
   * Default true.
   */
  patches?: boolean | PatchOptions;
  /** Where the `backend: ...` line goes. Default: a line on stderr. */
  log?: (line: string) => void;
}

/** Native packages in order of preference, with the `detail` they report. */
const NATIVE_PACKAGES: readonly { spec: string; detail: string }[] = [
  { spec: '@tensorflow/tfjs-node-gpu', detail: 'tfjs-node-gpu' },
  { spec: '@tensorflow/tfjs-node', detail: 'tfjs-node' },
];

const INSTALL_FIX =
  'run `npm i @tensorflow/tfjs-node-gpu` (or `npm i @tensorflow/tfjs-node` for CPU only) on a machine ' +
  'that can download libtensorflow, or use `--backend wasm`, which works everywhere.';

let current: { choice: BackendChoice; info: BackendInfo } | null = null;
let lastAnnounced: string | null = null;
/** Serialises calls, so two concurrent `initBackend`s cannot interleave their setBackend calls. */
let queue: Promise<unknown> = Promise.resolve();

function patchOptions(patches: boolean | PatchOptions | undefined): PatchOptions {
  if (patches === false) return { segmentSum: false, matMulGrad: false, matMulKernel: false };
  return patches === true || patches === undefined ? {} : patches;
}

/**
 * The cpu backend greets Node users with a console "Hi, looks like you are running TensorFlow.js in
 * Node.js ... install our node backend" banner on its first tensor write (MathBackendCPU.write,
 * gated by a per-instance `firstUse` flag). We choose backends deliberately, so mark the instance
 * as used. `findBackend` creates the instance if needed; it is cheap and shared with setBackend.
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu !== null && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}

function isMissingPackage(err: unknown, spec: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && errorMessage(err).includes(`'${spec}'`);
}

interface Attempt {
  info: BackendInfo | null;
  /** Why each candidate failed, for error messages and notes. */
  failures: string[];
}

async function tryNative(): Promise<Attempt> {
  const failures: string[] = [];
  // libtensorflow's C++ logging floods stderr at import unless told otherwise.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  for (const { spec, detail } of NATIVE_PACKAGES) {
    try {
      // A variable specifier keeps TypeScript from requiring the (optional) package at build time.
      const specifier: string = spec;
      await import(specifier);
    } catch (err) {
      failures.push(isMissingPackage(err, spec) ? `${spec} is not installed` : `${spec} failed to load: ${errorMessage(err)}`);
      continue;
    }
    if (await tf.setBackend('tensorflow')) return { info: { name: 'tensorflow', detail }, failures };
    failures.push(`${spec} loaded but its 'tensorflow' backend did not initialise`);
  }
  return { info: null, failures };
}

async function tryWasm(): Promise<Attempt> {
  let ok: boolean;
  try {
    ok = await tf.setBackend('wasm');
  } catch (err) {
    return { info: null, failures: [`wasm failed to initialise: ${errorMessage(err)}`] };
  }
  if (!ok) return { info: null, failures: ['wasm failed to initialise (see the warning above)'] };
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = tfWasm.getThreadsCount();
  const detail = `wasm (${simd ? 'simd' : 'no simd'}, ${threads} thread${threads === 1 ? '' : 's'})`;
  return { info: { name: 'wasm', detail }, failures: [] };
}

async function useCpu(): Promise<BackendInfo> {
  silenceCpuBanner();
  if (!(await tf.setBackend('cpu'))) throw new PrototokenError('the cpu backend of TensorFlow.js failed to initialise');
  return { name: 'cpu', detail: 'cpu (pure JS)' };
}

async function resolve(choice: BackendChoice, note: (line: string) => void): Promise<BackendInfo> {
  if (choice === 'cpu') return useCpu();
  if (choice === 'tensorflow') {
    const native = await tryNative();
    if (native.info) return native.info;
    throw new PrototokenError(`--backend tensorflow: the native TensorFlow backend is unavailable (${native.failures.join('; ')})`, {
      fix: INSTALL_FIX,
    });
  }
  if (choice === 'wasm') {
    const wasm = await tryWasm();
    if (wasm.info) return wasm.info;
    throw new PrototokenError(`--backend wasm: ${wasm.failures.join('; ')}`, {
      fix: 'check that node_modules/@tensorflow/tfjs-backend-wasm/dist contains the .wasm files, or use `--backend cpu`.',
    });
  }
  const native = await tryNative();
  if (native.info) return native.info;
  // A native package that is present but broken deserves a word; an absent one is the normal case.
  for (const f of native.failures) if (!f.endsWith('is not installed')) note(`backend: ${f}; falling back`);
  const wasm = await tryWasm();
  if (wasm.info) return wasm.info;
  for (const f of wasm.failures) note(`backend: ${f}; falling back to cpu`);
  return useCpu();
}

/**
 * Select and initialise a backend, install our kernel patches, and print `backend: <detail>` once
 * (to stderr unless `quiet`). Calling again with the same choice only re-applies `patches`; a
 * different choice switches backend. Throws `PrototokenError` when an explicitly requested backend
 * cannot run ('tensorflow' without tfjs-node, 'wasm' without its binaries, or an unknown choice).
 */
export async function initBackend(choice: BackendChoice = 'auto', opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const run = queue.then(() => initSerial(choice, opts));
  queue = run.catch(() => undefined);
  return run;
}

async function initSerial(choice: BackendChoice, opts: InitBackendOptions): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new PrototokenError(`unknown backend '${String(choice)}'`, { fix: `use one of: ${BACKEND_CHOICES.join(', ')}.` });
  }
  installPatches(patchOptions(opts.patches));
  if (current !== null && current.choice === choice && tf.getBackend() === current.info.name) return current.info;

  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const say = (line: string): void => {
    if (!opts.quiet) log(line);
  };
  const info = await resolve(choice, say);
  silenceCpuBanner();
  current = { choice, info };
  if (info.detail !== lastAnnounced) {
    say(`backend: ${info.detail}`);
    // A quiet call has not told anyone, so a later non-quiet one still should.
    if (!opts.quiet) lastAnnounced = info.detail;
  }
  return info;
}

/** The backend set by the last successful `initBackend`, or null before the first one. */
export function currentBackend(): BackendInfo | null {
  return current === null ? null : { ...current.info };
}
