/**
 * Column sets <-> Arrow record batches, built buffer by buffer with `makeData` (no row-wise
 * builders): numeric columns are handed to Arrow as they are, strings are UTF-8 encoded once per
 * column. Both directions loop over the column table (column_table.ts).
 */
import { Data, RecordBatch, Struct, makeData, type DataType, type Schema, type Table } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';
import { COLUMN_SPECS, HELD_COLUMNS, specOfField, type ArrowTypeOf, type ColumnSpec } from './column_table.js';
import { absentColumn, type SolutionColumns } from './columns.js';
import type { SchemaShape } from './schema.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Column sets seen as plain objects by the loops below. */
type Loose = Record<string, unknown>;

/** One record batch holding `c`, typed by `schema` (from `solutionSchema`). */
export function recordBatchFromColumns(c: SolutionColumns, schema: Schema): RecordBatch {
  const children = schema.fields.map((f) => {
    const spec = COLUMN_SPECS.find((x) => x.name === f.name);
    if (!spec) throw new Error(`schema column ${f.name} is not in the column table`); // programming error
    return dataOf(spec, f.type as DataType, c);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: c.rows, nullCount: 0, children }));
}

/** The Arrow data of one column of `c`; `type` is the schema's type of that column. */
function dataOf(spec: ColumnSpec, type: DataType, c: SolutionColumns): Data {
  const from = c as Loose;
  const length = c.rows;
  if (spec.derived?.rule === 'lengths') {
    const offsets = from[specOfField(spec.derived.of).offsets!] as Int32Array;
    const counts = new Int32Array(length);
    for (let i = 0; i < length; i++) counts[i] = offsets[i + 1] - offsets[i];
    return makeData({ type: type as ArrowTypeOf['int32'], length, nullCount: 0, data: counts });
  }
  const v = from[spec.field];
  switch (spec.kind) {
    case 'string':
      return utf8Data(type as ArrowTypeOf['string'], v as string[]);
    case 'tokens': {
      const t = type as ArrowTypeOf['tokens'];
      const ids = v as Int32Array;
      const child = makeData({ type: t.children[0].type, length: ids.length, nullCount: 0, data: ids });
      return makeData({ type: t, length, nullCount: 0, valueOffsets: from[spec.offsets!] as Int32Array, child });
    }
    case 'vector': {
      const t = type as ArrowTypeOf['vector'];
      const values = v as Float32Array;
      return makeData({ type: t, length, nullCount: 0, child: makeData({ type: t.children[0].type, length: values.length, nullCount: 0, data: values }) });
    }
    case 'bool':
      return makeData({ type: type as ArrowTypeOf['bool'], length, nullCount: 0, data: packBits(v as Uint8Array) });
    case 'int64':
      return makeData({ type: type as ArrowTypeOf['int64'], length, nullCount: 0, data: v as BigInt64Array });
    case 'int32':
      return makeData({ type: type as ArrowTypeOf['int32'], length, nullCount: 0, data: v as Int32Array });
    case 'float32':
      return makeData({ type: type as ArrowTypeOf['float32'], length, nullCount: 0, data: v as Float32Array });
    case 'float64':
      return makeData({ type: type as ArrowTypeOf['float64'], length, nullCount: 0, data: v as Float64Array });
  }
}

function utf8Data(type: ArrowTypeOf['string'], strings: readonly string[]): Data<ArrowTypeOf['string']> {
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

/** The columns of one record batch of a dataset of `shape`; malformed data is an error naming `file`. */
export function columnsOfRecordBatch(batch: RecordBatch, shape: SchemaShape, file: string): SolutionColumns {
  try {
    return columnsFromRecordBatch(batch, shape);
  } catch (err) {
    if (err instanceof PrototokenError) throw err;
    throw new PrototokenError(`a record batch could not be decoded (${(err as Error).message})`, {
      file,
      fix: 'the file is corrupt: delete it and rebuild it (rerun the shard, or merge again)',
    });
  }
}

/**
 * Numeric columns are views where Arrow's layout allows; strings are decoded. Arrow JS pre-slices
 * value and offset buffers (index 0 is the first row of this Data); only bit-packed booleans keep
 * a bit offset.
 */
function columnsFromRecordBatch(batch: RecordBatch, shape: SchemaShape): SolutionColumns {
  const rows = batch.numRows;
  const { d } = shape;
  const out: Loose = { rows, d };
  for (const spec of HELD_COLUMNS) {
    if (spec.only && !shape[spec.only]) {
      // Not stored in this dataset: read as 0 (e.g. one row per text is restart 0), or absent.
      out[spec.field] = absentColumn(spec, rows);
      continue;
    }
    const vector = batch.getChild(spec.name);
    if (!vector || vector.data.length !== 1) throw new Error(`column ${spec.name} is missing or split`);
    const data = vector.data[0];
    switch (spec.kind) {
      case 'string':
        out[spec.field] = decodeUtf8(data as Data<ArrowTypeOf['string']>);
        break;
      case 'tokens': {
        const offsets = (data.valueOffsets as Int32Array).subarray(0, rows + 1);
        const base = offsets[0];
        out[spec.offsets!] = base === 0 ? offsets : offsets.map((o) => o - base);
        out[spec.field] = (data.children[0].values as Int32Array).subarray(base, offsets[rows]);
        break;
      }
      case 'vector':
        out[spec.field] = (data.children[0].values as Float32Array).subarray(0, rows * d);
        break;
      case 'bool': {
        const flags = new Uint8Array(rows);
        for (let i = 0; i < rows; i++) {
          const bit = data.offset + i;
          flags[i] = ((data.values as Uint8Array)[bit >> 3] >> (bit & 7)) & 1;
        }
        out[spec.field] = flags;
        break;
      }
      default:
        out[spec.field] = (data.values as Int32Array).subarray(0, rows);
    }
  }
  return out as SolutionColumns;
}

/** The columns of every non-empty batch of `table`. */
export function columnsFromTable(table: Table, shape: SchemaShape, file: string): SolutionColumns[] {
  // A part with no batches yet reads as one empty batch without buffers: nothing to decode.
  return table.batches.filter((b) => b.numRows > 0).map((batch) => columnsOfRecordBatch(batch, shape, file));
}

function decodeUtf8(data: Data<ArrowTypeOf['string']>): string[] {
  const out: string[] = new Array<string>(data.length);
  const offsets = data.valueOffsets;
  for (let i = 0; i < data.length; i++) {
    out[i] = decoder.decode(data.values.subarray(offsets[i], offsets[i + 1]));
  }
  return out;
}
