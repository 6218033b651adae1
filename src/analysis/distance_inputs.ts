/**
 * The solutions `prototoken distances` compares, read from one or more solution datasets.
 *
 * e vectors are only comparable when everything else that shapes them is shared: the model, N,
 * the arrangement and one fixed m. With m learned per text, each e was fitted together with its
 * own m, so two e differ partly because their m do; such datasets are refused, as are capacity
 * datasets (rows of many N) and datasets that differ from the first in any of these.
 *
 * A solution is a row, identified by (text id, seed, restart). Rows of one text in several
 * datasets (solved with different --seed) and several restarts of one text in one dataset give the
 * same-text pairs; a row repeating an identity already read is the same solution twice and is left
 * out. The `restart` column is read when a dataset has one (`solve --keep-all-restarts`), never
 * required. A text's context is its story (`storyOf`): the prompt for `solve --kind generated
 * --continuations K` (ids `generated-<id>#<c>`), the story for windows, the text itself otherwise.
 */
import { resolve } from 'node:path';
import { readDataset } from '../datasets/reader.js';
import type { DatasetSettings } from '../datasets/info.js';
import { storyOf } from '../texts/windows.js';
import { PrototokenError } from '../util/errors.js';
import type { Solution } from './distances.js';

/** Which rows are read. */
export interface DistanceInputOptions {
  /** Also use rows whose text the solver did not reproduce exactly. Default false: such an e is not a solution of its text. */
  includeUnsolved: boolean;
  /** Check every batch against its checksum while reading. Default true. */
  verify: boolean;
}

export const DISTANCE_INPUT_DEFAULTS: Readonly<DistanceInputOptions> = { includeUnsolved: false, verify: true };

/** What was read. */
export interface DistanceInputs {
  solutions: Solution[];
  /** The model id (path or hub name) the first dataset records. */
  model: string;
  d: number;
  N: number;
  /** Per dataset: rows stored, rows used, and whether it has a `restart` column. */
  datasets: { dir: string; rows: number; used: number; restartColumn: boolean }[];
  /** Things a person should know: reader warnings, rows left out, differing starts. */
  notes: string[];
}

/** Read the solutions of `dirs` (see the module comment for what is refused). */
export async function loadDistanceInputs(dirs: readonly string[], options: Partial<DistanceInputOptions> = {}): Promise<DistanceInputs> {
  const o = { ...DISTANCE_INPUT_DEFAULTS, ...options };
  if (dirs.length === 0) throw new PrototokenError('no dataset given', { fix: 'pass one or more solution dataset folders (the --out of `prototoken solve`)' });
  const given = new Map<string, string>();
  for (const dir of dirs) {
    const twice = given.get(resolve(dir));
    if (twice !== undefined) {
      throw new PrototokenError(`given twice (also as ${twice})`, { file: dir, fix: 'pass each dataset once; for same-text pairs pass datasets of the same texts solved with different --seed' });
    }
    given.set(resolve(dir), dir);
  }
  const solutions: Solution[] = [];
  const datasets: DistanceInputs['datasets'] = [];
  const notes: string[] = [];
  const identities = new Set<string>();
  const texts = new Map<string, { tokens: Int32Array; dir: string }>();
  let first: { dir: string; settings: DatasetSettings } | null = null;
  for (const dir of dirs) {
    const ds = await readDataset(dir, { verify: o.verify });
    checkUsable(dir, ds.info);
    if (first) notes.push(...checkSameRun(first, { dir, settings: ds.info }));
    else first = { dir, settings: ds.info };
    notes.push(...ds.warnings.map((w) => `${dir}: ${w}`));
    const restart = ds.table.getChild('restart');
    let unsolved = 0;
    let repeated = 0;
    let used = 0;
    let i = -1;
    for (const row of ds.rows()) {
      i++;
      if (!row.solved && !o.includeUnsolved) {
        unsolved++;
        continue;
      }
      const identity = `${row.textId}\u0000${row.seed}\u0000${restart ? String(restart.get(i)) : ''}`;
      if (identities.has(identity)) {
        repeated++;
        continue;
      }
      identities.add(identity);
      const known = texts.get(row.textId);
      if (!known) texts.set(row.textId, { tokens: row.tokenIds, dir });
      else if (!sameIds(known.tokens, row.tokenIds)) {
        throw new PrototokenError(`text '${row.textId}' has other target tokens here than in ${known.dir}: one id, two texts`, {
          file: dir,
          fix: 'pass datasets of the same texts: solve with the same --texts, --kind, --length and --text-seed; only --seed should differ',
        });
      }
      solutions.push({ textId: row.textId, context: storyOf(row.textId), tokenIds: row.tokenIds, e: row.e });
      used++;
    }
    if (unsolved > 0) notes.push(`${dir}: ${unsolved} unsolved rows left out (--include-unsolved keeps them)`);
    if (repeated > 0) notes.push(`${dir}: ${repeated} rows repeat a solution already read (same text, seed and restart); left out`);
    datasets.push({ dir, rows: ds.numRows, used, restartColumn: restart !== null });
  }
  if (first === null) throw new Error('loadDistanceInputs: no dataset read'); // dirs is not empty
  const s = first.settings;
  if (solutions.length === 0) {
    throw new PrototokenError(`no ${o.includeUnsolved ? '' : 'solved '}rows to compare`, {
      file: dirs.join(', '),
      fix: o.includeUnsolved ? 'solve some texts first' : 'pass --include-unsolved, or solve again with a larger --max-steps',
    });
  }
  return { solutions, model: s.model.id, d: s.model.d_model, N: s.length as number, datasets, notes };
}

