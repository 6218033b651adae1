/**
 * The one read path of a dataset folder: data.arrow when it is up to date with the parts, else
 * the stream parts (plus rows only a previous data.arrow still holds), streamed batch by batch
 * with duplicates dropped by one rule (dedup.ts). Memory: two batches (one is read ahead) plus the
 * set of text ids that rule needs, whatever the size of the dataset.
 *
 * Every reader starts here: readDataset (which collects the batches), merge (which always reads
 * the parts), inspect, export, the encoder's loader. So which files are read, what is checked,
 * and what a person is told about it (`notes`) are decided once.
 */
import * as path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { takeRows, type SolutionColumns } from './columns.js';
import { RowFilter } from './dedup.js';
import { compatDiff, type DatasetInfo, type DatasetMeta, type DatasetSettings, type PartMeta } from './info.js';
import { currentStamp, listParts, missingShards, readInfoFile, type PartListing } from './folder.js';
import { openPartSource, openPreviousData, readAhead, type SourceFile } from './dataset_file.js';
import type { SchemaShape } from './schema.js';

/** How to read. */
export interface ScanOptions {
  /** Check every batch against its checksum (and a pre-checksum data.arrow against its sha256). Default true. */
  verify?: boolean;
}

/** One batch of surviving rows. */
export interface ScanBatch {
  /** File name the rows come from. */
  source: string;
  /** Record batch number within that file. */
  batch: number;
  /** Byte offset of the batch in that file. */
  offset: number;
  /** The rows (vectors are views into the batch just read). */
  columns: SolutionColumns;
  /** The batch as stored: every row, before duplicates were dropped. */
  stored: RecordBatch;
  /** The stored batch's message bytes. */
  bytes: Uint8Array;
  /** Whether every stored row survived (then `columns` are the stored batch, row for row). */
  whole: boolean;
  /** The stored batch's sha256 from the checksum index, which `bytes` matched; null when not verified. */
  sha256: string | null;
  /** Rows of the stored batches read so far in this pass, dropped ones included. */
  rowsRead: number;
}

/** An open dataset, ready to stream; `close()` it when done. */
export interface DatasetScan {
  readonly dir: string;
  readonly readFrom: 'data.arrow' | 'parts';
  readonly files: string[];
  /**
   * Torn tails, staleness, missing shards, unverified files: things a person should know. Rows
   * dropped as duplicates are added once `batches()` has run to its end.
   */
  readonly warnings: string[];
  readonly d: number;
  readonly perTextM: boolean;
  /** Every restart is its own row (a `restart` column). */
  readonly allRestarts: boolean;
  /** Rows carry their input position (an `order` column). */
  readonly ordered: boolean;
  /** Rows carry their margin and polishing steps (`margin`, `polish_steps`). */
  readonly margins: boolean;
  readonly settings: DatasetSettings;
  /** dataset_info.json when it describes exactly what is read (a current data.arrow); else null. */
  readonly info: DatasetInfo | null;
  /** The files read, in order (parts by shard, then data.arrow). */
  readonly sources: readonly SourceFile[];
  /** The stream parts among them (none when reading a current data.arrow). */
  readonly parts: readonly SourceFile<PartMeta>[];
  /** Part files that complete shard sets would have but the folder lacks (only when reading parts). */
  readonly missingShards: readonly string[];
  /** Names of the sources without a checksum index (written before checksums), read unverified. */
  readonly unverified: readonly string[];
  /** Whether rows may repeat across sources, so the duplicate rule must run. */
  readonly needsDedup: boolean;
  readonly verify: boolean;
  /** After a complete pass of `batches()`: rows dropped because an earlier source held them. */
  readonly duplicatesDropped: number;
  /** After a complete pass: rows taken from data.arrow because no part holds their text any more. */
  readonly carriedOver: number;
  /** Every surviving row, batch by batch, in storage order. Each call starts over. */
  batches(): AsyncGenerator<ScanBatch>;
  close(): Promise<void>;
}

