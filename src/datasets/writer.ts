/**
 * Appending solved rows to a dataset, one durable record batch per `append`.
 *
 * Each process (shard) owns one part, `part-SSSSS-of-NNNNN.arrows`, an Arrow IPC stream: created
 * atomically holding just its schema message (whose metadata records the run's settings), then
 * grown by one record-batch message per append, each fsync'd before `append` resolves. A process
 * killed at any moment leaves a readable stream plus at most one torn batch, which the next
 * writer of the part cuts off (framing: ipc_stream.ts; what counts as committed: checksums.ts).
 * A clean `close()` adds the end-of-stream marker; a resume removes it again before appending, so
 * no schema or end marker ever sits mid-stream.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PrototokenError } from '../util/errors.js';
import { recordBatchFromColumns } from './arrow_columns.js';
import { columnsFromBatch, columnsFromRecords, type SolutionBatch, type SolutionColumns, type SolutionRecord } from './columns.js';
import { checksum, indexFileFor, indexHeader, indexLine, splitRowsOf, type IndexEntry } from './checksums.js';
import { forEachColumns, openPartSource, openPreviousData, type SourceFile } from './dataset_file.js';
import { exists, removeStaleTemps, writeAll, writeFileAtomic } from '../util/fs_atomic.js';
import {
  FORMAT_NAME, FORMAT_VERSION, PART_META_KEY, compatDiff, type DatasetInfo, type DatasetKind, type DatasetSettings, type PartMeta,
  type RestartsInfo,
} from './info.js';
import { DoneRows } from './done_rows.js';
import { writePlan } from './plan.js';
import { END_OF_STREAM, batchMessageBytes, schemaMessageBytes } from './ipc_stream.js';
import { readSharedM, writeSharedM, DATA_FILE, M_FILE, listParts, readInfoFile, partFileName } from './folder.js';
import { fingerprintM } from '../lm/vector_file.js';
import { mergeDataset, type MergeReport } from './merge.js';
import { solutionSchema } from './schema.js';
import { shardOf, type ShardSpec } from '../jobs/shard.js';
import { DEFAULT_SPLIT_RATIOS, checkSplitRatios, type SplitRatios } from '../texts/split.js';
import { softwareVersion } from '../util/package.js';

/** The run a writer records; everything here except `shard` and `mergeOnClose` must match on resume. */
export interface DatasetWriterOptions {
  /** What the solver does. Default 'solve'. */
  kind?: DatasetKind;
  model: {
    /** Hub name or path, for people; not compared on resume. */
    id: string;
    /** sha256 of the weights (lm/safetensors.ts `weightsFingerprint`). */
    fingerprint: string;
    tokenizerHash: string;
    dModel: number;
  };
  /** Name of the [e][m]... arrangement. */
  arrangement: string;
  /** N, tokens per text; null when rows vary in length (capacity runs). */
  length: number | null;
  /** How e (and m) were initialised, in words. */
  init: string;
  /** 'per-text' (m is a column) or the shared m [d] (written to m.safetensors). */
  m: 'per-text' | Float32Array;
  /**
   * Keep every one of `count` restarts per text as its own row (a `restart` column); a text is then
   * complete once all its restarts are stored. Default: unset, one row per text (its best restart).
   */
  restarts?: RestartsInfo;
  /** The resolved solver config, stored as given (must be JSON). */
  solverConfig: Record<string, unknown>;
  /** Where the texts came from; `license` is the source texts' license (a Hugging Face license id). */
  source: { name: string; license: string; url?: string };
  /** This process's shard. Default {index: 0, count: 1}. */
  shard?: ShardSpec;
  /** Train/val/test fractions. Default 0.9 / 0.05 / 0.05. */
  splitRatios?: SplitRatios;
  /** Run mergeDataset (data.arrow, dataset_info.json, README.md) in close(). Default: true iff shard.count is 1. */
  mergeOnClose?: boolean;
  /**
   * Rows carry their input position (column `order`, required in every record). Default false. A
   * dataset created without it keeps its layout: resuming one, the writer's `ordered` says false.
   */
  ordered?: boolean;
  /**
   * Rows carry their final logit margin and polishing steps (columns `margin`, `polish_steps`,
   * required in every record). Default false. Like `ordered`, a dataset created without them keeps
   * its layout: resuming one, the writer's `margins` says false.
   */
  margins?: boolean;
  /**
   * The ids of every text this run is to solve, in input order (all shards: the writer keeps its
   * own). Recorded beside the part (`part-….plan.json`), so merge and inspect can tell a finished
   * dataset from an interrupted one and count the texts never run. Default: none (completeness
   * unknown).
   */
  plan?: readonly string[];
}

