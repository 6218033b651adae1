/**
 * The Arrow schema of a solution dataset: one row per solved (text, restart).
 *
 * Column order and types are fixed here and nowhere else; the writer, the merge and the readers
 * all build or check schemas through this module. `m` exists only when m is learned per text;
 * `restart` only when every restart of a text is kept as its own row (`solve --keep-all-restarts`),
 * so datasets written without it keep the layout they always had and read as restart 0.
 */
import { Bool, Field, FixedSizeList, Float32, Float64, Int32, Int64, List, Schema, Utf8, type DataType } from 'apache-arrow';
import { PrototokenError } from '../util/errors.js';

/** Arrow types of every column, for typed `column(name)` access. */
export interface ColumnTypes {
  text_id: Utf8;
  text: Utf8;
  token_ids: List<Int32>;
  n_tokens: Int32;
  e: FixedSizeList<Float32>;
  m: FixedSizeList<Float32>;
  seed: Int64;
  restart: Int32;
  steps: Int32;
  accuracy: Float32;
  c_tokens: Int32;
  prefix_len: Int32;
  loss: Float32;
  h_lm_nats: Float64;
  solved: Bool;
  seconds: Float32;
  split: Utf8;
}

/** A column name. */
export type ColumnName = keyof ColumnTypes;

/** What each column means; shown in dataset_info.json and the dataset card. */
export const COLUMN_DESCRIPTIONS: Readonly<Record<ColumnName, string>> = {
  text_id: 'id of the source text (from the text file; line number when it had none)',
  text: 'the source text, exactly as read',
  token_ids: 'the target token ids the model should emit (the tokenized text, cut to n_tokens)',
  n_tokens: 'number of target tokens (length of token_ids)',
  e: 'the learned per-text proto-token embedding, d_model floats',
  m: 'the learned per-text second proto-token (only when m is per text; otherwise see m.safetensors)',
  seed: 'seed of this restart',
  restart: 'which restart of the text (0..K-1) this row is; only in datasets that keep every restart (solve --keep-all-restarts), elsewhere read as 0',
  steps: 'optimisation steps taken',
  accuracy: 'fraction of target tokens the frozen model predicts correctly from [e][m]...[m]',
  c_tokens: 'number of target tokens predicted correctly',
  prefix_len: 'length of the longest correctly predicted prefix',
  loss: 'final cross-entropy loss (sum over positions)',
  h_lm_nats: 'the text\'s own negative log-likelihood under the model (H_LM), in nats',
  solved: 'whether every target token was predicted correctly',
  seconds: 'wall-clock seconds spent on this (text, restart)',
  split: 'train / val / test, from a stable hash of text_id',
};

const FLOAT32 = new Float32();

function vectorType(d: number): FixedSizeList<Float32> {
  return new FixedSizeList(d, new Field('item', FLOAT32, false));
}

/** Column name -> Arrow type for a dataset with embedding width `d`. */
function columnTypes(d: number): ColumnTypes {
  return {
    text_id: new Utf8(),
    text: new Utf8(),
    token_ids: new List(new Field('item', new Int32(), false)),
    n_tokens: new Int32(),
    e: vectorType(d),
    m: vectorType(d),
    seed: new Int64(),
    restart: new Int32(),
    steps: new Int32(),
    accuracy: new Float32(),
    c_tokens: new Int32(),
    prefix_len: new Int32(),
    loss: new Float32(),
    h_lm_nats: new Float64(),
    solved: new Bool(),
    seconds: new Float32(),
    split: new Utf8(),
  };
}

/** What a stored schema says about the data. */
export interface SchemaShape {
  d: number;
  perTextM: boolean;
  /** Every restart is its own row, numbered in a `restart` column. */
  allRestarts: boolean;
}

/** Column names in storage order; `m` only when per text, `restart` only when every restart is kept. */
export function columnNames(shape: Omit<SchemaShape, 'd'>): ColumnName[] {
  const all = Object.keys(COLUMN_DESCRIPTIONS) as ColumnName[];
  return all.filter((c) => (c !== 'm' || shape.perTextM) && (c !== 'restart' || shape.allRestarts));
}

/** The schema of datasets of `shape`, carrying `metadata` (string -> string). */
export function solutionSchema(shape: SchemaShape, metadata: Map<string, string> = new Map()): Schema {
  const types = columnTypes(shape.d);
  const fields = columnNames(shape).map((name) => new Field(name, types[name], false));
  return new Schema(fields, metadata);
}

/** Column name, Arrow type (as text) and meaning, for dataset_info.json. */
export function describeSchema(shape: SchemaShape): { name: ColumnName; type: string; description: string }[] {
  const types = columnTypes(shape.d);
  return columnNames(shape).map((name) => ({
    name,
    type: String(types[name] as DataType),
    description: COLUMN_DESCRIPTIONS[name],
  }));
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
  const shape: SchemaShape = {
    d: (e.type as FixedSizeList).listSize,
    perTextM: schema.fields.some((f) => f.name === 'm'),
    allRestarts: schema.fields.some((f) => f.name === 'restart'),
  };
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
