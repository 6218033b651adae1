/**
 * `prototoken export --format parquet`: the dataset's rows as one Parquet file, streamed batch by
 * batch through parquet-wasm (Rust's parquet crate compiled to WebAssembly), so memory stays about
 * one batch. The file is written to a temporary name, fsync'd and renamed.
 */
import * as path from 'node:path';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, transformParquetStream, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import { PrototokenError } from '../util/errors.js';
import { openFileAtomic } from '../util/fs_atomic.js';
import { checkOutputFile } from '../util/output_paths.js';
import { recordBatchFromColumns } from './arrow_columns.js';
import { END_OF_STREAM, batchMessageBytes, schemaMessageBytes } from './ipc_stream.js';
import { scanDataset, shapeOf } from './scan.js';
import { requireComplete, type Completeness } from './completeness.js';
import { solutionSchema } from './schema.js';

/** Metadata key of the settings JSON in the exported schema. */
export const EXPORT_META_KEY = 'prototoken.settings';
/** Metadata key of the dataset's completeness JSON in the exported schema. */
export const COMPLETENESS_META_KEY = 'prototoken.completeness';

/** How to export. */
export interface ExportOptions {
  /** Output file. Default `<dir>/data.parquet`. */
  out?: string;
  /** Parquet compression. Default 'zstd'. */
  compression?: 'zstd' | 'snappy' | 'none';
  /** Check checksums while reading. Default true. */
  verify?: boolean;
  /** Replace an existing output file. Default false: it is refused before anything is read. */
  overwrite?: boolean;
  /**
   * Export a dataset that is incomplete (an interrupted run, missing shards, torn parts) too; the
   * file then records it (schema metadata `prototoken.completeness`). Default false: refused.
   */
  allowPartial?: boolean;
}

/** What was written. */
export interface ExportReport {
  file: string;
  rows: number;
  batches: number;
  bytes: number;
  /** The dataset's completeness, as recorded in the file. */
  completeness: Completeness;
}

/** Write the rows of the dataset in `dir` (as `scanDataset` sees them) to a Parquet file. */
export async function exportParquet(dir: string, options: ExportOptions = {}): Promise<ExportReport> {
  const out = options.out ?? path.join(dir, 'data.parquet');
  // Refused before anything is written: a partial dataset must not leave as if whole. The input
  // first: a wrong dataset folder is the mistake to name, not the output beside it.
  const completeness = await requireComplete(dir, 'exported', options.allowPartial ?? false);
  const scan = await scanDataset(dir, { verify: options.verify ?? true });
  try {
    await checkOutputFile(out, { overwrite: options.overwrite, example: 'data.parquet' });
  } catch (err) {
    await scan.close();
    throw err;
  }
  const schema = solutionSchema(shapeOf(scan), new Map([[EXPORT_META_KEY, JSON.stringify(scan.settings)], [COMPLETENESS_META_KEY, JSON.stringify(completeness)]]));
  const head = schemaMessageBytes(schema);
  const batches = scan.batches();
  let rows = 0;
  let count = 0;
  // parquet-wasm reports an error thrown while pulling as a bare "Dyn casting error"; the real cause
  // (a damaged batch, named with its byte offset) is kept here and rethrown instead.
  let readError: unknown = null;
  const source = new ReadableStream<WasmRecordBatch>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof batches.next>>;
      try {
        next = await batches.next();
      } catch (err) {
        readError = err;
        throw err;
      }
      if (next.done) {
        controller.close();
        return;
      }
      const body = batchMessageBytes(recordBatchFromColumns(next.value.columns, schema));
      const ipc = new Uint8Array(head.byteLength + body.byteLength + END_OF_STREAM.byteLength);
      ipc.set(head, 0);
      ipc.set(body, head.byteLength);
      ipc.set(END_OF_STREAM, head.byteLength + body.byteLength);
      const table = WasmTable.fromIPCStream(ipc);
      const batch = table.recordBatch(0);
      if (!batch) throw new Error('parquet-wasm decoded no record batch');
      rows += next.value.columns.rows;
      count++;
      controller.enqueue(batch);
    },
  });
  const codec = { zstd: Compression.ZSTD, snappy: Compression.SNAPPY, none: Compression.UNCOMPRESSED }[options.compression ?? 'zstd'];
  const atomic = await openFileAtomic(out);
  let bytes = 0;
  try {
    const props = new WriterPropertiesBuilder().setCompression(codec).build();
    const parquet = (await transformParquetStream(source, props)) as ReadableStream<Uint8Array>;
    for await (const chunk of parquet) {
      await atomic.append(chunk);
      bytes += chunk.byteLength;
    }
    await atomic.commit();
  } catch (err) {
    await atomic.abort();
    if (readError) throw readError;
    if (err instanceof PrototokenError) throw err;
    throw new PrototokenError(`writing Parquet failed (${(err as Error).message})`, { file: out, fix: 'check free disk space; run `prototoken verify` on the dataset' });
  } finally {
    await scan.close();
  }
  return { file: out, rows, batches: count, bytes, completeness };
}