/** An open part; see the module comment. */
export interface DatasetWriter {
  readonly dir: string;
  /** This process's part file. */
  readonly partPath: string;
  readonly shard: ShardSpec;
  readonly d: number;
  /**
   * Text ids already in the dataset (any part, and data.arrow), kept up to date by `append`; when
   * every restart is kept, only texts with all their restarts stored. Skip these: appending a row
   * (a text, or a (text, restart) when every restart is kept) that was present at open is refused.
   */
  readonly doneIds: ReadonlySet<string>;
  /** When every restart is kept: the restarts of `textId` not stored yet (null otherwise). */
  missingRestarts(textId: string): number[] | null;
  /** Rows found at open (all files); bytes of a torn batch cut from this shard's part. */
  readonly resumed: { rows: number; tornBytesCut: number };
  /** Rows appended by this writer. */
  readonly rowsAppended: number;
  /** Whether rows carry `order` (the dataset's layout decides when it exists; see DatasetWriterOptions.ordered). */
  readonly ordered: boolean;
  /** Whether rows carry `margin` and `polish_steps` (the dataset's layout decides when it exists). */
  readonly margins: boolean;
  /** Of `texts`, those this shard owns that are not done yet, in order. */
  pendingTexts<T extends { id: string }>(texts: readonly T[]): T[];
  /** Append rows as one record batch, durable (fsync'd) when the promise resolves. Put all restarts of a text in one call. */
  append(rows: readonly SolutionRecord[] | SolutionBatch): Promise<void>;
  /** Finish the part (end-of-stream marker) and, if mergeOnClose, merge. Safe to call more than once. */
  close(): Promise<MergeReport | null>;
}