/** Everything a reader or merge says about a folder, worded once. */
export const notes = {
  infoUnreadable: (err: unknown): string => `${errorMessage(err).split('\n')[0]}; ignored (run \`prototoken merge\` to rewrite it)`,
  indexOfOtherMerge: 'data.index.jsonl belongs to another merge (was a merge interrupted?); data.arrow read unverified',
  infoOfOtherMerge: 'dataset_info.json is missing or from another merge (was a merge interrupted?); run `prototoken merge` to rewrite it',
  stale: (parts: readonly string[]): string => `data.arrow is older than ${parts.join(', ')}; reading the parts instead (run \`prototoken merge\` to update it)`,
  notMerged: 'not merged yet: reading the stream parts (run `prototoken merge` to write data.arrow)',
  torn: (s: SourceFile, fate: 'ignored' | 'left out'): string =>
    `${s.name} ends in an incomplete batch of ${s.tornBytes} bytes (its writer was stopped mid-write or is still writing); ${fate}`,
  missingShards: (names: readonly string[]): string => `missing shards: ${names.join(', ')}`,
  unverified: (names: readonly string[]): string => `no checksum index (written before checksums), read unverified: ${names.join(', ')}`,
  duplicates: (n: number): string => `${n} duplicate rows dropped (text already in an earlier part)`,
  carriedOver: (n: number): string => `${n} rows kept from the previous data.arrow (their parts are gone)`,
  nothingToMerge: 'no part files: data.arrow is already the whole dataset; nothing to merge',
};

/** Open the dataset in `dir` for streaming. */
export function scanDataset(dir: string, options: ScanOptions = {}): Promise<DatasetScan> {
  return openScan(dir, { verify: options.verify ?? true });
}

/** How the datasets module itself opens a folder. */
export interface OpenScanOptions {
  verify: boolean;
  /** Read the parts (and rows only data.arrow still holds) even when data.arrow is current: merge. */
  fromParts?: boolean;
  /** Hash all of data.arrow against dataset_info.json even when its batches are indexed (see openPreviousData). */
  wholeFile?: boolean;
}

/** Open `dir` for reading; see the module comment. */
export async function openScan(dir: string, options: OpenScanOptions): Promise<DatasetScan> {
  const { verify } = options;
  const listing = await listParts(dir);
  const warnings: string[] = [];
  let info: DatasetInfo | null = null;
  try {
    info = await readInfoFile(dir);
  } catch (err) {
    warnings.push(notes.infoUnreadable(err));
  }
  const previous = await openPreviousData(dir, info, verify, options.wholeFile);
  const parts: SourceFile<PartMeta>[] = [];
  try {
    if (!previous && listing.length === 0) throw notADataset(dir);
    if (previous?.indexIgnored) warnings.push(notes.indexOfOtherMerge);
    const stale = previous && !options.fromParts ? await staleParts(previous.meta, listing) : null;
    if (previous && stale?.length === 0) {
      if (!previous.infoMatches) warnings.push(notes.infoOfOtherMerge);
      return makeScan(dir, 'data.arrow', [previous], [], [], warnings, previous.infoMatches ? info : null, verify);
    }
    if (!options.fromParts) warnings.push(stale ? notes.stale(stale) : notes.notMerged);
    for (const l of listing) parts.push(await openPartSource(l.path));
    const sources: SourceFile[] = [...parts, ...(previous ? [previous] : [])];
    for (const s of sources) if (s.tornBytes > 0) warnings.push(notes.torn(s, 'ignored'));
    const missing = missingShards(listing);
    if (missing.length) warnings.push(notes.missingShards(missing));
    checkCompatible(sources);
    return makeScan(dir, 'parts', sources, parts, missing, warnings, null, verify);
  } catch (err) {
    for (const p of parts) await p.close();
    await previous?.close();
    throw err;
  }
}

