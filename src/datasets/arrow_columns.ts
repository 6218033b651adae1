/**
 * Columns <-> Arrow record batches, built buffer by buffer with `makeData` (no row-wise builders):
 * numeric columns are handed to Arrow as they are, strings are UTF-8 encoded once per column.
 */
import { Data, RecordBatch, Struct, Table, makeData, type DataType, type FixedSizeList, type Float, type Float32, type Int, type Int32, type List, type Schema, type Utf8 } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';
import type { SolutionColumns } from './columns.js';
import type { ColumnName, ColumnTypes } from './schema.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** One record batch holding `c`, typed by `schema` (from `solutionSchema`). */
export function recordBatchFromColumns(c: SolutionColumns, schema: Schema): RecordBatch {
  const type = <K extends ColumnName>(name: K): ColumnTypes[K] => {
    const f = schema.fields.find((x) => x.name === name);
    if (!f) throw new Error(`schema has no column ${name}`); // programming error: schema and columns disagree
    return f.type as ColumnTypes[K];
  };
  const length = c.rows;
  const int = <T extends Int>(t: T, data: T['TArray']): Data<T> => makeData({ type: t, length, nullCount: 0, data });
  const float = <T extends Float>(t: T, data: T['TArray']): Data<T> => makeData({ type: t, length, nullCount: 0, data });
  const vectors = (t: FixedSizeList<Float32>, values: Float32Array): Data<FixedSizeList<Float32>> =>
    makeData({ type: t, length, nullCount: 0, child: makeData({ type: t.children[0].type, length: values.length, nullCount: 0, data: values }) });
  const byName: Record<ColumnName, () => Data> = {
    text_id: () => utf8Data(type('text_id'), c.textId),
    text: () => utf8Data(type('text'), c.text),
    token_ids: () => {
      const t: List<Int32> = type('token_ids');
      const child = makeData({ type: t.children[0].type, length: c.tokenIds.length, nullCount: 0, data: c.tokenIds });
      return makeData({ type: t, length, nullCount: 0, valueOffsets: c.tokenOffsets, child });
    },
    n_tokens: () => int(type('n_tokens'), nTokens(c)),
    e: () => vectors(type('e'), c.e),
    m: () => vectors(type('m'), c.m as Float32Array),
    seed: () => int(type('seed'), c.seed),
    restart: () => int(type('restart'), c.restart),
    steps: () => int(type('steps'), c.steps),
    accuracy: () => float(type('accuracy'), c.accuracy),
    c_tokens: () => int(type('c_tokens'), c.cTokens),
    prefix_len: () => int(type('prefix_len'), c.prefixLen),
    loss: () => float(type('loss'), c.loss),
    h_lm_nats: () => float(type('h_lm_nats'), c.hLmNats),
    solved: () => makeData({ type: type('solved'), length, nullCount: 0, data: packBits(c.solved) }),
    seconds: () => float(type('seconds'), c.seconds),
    split: () => utf8Data(type('split'), c.split),
  };
  const children = schema.fields.map((f) => byName[f.name as ColumnName]());
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

/** Per-row token counts from list offsets. */
export function nTokens(c: SolutionColumns): Int32Array {
  const out = new Int32Array(c.rows);
  for (let i = 0; i < c.rows; i++) out[i] = c.tokenOffsets[i + 1] - c.tokenOffsets[i];
  return out;
}

function utf8Data(type: Utf8, strings: readonly string[]): Data<Utf8> {
  const encoded = strings.map((s) => encoder.encode(s));
  const valueOffsets = new Int32Array(strings.length + 1);
  encoded.forEach((b, i) => (valueOffsets[i + 1] = valueOffsets[i] + b.length));
  const data = new Uint8Array(valueOffsets[strings.length]);
  encoded.forEach((b, i) => data.set(b, valueOffsets[i]));
  return makeData({ type, length: strings.length, nullCount: 0, valueOffsets, data });
}

function packBits(flags: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(flags.length / 8));
  flags.forEach((f, i) => {
    if (f) out[i >> 3] |= 1 << (i & 7);
  });
  return out;
}

/**
 * The columns of every batch of `table` (numeric columns are views where Arrow's layout allows,
 * strings are decoded). `file` is named if the data turns out to be malformed.
 */
export function columnsFromTable(table: Table, d: number, perTextM: boolean, file: string): SolutionColumns[] {
  // A part with no batches yet reads as one empty batch without buffers: nothing to decode.
  return table.batches.filter((b) => b.numRows > 0).map((batch) => columnsOfRecordBatch(batch, d, perTextM, file));
}

/** The columns of one record batch; malformed data is an error naming `file`. */
export function columnsOfRecordBatch(batch: RecordBatch, d: number, perTextM: boolean, file: string): SolutionColumns {
  try {
    return columnsFromRecordBatch(batch, d, perTextM);
  } catch (err) {
    if (err instanceof PrototokenError) throw err;
    throw new PrototokenError(`a record batch could not be decoded (${(err as Error).message})`, {
      file,
      fix: 'the file is corrupt: delete it and rebuild it (rerun the shard, or merge again)',
    });
  }
}

function columnsFromRecordBatch(batch: RecordBatch, d: number, perTextM: boolean): SolutionColumns {
  const rows = batch.numRows;
  const col = <K extends ColumnName>(name: K): Data<ColumnTypes[K]> => {
    const v = batch.getChild(name);
    if (!v || v.data.length !== 1) throw new Error(`column ${name} is missing or split`);
    return v.data[0] as Data<ColumnTypes[K]>;
  };
  // Arrow JS pre-slices value and offset buffers (index 0 is the first row of this Data); only
  // bit-packed booleans keep a bit offset.
  const values = <T extends DataType>(data: Data<T>): T['TArray'] => data.values.subarray(0, data.length);
  const token = col('token_ids');
  const tokenOffsets = (token.valueOffsets as Int32Array).subarray(0, rows + 1);
  const tokenChild = token.children[0] as Data<Int32>;
  const base = tokenOffsets[0];
  const vectors = (data: Data<FixedSizeList<Float32>>): Float32Array => {
    const child = data.children[0] as Data<Float32>;
    return child.values.subarray(0, rows * d);
  };
  const solvedData = col('solved');
  const solved = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const bit = solvedData.offset + i;
    solved[i] = (solvedData.values[bit >> 3] >> (bit & 7)) & 1;
  }
  return {
    rows,
    d,
    textId: decodeUtf8(col('text_id')),
    text: decodeUtf8(col('text')),
    tokenOffsets: base === 0 ? tokenOffsets : tokenOffsets.map((o) => o - base),
    tokenIds: tokenChild.values.subarray(base, tokenOffsets[rows]),
    e: vectors(col('e')),
    m: perTextM ? vectors(col('m')) : null,
    seed: values(col('seed')),
    // Datasets that keep only the best restart have no column: every row is restart 0.
    restart: batch.getChild('restart') ? values(col('restart')) : new Int32Array(rows),
    steps: values(col('steps')),
    accuracy: values(col('accuracy')),
    cTokens: values(col('c_tokens')),
    prefixLen: values(col('prefix_len')),
    loss: values(col('loss')),
    hLmNats: values(col('h_lm_nats')),
    solved,
    seconds: values(col('seconds')),
    split: decodeUtf8(col('split')),
  };
}

function decodeUtf8(data: Data<Utf8>): string[] {
  const out: string[] = new Array<string>(data.length);
  const offsets = data.valueOffsets;
  for (let i = 0; i < data.length; i++) {
    out[i] = decoder.decode(data.values.subarray(offsets[i], offsets[i + 1]));
  }
  return out;
}