/** Open (create or resume) this shard's part of the dataset in `dir`. */
export async function openDatasetWriter(dir: string, options: DatasetWriterOptions): Promise<DatasetWriter> {
  const shard = options.shard ?? { index: 0, count: 1 };
  const settings = settingsFromOptions(options);
  const perTextM = settings.m.mode === 'per-text';
  const d = options.model.dModel;
  await fsp.mkdir(dir, { recursive: true });

  // Check and index what is there before touching anything: a refused rerun changes nothing.
  // Batch by batch, so resuming next to a dataset far larger than memory only costs its text ids.
  const partPath = path.join(dir, partFileName(shard));
  const done = new DoneRows(settings.restarts);
  const doneIds = done.doneIds;
  const allRestarts = settings.restarts !== undefined;
  let rowsFound = 0;
  let own: OwnPart | null = null;
  // The first file there decides whether rows carry `order`, so every file of a dataset has one layout.
  let existingOrdered: boolean | null = null;
  let existingMargins: boolean | null = null;
  for (const listing of await listParts(dir)) {
    const part = await openPartSource(listing.path);
    try {
      refuseMismatch(dir, part.name, part.meta, settings);
      existingOrdered ??= part.shape.ordered;
      existingMargins ??= part.shape.margins;
      const entries: IndexEntry[] = [];
      await forEachColumns(part, true, (cols, ref, bytes) => {
        cols.textId.forEach((id, i) => done.add(id, cols.restart[i]));
        if (listing.path === partPath) entries.push(part.entryOf(ref.index) ?? batchEntry(ref.index, ref.offset, bytes, cols));
      });
      rowsFound += part.rows;
      if (listing.path === partPath) own = { committedEnd: part.committedEnd, size: part.file.size, tornBytes: part.tornBytes, schemaEntry: await schemaEntryOf(part), entries };
    } finally {
      await part.close();
    }
  }
  const data = await openPreviousData(dir, await readInfoFile(dir).catch((): DatasetInfo | null => null), true);
  if (data) {
    try {
      refuseMismatch(dir, DATA_FILE, data.meta, settings);
      existingOrdered ??= data.shape.ordered;
      existingMargins ??= data.shape.margins;
      await forEachColumns(data, true, (cols) => {
        cols.textId.forEach((id, i) => done.add(id, cols.restart[i]));
      });
    } finally {
      await data.close();
    }
  }
  if (options.m instanceof Float32Array) await ensureSharedM(dir, options.m, settings);

  const indexPath = indexFileFor(partPath);
  await removeStaleTemps(dir, [path.basename(partPath), path.basename(indexPath)]);
  const ordered = existingOrdered ?? options.ordered ?? false;
  const margins = existingMargins ?? options.margins ?? false;
  const shape = { d, perTextM, allRestarts, ordered, margins };
  if (options.plan) await writePlan(partPath, shard, options.plan.filter((id) => shardOf(id, shard.count) === shard.index), settings.restarts?.count ?? null);
  const schema = solutionSchema(shape);
  let end: number;
  let tornBytesCut = 0;
  const ownPart = own as OwnPart | null;
  if (ownPart) {
    // Cut a torn or uncommitted batch and the end marker of a clean close: the next batch follows the last committed one.
    end = ownPart.committedEnd;
    tornBytesCut = ownPart.tornBytes;
    // The index is rewritten to exactly the committed batches (and created for a part written before checksums).
    await writeFileAtomic(indexPath, [indexHeader(partPath), ownPart.schemaEntry, ...ownPart.entries].map(indexLine).join(''));
    if (ownPart.size !== end) {
      const h = await fsp.open(partPath, 'r+');
      await h.truncate(end);
      await h.sync();
      await h.close();
    }
  } else {
    const meta: PartMeta = { ...settings, shard, created: new Date().toISOString() };
    const header = schemaMessageBytes(solutionSchema(shape, new Map([[PART_META_KEY, JSON.stringify(meta)]])));
    // Index first: a part never exists without one (a lone index is overwritten by the next writer).
    const schemaEntry: IndexEntry = { kind: 'schema', batch: -1, offset: 0, length: header.byteLength, rows: 0, sha256: checksum(header) };
    await writeFileAtomic(indexPath, [indexHeader(partPath), schemaEntry].map(indexLine).join(''));
    await writeFileAtomic(partPath, header);
    end = header.byteLength;
  }
  let batchCount = ownPart?.entries.length ?? 0;
  const indexHandle = await fsp.open(indexPath, 'r+');
  let indexEnd = (await indexHandle.stat()).size;
  const handle = await fsp.open(partPath, 'r+');
  const presentAtOpen = done.snapshot();
  const where = partPath;
  let queue: Promise<void> = Promise.resolve();
  let failed: unknown = null;
  let closing: Promise<MergeReport | null> | null = null;
  let rowsAppended = 0;

  const writeBatch = async (bytes: Uint8Array, cols: SolutionColumns): Promise<void> => {
    if (failed) throw new PrototokenError('an earlier append failed; this writer is unusable', { file: where, fix: 'restart the run: it resumes from the last complete batch' });
    try {
      // Checksum line first, then the batch: once the part has grown by a whole batch, that batch is
      // committed and verifiable (see checksums.ts).
      const line = Buffer.from(indexLine(batchEntry(batchCount, end, bytes, cols)), 'utf8');
      await writeAll(indexHandle, line, indexEnd);
      await indexHandle.datasync();
      indexEnd += line.byteLength;
      await writeAll(handle, bytes, end);
      await handle.datasync();
    } catch (err) {
      failed = err;
      throw new PrototokenError(`appending a batch failed (${(err as Error).message})`, {
        file: where,
        fix: 'check free disk space and permissions, then rerun: the run resumes from the last complete batch',
      });
    }
    end += bytes.byteLength;
    batchCount++;
    rowsAppended += cols.rows;
    cols.textId.forEach((id, i) => done.add(id, cols.restart[i]));
  };

  return {
    dir,
    partPath,
    shard,
    d,
    doneIds,
    resumed: { rows: rowsFound, tornBytesCut },
    get rowsAppended() {
      return rowsAppended;
    },
    ordered,
    margins,
    missingRestarts: (textId) => done.missing(textId),
    pendingTexts(texts) {
      return texts.filter((t) => !doneIds.has(t.id) && shardOf(t.id, shard.count) === shard.index);
    },
    async append(rows) {
      if (closing) throw new PrototokenError('append() after close()', { file: where, fix: 'this is a bug in the caller' });
      const ctx = { ...shape, splitRatios: settings.split_ratios, where };
      const cols = Array.isArray(rows) ? columnsFromRecords(rows as readonly SolutionRecord[], ctx) : columnsFromBatch(rows as SolutionBatch, ctx);
      for (const [i, id] of cols.textId.entries()) {
        const restart = cols.restart[i];
        if (presentAtOpen.has(id, restart)) {
          throw new PrototokenError(`${allRestarts ? `restart ${restart} of text '${id}'` : `text '${id}'`} is already in the dataset; appending it again would duplicate it`, {
            file: where,
            fix: `skip the texts in writer.doneIds (or use writer.pendingTexts${allRestarts ? ' and writer.missingRestarts' : ''})`,
          });
        }
        if (settings.restarts && restart >= settings.restarts.count) {
          throw new PrototokenError(`row for text '${id}' has restart ${restart}, but this dataset keeps ${settings.restarts.count} restarts per text (0..${settings.restarts.count - 1})`, {
            file: where,
            fix: 'this is a bug in the caller of the dataset writer; the dataset itself is unchanged',
          });
        }
        const owner = shardOf(id, shard.count);
        if (owner !== shard.index) {
          throw new PrototokenError(`text '${id}' belongs to shard ${owner}/${shard.count}, not ${shard.index}/${shard.count}`, {
            file: where,
            fix: 'give each shard only its own texts (writer.pendingTexts)',
          });
        }
      }
      if (cols.rows === 0) return;
      const bytes = batchMessageBytes(recordBatchFromColumns(cols, schema));
      // Appends are serialized: each batch lands after the previous one, even if callers do not await.
      const next = queue.then(() => writeBatch(bytes, cols));
      queue = next.catch(() => undefined);
      await next;
    },
    close() {
      closing ??= (async () => {
        await queue;
        try {
          // After a failed append the file may end in garbage; leave it torn for the next resume to cut.
          if (!failed) {
            await writeAll(handle, END_OF_STREAM, end);
            await handle.sync();
          }
        } finally {
          await handle.close();
          await indexHandle.close();
        }
        const merge = options.mergeOnClose ?? shard.count === 1;
        return merge && !failed ? mergeDataset(dir, { allowIncomplete: true }) : null;
      })();
      return closing;
    },
  };
}

