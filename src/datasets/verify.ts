/**
 * `prototoken verify`: check every byte of a dataset that a checksum covers, batch by batch,
 * and report every damaged place (file, record batch, byte offset) instead of stopping at the
 * first. data.arrow is also checked against the whole-file sha256 in dataset_info.json.
 */
import * as path from 'node:path';
import { PrototokenError, errorMessage } from '../util/errors.js';
import { exists } from '../util/fs_atomic.js';
import type { DatasetInfo } from './info.js';
import { DATA_FILE, listParts, readInfoFile, sha256OfFile } from './folder.js';
import { openDataSource, openPartSource, type SourceFile } from './dataset_file.js';

/** What to report about. */
export interface VerifyOptions {
  /** Called after each batch with bytes checked so far (for progress lines). Default: none. */
  onBytes?: (bytesChecked: number) => void;
}

/** The verdict on one file. */
export interface FileVerdict {
  file: string;
  batches: number;
  rows: number;
  bytes: number;
  /** Whether a checksum index covered the file. */
  indexed: boolean;
  /** Damage found: each names the batch and byte offset. Empty when clean. */
  problems: string[];
  /** Not damage, but worth knowing (torn tail, no index). */
  notes: string[];
}

/** The verdict on a dataset. */
export interface VerifyReport {
  dir: string;
  files: FileVerdict[];
  /** No problems in any file. */
  ok: boolean;
}

/** Verify the dataset in `dir`. Never throws for damage: it is reported; a folder without any dataset file is an error. */
export async function verifyDataset(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const files: FileVerdict[] = [];
  let checked = 0;
  const tick = (n: number): void => {
    checked += n;
    options.onBytes?.(checked);
  };
  for (const l of await listParts(dir)) files.push(await verifyFile(l.path, () => openPartSource(l.path), tick));
  const dataPath = path.join(dir, DATA_FILE);
  if (await exists(dataPath)) {
    const verdict = await verifyFile(dataPath, () => openDataSource(dataPath), tick);
    let info: DatasetInfo | null = null;
    try {
      info = await readInfoFile(dir);
    } catch (err) {
      verdict.notes.push(`dataset_info.json unreadable (${errorMessage(err).split('\n')[0]}): whole-file sha256 not checked`);
    }
    if (info?.data_sha256) {
      const sha = await sha256OfFile(dataPath);
      if (sha !== info.data_sha256) {
        verdict.problems.push(`${dataPath}: sha256 ${sha} differs from ${info.data_sha256} recorded in dataset_info.json${info.merge_id ? ` (merge ${info.merge_id})` : ''}`);
      }
    } else if (info) {
      verdict.notes.push('dataset_info.json records no sha256 for data.arrow');
    }
    files.push(verdict);
  }
  // Nothing to check is not damage: say what the folder is not (a typo'd path, a checkpoint folder).
  if (files.length === 0) throw notADatasetFolder(dir);
  return { dir, files, ok: files.every((f) => f.problems.length === 0) };
}

async function verifyFile(file: string, open: () => Promise<SourceFile>, tick: (n: number) => void): Promise<FileVerdict> {
  const verdict: FileVerdict = { file, batches: 0, rows: 0, bytes: 0, indexed: false, problems: [], notes: [] };
  let source: SourceFile;
  try {
    source = await open();
  } catch (err) {
    verdict.problems.push(errorMessage(err).split('\n')[0]);
    return verdict;
  }
  try {
    verdict.indexed = source.index !== null;
    verdict.bytes = source.file.size;
    if (!source.index) verdict.notes.push('no checksum index (written before checksums): only the framing could be checked');
    if (source.tornBytes > 0) verdict.notes.push(`ends in ${source.tornBytes} bytes of a torn or uncommitted batch (its writer was killed); the next resume cuts them`);
    for (const ref of source.batches) {
      try {
        await source.readBatch(ref, true);
        verdict.batches++;
        verdict.rows += ref.rows;
      } catch (err) {
        verdict.problems.push(errorMessage(err).split('\n')[0]);
      }
      tick(ref.length);
    }
  } finally {
    await source.close();
  }
  return verdict;
}

/** The error for a folder (or path) holding neither data.arrow nor parts. */
function notADatasetFolder(dir: string): PrototokenError {
  return new PrototokenError('no data.arrow and no part-*.arrows files: not a prototoken dataset folder (nothing to verify)', {
    file: dir,
    fix: 'pass the --out folder of `prototoken solve` (a dataset folder holds part-*.arrows and, once merged, data.arrow)',
  });
}
