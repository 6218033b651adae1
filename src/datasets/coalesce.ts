/**
 * Output batches of a streaming merge. Solver parts hold many small batches (one per finished
 * group); those are gathered into batches of about `targetBytes`, so data.arrow has few, large
 * batches (one for a small dataset). A batch that is already large and kept whole is copied
 * verbatim, message bytes and checksum included: no re-encode or second hash. "Already large" is
 * an eighth of the target (1 MiB by default: a solver group of 64 rows at d = 4096), where
 * per-batch overheads no longer matter.
 */
import type { Schema } from 'apache-arrow';
import { recordBatchFromColumns } from './arrow_columns.js';
import { splitRowsOf } from './checksums.js';
import { concatColumns, type SolutionColumns } from './columns.js';
import type { DataFileSink } from './data_file_writer.js';
import type { SchemaShape } from './schema.js';
import { batchMessageBytes } from './ipc_stream.js';

/** Default size of a merged batch: large enough for few batches, small enough for bounded memory. */
export const MERGED_BATCH_BYTES = 8 << 20;

export class BatchCoalescer {
  private pending: SolutionColumns[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly sink: DataFileSink,
    private readonly schema: Schema,
    private readonly shape: SchemaShape,
    private readonly targetBytes = MERGED_BATCH_BYTES,
  ) {}

  /**
   * Add the kept rows `cols` of a source batch whose message is `bytes`; `whole` when no row was
   * dropped (then `sha256` is the verified checksum of `bytes`, or null when unknown).
   */
  async add(cols: SolutionColumns, bytes: Uint8Array, whole: boolean, sha256: string | null): Promise<void> {
    if (cols.rows === 0) return;
    if (whole && bytes.byteLength >= this.targetBytes / 8) {
      await this.flush();
      await this.sink.appendBatch(bytes, cols.rows, splitRowsOf(cols.split, cols.solved), sha256 ?? undefined);
      return;
    }
    this.pending.push(cols);
    // The vectors dominate; strings and scalars are counted roughly.
    this.pendingBytes += cols.rows * cols.d * 4 * (cols.m ? 2 : 1) + cols.tokenIds.byteLength + cols.rows * 64;
    if (this.pendingBytes >= this.targetBytes) await this.flush();
  }

  /** Write what is pending as one batch. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const all = concatColumns(this.pending, this.shape);
    this.pending = [];
    this.pendingBytes = 0;
    const bytes = batchMessageBytes(recordBatchFromColumns(all, this.schema));
    await this.sink.appendBatch(bytes, all.rows, splitRowsOf(all.split, all.solved));
  }
}