/** What resuming this shard's own part needs to know. */
interface OwnPart {
  committedEnd: number;
  size: number;
  tornBytes: number;
  schemaEntry: IndexEntry;
  entries: IndexEntry[];
}

/** The index line of a batch message written at `offset`. */
function batchEntry(batch: number, offset: number, bytes: Uint8Array, cols: SolutionColumns): IndexEntry {
  return { kind: 'batch', batch, offset, length: bytes.byteLength, rows: cols.rows, sha256: checksum(bytes), split_rows: splitRowsOf(cols.split, cols.solved) };
}

async function schemaEntryOf(part: SourceFile): Promise<IndexEntry> {
  const recorded = part.index?.entries.find((e) => e.kind === 'schema');
  if (recorded) return recorded;
  const length = part.batches[0]?.offset ?? part.committedEnd;
  return { kind: 'schema', batch: -1, offset: 0, length, rows: 0, sha256: checksum(await part.file.readBytes(0, length)) };
}

function settingsFromOptions(o: DatasetWriterOptions): DatasetSettings {
  const d = o.model.dModel;
  const bad = (problem: string): PrototokenError => new PrototokenError(problem, { fix: 'this is a bug in the caller of openDatasetWriter' });
  if (!Number.isInteger(d) || d < 1) throw bad(`model.dModel must be a positive integer, got ${d}`);
  if (o.length !== null && (!Number.isInteger(o.length) || o.length < 1)) throw bad(`length must be null or a positive integer, got ${o.length}`);
  if (o.m instanceof Float32Array && o.m.length !== d) throw bad(`the shared m has ${o.m.length} values but d_model is ${d}`);
  if (o.restarts && (!Number.isInteger(o.restarts.count) || o.restarts.count < 1)) throw bad(`restarts.count must be a positive integer, got ${o.restarts.count}`);
  const ratios = o.splitRatios ?? DEFAULT_SPLIT_RATIOS;
  checkSplitRatios(ratios);
  let solverConfig: Record<string, unknown>;
  try {
    solverConfig = JSON.parse(JSON.stringify(o.solverConfig)) as Record<string, unknown>;
  } catch (err) {
    throw bad(`solverConfig is not JSON-serializable (${(err as Error).message})`);
  }
  return {
    format: FORMAT_NAME,
    format_version: FORMAT_VERSION,
    kind: o.kind ?? 'solve',
    model: { id: o.model.id, fingerprint: o.model.fingerprint, tokenizer_hash: o.model.tokenizerHash, d_model: d },
    arrangement: o.arrangement,
    length: o.length,
    init: o.init,
    m: o.m instanceof Float32Array ? { mode: 'shared', fingerprint: fingerprintM(o.m), file: M_FILE } : { mode: 'per-text' },
    ...(o.restarts ? { restarts: { keep: 'all' as const, count: o.restarts.count } } : {}),
    solver_config: solverConfig,
    source: { name: o.source.name, license: o.source.license, url: o.source.url ?? null },
    split_ratios: { train: ratios.train, val: ratios.val, test: ratios.test },
    software: { name: 'prototoken', version: softwareVersion() },
  };
}