/** e of one dataset are comparable with each other only at one N and under one fixed m. */
function checkUsable(dir: string, s: DatasetSettings): void {
  if (s.length === null) {
    throw new PrototokenError(`a ${s.kind} dataset: its rows have different lengths N, and e of different N are not comparable`, {
      file: dir,
      fix: 'solve the texts at one length: `prototoken solve --length N --m M.safetensors ...`',
    });
  }
  if (s.m.mode === 'per-text') {
    throw new PrototokenError(
      'm was learned per text, so each e was fitted together with its own m and two e differ partly because their m do: ' +
        'distances of e are only comparable under one fixed m',
      { file: dir, fix: 'learn one m (`prototoken fit-m --texts FILE --length N --out m.safetensors`) and solve with it (`prototoken solve ... --m m.safetensors`)' },
    );
  }
}

/** Refuse what makes e incomparable with the first dataset; returns notes for what only weakens the comparison. */
function checkSameRun(first: { dir: string; settings: DatasetSettings }, other: { dir: string; settings: DatasetSettings }): string[] {
  const a = first.settings;
  const b = other.settings;
  const diffs: string[] = [];
  if (a.model.fingerprint !== b.model.fingerprint || a.model.tokenizer_hash !== b.model.tokenizer_hash || a.model.d_model !== b.model.d_model) {
    diffs.push(`model ${b.model.id} (weights ${b.model.fingerprint.slice(0, 12)}, d ${b.model.d_model}) vs ${a.model.id} (weights ${a.model.fingerprint.slice(0, 12)}, d ${a.model.d_model})`);
  }
  if (a.length !== b.length) diffs.push(`N=${b.length} vs N=${a.length}`);
  if (a.arrangement !== b.arrangement) diffs.push(`arrangement ${b.arrangement} vs ${a.arrangement}`);
  if (a.m.mode === 'shared' && b.m.mode === 'shared' && a.m.fingerprint !== b.m.fingerprint) {
    diffs.push(`fixed m sha256 ${b.m.fingerprint.slice(0, 12)} vs ${a.m.fingerprint.slice(0, 12)}`);
  }
  if (diffs.length > 0) {
    throw new PrototokenError(`not comparable with ${first.dir}: ${diffs.join('; ')}`, {
      file: other.dir,
      fix: 'pass datasets solved with the same model, --length, --arrangement and --m; only --seed should differ',
    });
  }
  return a.init === b.init
    ? []
    : [`${other.dir}: started from "${b.init}", ${first.dir} from "${a.init}"; a solution keeps much of its start, so same-text distances across them also measure the starts`];
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
