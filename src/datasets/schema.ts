/**
 * The Arrow schema of a solution dataset, derived from the column table (column_table.ts).
 *
 * The writer, the merge and the readers all build or check schemas through this module. `m` exists
 * only when m is learned per text; `restart` only when every restart of a text is kept as its own
 * row (`solve --keep-all-restarts`), so datasets written without it keep the layout they always
 * had and read as restart 0; `order`, and `margin` with `polish_steps`, only in datasets created
 * since they exist (a dataset resumed from before keeps its layout).
 */
import { Field, FixedSizeList, Schema } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';
import { COLUMN_SPECS, arrowType, type ArrowTypeOf, type COLUMNS, type ShapeFlag } from './column_table.js';

type Column = (typeof COLUMNS)[number];

/** Arrow types of every column, for typed `column(name)` access. */
export type ColumnTypes = { [C in Column as C['name']]: ArrowTypeOf[C['kind']] };

/** A column name. */
export type ColumnName = keyof ColumnTypes;

/** What each column means; shown in dataset_info.json and the dataset card. */
export const COLUMN_DESCRIPTIONS: Readonly<Record<ColumnName, string>> = Object.fromEntries(COLUMN_SPECS.map((c) => [c.name, c.description])) as Record<ColumnName, string>;

/** What a stored schema says about the data. */
export interface SchemaShape {
  d: number;
  perTextM: boolean;
  /** Every restart is its own row, numbered in a `restart` column. */
  allRestarts: boolean;
  /** Rows carry their input position in an `order` column. */
  ordered: boolean;
  /** Rows carry their final logit margin and polishing steps (`margin`, `polish_steps`). */
  margins: boolean;
}

/** Column names in storage order; `m` only when per text, `restart` only when every restart is kept. */
export function columnNames(shape: Omit<SchemaShape, 'd'>): ColumnName[] {
  return storedSpecs(shape).map((c) => c.name as ColumnName);
}

function storedSpecs(shape: Omit<SchemaShape, 'd'>): typeof COLUMN_SPECS {
  return COLUMN_SPECS.filter((c) => !c.only || shape[c.only]);
}

/** The schema of datasets of `shape`, carrying `metadata` (string -> string). */
export function solutionSchema(shape: SchemaShape, metadata: Map<string, string> = new Map()): Schema {
  const fields = storedSpecs(shape).map((c) => new Field(c.name, arrowType(c.kind, shape.d), false));
  return new Schema(fields, metadata);
}

/** Column name, Arrow type (as text) and meaning, for dataset_info.json. */
export function describeSchema(shape: SchemaShape): { name: ColumnName; type: string; description: string }[] {
  return storedSpecs(shape).map((c) => ({ name: c.name as ColumnName, type: String(arrowType(c.kind, shape.d)), description: c.description }));
}

/**
 * Check that `schema` (read from `file`) has every column with the right type, and return its
 * shape. Extra columns are tolerated (a newer writer may add some) but never read.
 */
export function checkSchema(schema: Schema, file: string): SchemaShape {
  const e = schema.fields.find((f) => f.name === 'e');
  if (!e || !(e.type instanceof FixedSizeList)) {
    throw new PrototokenError('has no `e` column of fixed-size float lists: this is not a prototoken solution dataset', {
      file,
      fix: 'point at a folder written by `prototoken solve`',
    });
  }
  // A flag is set when a column stored only under it is there.
  const stored = (flag: ShapeFlag): boolean => COLUMN_SPECS.some((c) => c.only === flag && schema.fields.some((f) => f.name === c.name));
  const shape: SchemaShape = { d: (e.type as FixedSizeList).listSize, perTextM: stored('perTextM'), allRestarts: stored('allRestarts'), ordered: stored('ordered'), margins: stored('margins') };
  const expected = solutionSchema(shape);
  const problems: string[] = [];
  for (const want of expected.fields) {
    const got = schema.fields.find((f) => f.name === want.name);
    if (!got) problems.push(`column ${want.name} is missing`);
    else if (String(got.type) !== String(want.type)) problems.push(`column ${want.name} is ${String(got.type)}, expected ${String(want.type)}`);
  }
  if (problems.length) {
    throw new PrototokenError(`unexpected schema: ${problems.join('; ')}`, {
      file,
      fix: 'the file was not written by this version of prototoken; rewrite it with `prototoken solve`',
    });
  }
  return shape;
}
