/**
 * Opening a folder's data.arrow for streaming readers (merge, scan, loader, writer resume).
 * Its batches are verified against data.index.jsonl as they are read; a data.arrow written before
 * checksums has only the whole-file sha256 in dataset_info.json, which is then checked up front
 * (one streaming pass) when dataset_info.json comes from the same merge.
 */
import * as path from 'node:path';
import { PrototokenError } from '../util/errors.js';
import { exists } from '../util/fs_atomic.js';
import type { DatasetInfo, DatasetMeta } from './info.js';
import { DATA_FILE, sha256OfFile } from './folder.js';
import { openDataSource, type SourceFile } from './dataset_file.js';

/** data.arrow of `dir`, open, or null when there is none. */
export async function openPreviousData(dir: string, info: DatasetInfo | null, verify: boolean): Promise<(SourceFile<DatasetMeta> & { infoMatches: boolean; indexIgnored: boolean }) | null> {
  const file = path.join(dir, DATA_FILE);
  if (!(await exists(file))) return null;
  const source = await openDataSource(file);
  const infoMatches = info !== null && info.merge_id === source.meta.merge_id;
  if (verify && infoMatches && !source.index && (await sha256OfFile(file)) !== info.data_sha256) {
    await source.close();
    throw new PrototokenError('its sha256 differs from the one dataset_info.json recorded when it was merged: the file is damaged', {
      file,
      fix: 'delete data.arrow and run `prototoken merge` on the folder to rebuild it from the parts',
    });
  }
  return { ...source, infoMatches };
}