function makeScan(
  dir: string,
  readFrom: 'data.arrow' | 'parts',
  sources: SourceFile[],
  parts: SourceFile<PartMeta>[],
  missing: string[],
  warnings: string[],
  info: DatasetInfo | null,
  verify: boolean,
): DatasetScan {
  const unverified = sources.filter((s) => !s.index).map((s) => s.name);
  if (unverified.length) warnings.push(notes.unverified(unverified));
  const { shape, meta } = sources[0];
  const needsDedup = readFrom === 'parts';
  let dropped = { duplicates: 0, carriedOver: 0 };
  return {
    dir,
    readFrom,
    files: sources.map((s) => s.path),
    warnings,
    ...shape,
    settings: meta,
    info,
    sources,
    parts,
    missingShards: missing,
    unverified,
    needsDedup,
    verify,
    get duplicatesDropped() {
      return dropped.duplicates;
    },
    get carriedOver() {
      return dropped.carriedOver;
    },
    async *batches() {
      const filter = new RowFilter(shape.allRestarts);
      let rowsRead = 0;
      for (const [si, s] of sources.entries()) {
        for await (const { ref, batch, bytes, columns: cols } of readAhead(s, verify)) {
          rowsRead += cols.rows;
          const keep = needsDedup ? filter.keep(cols, si, s.kind === 'data') : null;
          const whole = keep === null || keep.length === cols.rows;
          const columns = whole ? cols : takeRows(cols, keep);
          const sha256 = verify ? (s.entryOf(ref.index)?.sha256 ?? null) : null;
          if (columns.rows > 0) yield { source: s.name, batch: ref.index, offset: ref.offset, columns, stored: batch, bytes, whole, sha256, rowsRead };
        }
      }
      dropped = { duplicates: filter.duplicatesDropped, carriedOver: filter.carriedOver };
      const note = notes.duplicates(dropped.duplicates);
      if (dropped.duplicates && !warnings.includes(note)) warnings.push(note);
    },
    async close() {
      for (const s of sources) await s.close();
    },
  };
}

/** The error for a folder with neither data.arrow nor parts. */
function notADataset(dir: string): PrototokenError {
  return new PrototokenError('no data.arrow and no part-*.arrows files: not a prototoken dataset folder', {
    file: dir,
    fix: 'pass the --out folder of `prototoken solve`',
  });
}

/** Parts whose bytes differ from what data.arrow (with `meta`) was merged from. */
async function staleParts(meta: DatasetMeta, listing: readonly PartListing[]): Promise<string[]> {
  const merged = new Map(meta.merged_from.map((s) => [s.file, s]));
  const stale: string[] = [];
  for (const l of listing) {
    const now = await currentStamp(l.path);
    const then = merged.get(l.name);
    if (!then || then.size !== now.size || then.tail_sha256 !== now.tail_sha256) stale.push(l.name);
  }
  return stale;
}

/** Every source must have the settings of the first; throws naming both files. */
function checkCompatible(sources: readonly SourceFile[]): void {
  const first = sources[0];
  for (const s of sources.slice(1)) {
    const diff = compatDiff(first.meta, s.meta);
    // Settings cannot tell whether rows carry `order`; the columns can (every file of a dataset has one layout).
    if (s.shape.ordered !== first.shape.ordered) diff.push(`order column: ${first.shape.ordered ? 'present' : 'absent'} vs ${s.shape.ordered ? 'present' : 'absent'}`);
    if (s.shape.margins !== first.shape.margins) diff.push(`margin columns: ${first.shape.margins ? 'present' : 'absent'} vs ${s.shape.margins ? 'present' : 'absent'}`);
    if (diff.length) {
      throw new PrototokenError(`${s.name} and ${first.name} were made with different settings:\n  ${diff.join('\n  ')}`, {
        file: path.dirname(s.path),
        fix: 'every part of a dataset must come from the same model, m, N, arrangement and solver config; move the odd part to its own folder',
      });
    }
  }
}

/** The shape of what a scan reads. */
export function shapeOf(scan: DatasetScan): SchemaShape {
  return { d: scan.d, perTextM: scan.perTextM, allRestarts: scan.allRestarts, ordered: scan.ordered, margins: scan.margins };
}