function refuseMismatch(dir: string, file: string, existing: DatasetSettings, incoming: DatasetSettings): void {
  const diff = compatDiff(existing, incoming);
  if (diff.length === 0) return;
  throw new PrototokenError(
    `this run does not match the dataset already there (${file}); differences (field: existing vs this run):\n  ${diff.join('\n  ')}`,
    { file: dir, fix: `write to a new folder (e.g. --out ${dir.replace(/[\\/]+$/, '')}-2), or rerun with the settings the dataset was made with` },
  );
}

/** Write m.safetensors, or check that the one there is this m. */
async function ensureSharedM(dir: string, m: Float32Array, settings: DatasetSettings): Promise<void> {
  const file = path.join(dir, M_FILE);
  const want = settings.m.mode === 'shared' ? settings.m.fingerprint : '';
  if (await exists(file)) {
    const have = await readSharedM(dir);
    const got = have ? fingerprintM(have) : '(unreadable)';
    if (got !== want) {
      throw new PrototokenError(`this run does not match the dataset already there (${M_FILE}); differences (field: existing vs this run):\n  m: shared m sha256 ${got} vs shared m sha256 ${want}`, {
        file: dir,
        fix: `write to a new folder (e.g. --out ${dir.replace(/[\\/]+$/, '')}-2), or rerun with the m the dataset was made with`,
      });
    }
    return;
  }
  await writeSharedM(dir, m, { written_by: 'prototoken', format: FORMAT_NAME });
}
