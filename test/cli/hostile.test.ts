/**
 * Hostile input, one line per case: a bad flag, value, config file, path or combination given to a
 * command. Every case runs the real CLI in a folder of its own (relative paths land there) and
 * must end with the exit code, one `error:` line matching the case's pattern (no stack, no
 * "internal error"), and the folder exactly as it was: every file the case started with unchanged,
 * nothing new (no half-written output, no temporary file left behind).
 *
 * To add a case, add a line to CASES. Cases must stay fast: refused before a model loads, or with
 * the embedded model and no real solving.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { CORPUS, ROOT, assertUserError, describeRun, runCli } from './run.js';

interface HostileCase {
  /** What is wrong (the test's name). */
  what: string;
  /** `prototoken` arguments, run in the case's own folder. */
  args: string[];
  /** What the `error:` line must say. */
  error: RegExp;
  /** Files the case starts with, path -> content; a path ending in "/" is a folder. */
  files?: Record<string, string | Buffer>;
  /** The exit code. Default 1. */
  code?: number;
}

/** Flags that keep a case quiet (no backend line before the error) and off the native backends. */
const Q = ['--backend', 'wasm', '--quiet'];
const SOLVE = ['solve', '--texts', CORPUS, '--length', '4', '--out', 'out'];
const STORY = '{"id": "a", "text": "Once upon a time there was a cat."}\n';
/** A text file with a Latin-1 byte (0xE9, é) on its second line. */
const LATIN1 = Buffer.concat([Buffer.from(STORY), Buffer.from('{"id": "b", "text": "Le caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]);
const WEIGHTS = join(ROOT, 'models', 'stories260k', 'model.safetensors');
const TRAIN = ['train', '--texts', CORPUS, '--window', '8', '--m', join(ROOT, 'checkpoints', 'stories260k-n8', 'best', 'm.safetensors')];

const CASES: HostileCase[] = [
  // Flags.
  { what: 'an unknown flag', args: [...SOLVE, '--bogus'], error: /unknown option '--bogus'/ },
  { what: 'a word where a number goes', args: ['solve', '--texts', CORPUS, '--length', 'abc', '--out', 'out'], error: /--length <n>' argument 'abc' is invalid.*whole number/ },
  { what: 'a number out of range, named by its flag', args: [...SOLVE, '--max-steps', '0'], error: /^error: --max-steps 0: bad value for "max_steps"/ },
  { what: 'a missing required flag', args: ['fit-m', '--length', '4', '--out', 'm.safetensors'], error: /required option '--texts <file>' not specified/ },
  { what: 'a missing required setting', args: ['solve', '--texts', CORPUS, '--length', '4'], error: /missing required setting "out"/ },
  { what: '--backend bogus', args: ['info', '--backend', 'bogus'], error: /^error: --backend bogus: bad value for "backend"/ },
  { what: 'a preset that does not exist', args: [...SOLVE, '--preset', 'nope'], error: /^error: unknown preset "nope" \(there is no configs\/solver-nope\.yaml\)\nFix: use one of: fast, paper/ },
  { what: 'an old and a new spelling of one flag', args: ['train', '--name', 'x', '--max-steps', '3', '--stop-at-step', '4'], error: /--max-steps and --stop-at-step name the same setting/ },
  { what: 'a shard index past the count', args: [...SOLVE, '--shard', '3/2', ...Q], error: /--shard 3\/2: index 3 must be below the count 2/ },
  { what: 'a text kind that does not exist', args: ['solve', '--kind', 'bogus', '--length', '4', '--out', 'out'], error: /^error: --kind bogus: bad value for "kind".*natural.*random.*generated/ },
  { what: 'a run name with a slash', args: ['train', '--name', 'a/b', '--texts', CORPUS], error: /^error: --name a\/b: bad value for "name"/ },
  { what: 'compare offers no --texts', args: ['compare', '--checkpoint', 'ck', '--texts', 'x.jsonl'], error: /unknown option '--texts'/ },
  { what: 'compare without --dataset', args: ['compare', '--checkpoint', 'ck', ...Q], error: /compare needs optimized e/ },
  { what: 'one --arrangement given to arrangements', args: ['arrangements', '--texts', CORPUS, '--out', 'out', '--arrangement', 'e-m'], error: /--arrangement picks one arrangement/ },
  { what: '--restarts given to sharing', args: ['sharing', '--texts', CORPUS, '--length', '4', '--out', 'out', '--restarts', '2'], error: /--restarts does not apply/ },
  { what: 'distances with no dataset', args: ['distances', '--out', 'out'], error: /no dataset given/ },
  { what: 'interpolate --taus below 65', args: ['interpolate', 'ds', '--out', 'out', '--taus', '9'], error: /^error: --taus 9: bad value for "taus"/ },
  { what: 'report with no input', args: ['report', '--out', 'r.html'], error: /missing required argument 'inputs'/ },
  // Config files.
  { what: 'an unknown key in a YAML file', args: [...SOLVE, '--config', 'c.yaml'], files: { 'c.yaml': 'lr: 0.02\nwibble: 3\n' }, error: /c\.yaml: unknown config key "wibble"/ },
  { what: 'a config file that is not YAML', args: [...SOLVE, '--config', 'c.yaml'], files: { 'c.yaml': 'lr: [0.02\n' }, error: /c\.yaml: not valid YAML\/JSON/ },
  { what: 'a config file holding a list', args: [...SOLVE, '--config', 'c.yaml'], files: { 'c.yaml': '- lr\n- 0.02\n' }, error: /c\.yaml: a config file must hold one mapping/ },
  { what: 'a --config file that does not exist', args: [...SOLVE, '--config', 'nope.yaml'], error: /nope\.yaml: config file not found/ },
  { what: 'a folder given to --config', args: [...SOLVE, '--config', 'conf/'], files: { 'conf/': '' }, error: /conf\/?: this is a folder, not a config file/ },
  { what: 'a bad value in a file, named as the file spells it', args: [...SOLVE, '--config', 'c.yaml'], files: { 'c.yaml': 'maxSteps: lots\n' }, error: /c\.yaml: bad value for "maxSteps"/ },
  { what: 'a preset in a file that does not exist', args: [...SOLVE, '--config', 'c.yaml'], files: { 'c.yaml': 'preset: nope\n' }, error: /unknown preset "nope"/ },
  { what: 'a config file naming another config file', args: ['info', '--config', 'c.yaml'], files: { 'c.yaml': 'config: other.yaml\n' }, error: /"config" cannot be set in a config file/ },
  { what: 'quiet: maybe in a config file', args: ['info', '--config', 'c.yaml'], files: { 'c.yaml': 'quiet: maybe\n' }, error: /c\.yaml: bad value for "quiet": expected true or false/ },
  { what: 'resume: true in solve\'s config file (solve has no --resume)', args: [...SOLVE, '--config', 'c.yaml'], files: { 'c.yaml': 'resume: true\n' }, error: /unknown config key "resume"/ },
  // Paths.
  { what: 'a model folder that does not exist', args: ['info', '--model', 'no-model', ...Q], error: /no-model/ },
  { what: 'a texts file that does not exist', args: ['score', 'missing.jsonl', ...Q], error: /missing\.jsonl/ },
  { what: 'an empty texts file', args: ['score', 'empty.jsonl', ...Q], files: { 'empty.jsonl': '' }, error: /empty\.jsonl/ },
  { what: 'a folder given where a texts file goes', args: ['score', 'texts/', ...Q], files: { 'texts/': '' }, error: /texts\/?: .*(folder|directory|EISDIR)/ },
  { what: 'inspect on a folder that is not a dataset', args: ['inspect', 'plain/'], files: { 'plain/': '', 'plain/notes.txt': 'hello\n' }, error: /plain\/?: .*not a prototoken dataset folder/ },
  { what: 'export of a folder that does not exist', args: ['export', 'nothing'], error: /nothing: .*not a prototoken dataset folder/ },
  { what: 'report of a path that does not exist', args: ['report', 'nothing', '--out', 'r.html'], error: /nothing: cannot open this input/ },
  { what: 'an encoder checkpoint that does not exist', args: ['eval', '--checkpoint', 'nock', '--texts', CORPUS, ...Q], error: /nock: no encoder checkpoint here/ },
  { what: 'an --init that is neither a choice nor a file', args: [...SOLVE, '--init', 'missing.safetensors', ...Q], error: /--init "missing\.safetensors" is neither a known choice nor an existing file/ },
  { what: 'fit-m into a folder that does not exist', args: ['fit-m', '--texts', CORPUS, '--length', '4', '--out', 'missing/m.safetensors', ...Q], error: /missing: this folder does not exist/ },
  { what: 'fit-m onto an existing file', args: ['fit-m', '--texts', CORPUS, '--length', '4', '--out', 'm.safetensors', ...Q], files: { 'm.safetensors': 'mine' }, error: /m\.safetensors: already exists[\s\S]*--overwrite/ },
  { what: 'solve --out naming a file', args: ['solve', '--texts', CORPUS, '--length', '4', '--out', 'notes.txt', ...Q], files: { 'notes.txt': 'mine\n' }, error: /notes\.txt: --out must be a folder, but this is a file/ },
  { what: 'train over a run folder holding a snapshot (e.g. a shipped encoder)', args: [...TRAIN, '--name', 'enc', '--checkpoints-dir', 'ck', ...Q], files: { 'ck/enc/best/encoder.json': '{}\n' }, error: /a run named "enc" already exists[\s\S]*--overwrite/ },
  { what: 'train --checkpoints-dir naming a file', args: [...TRAIN, '--name', 'x', '--checkpoints-dir', 'ck', ...Q], files: { ck: 'mine\n' }, error: /ck: --checkpoints-dir must be a folder, but this is a file/ },
  { what: 'train into a folder that is not a run', args: [...TRAIN, '--name', 'notes', '--checkpoints-dir', 'ck', ...Q], files: { 'ck/notes/todo.txt': 'mine\n' }, error: /notes: this folder exists and is not a training run/ },
  { what: 'train --resume with nothing to resume', args: [...TRAIN, '--name', 'x', '--checkpoints-dir', 'ck', '--resume', ...Q], error: /nothing to resume: no last\/ snapshot/ },
  { what: 'train --resume and --overwrite together', args: [...TRAIN, '--name', 'x', '--resume', '--overwrite', ...Q], error: /--resume continues a run and --overwrite replaces it/ },
  { what: 'train --curriculum past the window', args: [...TRAIN, '--name', 'x', '--curriculum', '16@100', ...Q], error: /--curriculum 16@100: a stage trains on the first n tokens/ },
  { what: 'a texts file that is not UTF-8', args: ['score', 'latin1.jsonl', ...Q], files: { 'latin1.jsonl': LATIN1 }, error: /latin1\.jsonl:2: not UTF-8: byte 0xE9/ },
  { what: 'solve on a texts file that is not UTF-8', args: ['solve', '--texts', 'latin1.jsonl', '--length', '4', '--out', 'out', ...Q], files: { 'latin1.jsonl': LATIN1 }, error: /latin1\.jsonl:2: not UTF-8/ },
  { what: 'verify of an empty folder', args: ['verify', 'empty/'], files: { 'empty/': '' }, error: /not a prototoken dataset folder/ },
  { what: '--m given the model weights', args: [...SOLVE, '--m', WEIGHTS, ...Q], error: /no tensor "m" \(found \d+ tensors: .*and \d+ more\)/ },
  { what: 'generate-corpus onto an existing file', args: ['generate-corpus', '--count', '2', '--out', 'corpus.jsonl', ...Q], files: { 'corpus.jsonl': STORY }, error: /corpus\.jsonl: already exists/ },
];

describe('hostile input: one clear error, nothing lost or half-written', { concurrency: 4 }, () => {
  for (const c of CASES) {
    it(c.what, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'prototoken-hostile-'));
      try {
        for (const [path, content] of Object.entries(c.files ?? {})) {
          if (path.endsWith('/')) await mkdir(join(dir, path), { recursive: true });
          else {
            await mkdir(dirname(join(dir, path)), { recursive: true });
            await writeFile(join(dir, path), content);
          }
        }
        const before = await tree(dir);
        const r = await runCli(c.args, { cwd: dir });
        assertUserError(r);
        assert.equal(r.code, c.code ?? 1, describeRun(r));
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
        assert.equal(lines.length, 1, `one error line\n${describeRun(r)}`);
        assert.match(r.stderr.slice(r.stderr.indexOf('error: ')), c.error, describeRun(r));
        assert.deepEqual(await tree(dir), before, `the folder is as it was (nothing written, changed or left behind)\n${describeRun(r)}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

/** Every file and folder under `dir`: relative path -> sha256 of its bytes ("dir" for a folder). */
async function tree(dir: string, at = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, at), { withFileTypes: true })) {
    const rel = join(at, e.name);
    if (e.isDirectory()) Object.assign(out, { [rel]: 'dir' }, await tree(dir, rel));
    else out[rel] = createHash('sha256').update(await readFile(join(dir, rel))).digest('hex');
  }
  return out;
}
