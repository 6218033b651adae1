/**
 * The columns of a solution dataset, declared once: one row per solved (text, restart).
 *
 * Everything that names columns is derived from `COLUMNS`: the record, batch, column-set and row
 * types (columns.ts), take / concat, the conversion to and from Arrow record batches
 * (arrow_columns.ts), the schema and its description in dataset_info.json and the card
 * (schema.ts). Adding a column is one entry here plus the code that fills it (the solver's
 * results in solve_records.ts, or a `derived` rule). The order of the entries is the storage order.
 */
import { Bool, Field, FixedSizeList, Float32, Float64, Int32, Int64, List, Utf8 } from 'apache-arrow';

/**
 * How a column is held. In records and rows one value per row; in batches and column sets:
 *
 * - string: `string[]`, Arrow Utf8.
 * - tokens: one Int32Array per row; a column set holds them flat plus `offsets` [rows + 1], Arrow
 *   List<Int32>.
 * - vector: d floats per row, [rows * d] row-major in batches and column sets, Arrow
 *   FixedSizeList<Float32>[d].
 * - int32, int64, float32, float64: one typed array (int64: a BigInt64Array, handed over as safe
 *   integers), Arrow of that name.
 * - bool: booleans, held as 0 / 1 bytes, Arrow Bool (bit-packed).
 */
export type ColumnKind = 'string' | 'tokens' | 'vector' | 'int32' | 'int64' | 'float32' | 'float64' | 'bool';

/** Storage flags of a dataset (see SchemaShape): a column with `only` is stored when its flag is set. */
export type ShapeFlag = 'perTextM' | 'allRestarts' | 'ordered' | 'margins';

/** One column. */
export interface ColumnSpec {
  /** Arrow name, on disk (snake_case). */
  readonly name: string;
  /** Field name in records, batches, column sets and rows (camelCase). */
  readonly field: string;
  readonly kind: ColumnKind;
  /** What it means; shown in dataset_info.json and the dataset card. */
  readonly description: string;
  /** Stored only in datasets with this flag; elsewhere absent from records and rows, null in column sets. */
  readonly only?: ShapeFlag;
  /** With `only`: where not stored, read as 0 in every row (held and listed like any column). */
  readonly absentAsZero?: true;
  /**
   * Not handed over by the writer's caller but computed:
   * - lengths: the number of entries per row of the tokens column `of`; written, never held
   *   (recomputed from the offsets on read).
   * - split: train / val / test from a stable hash of the string column `of` and the split ratios;
   *   held and stored like any column.
   */
  readonly derived?: { readonly rule: 'lengths' | 'split'; readonly of: string };
  /** tokens: field name of the offsets in a column set. */
  readonly offsets?: string;
  /** int32: must be a non-negative integer (checked when handed over). */
  readonly nonNegative?: true;
}

/** The dataset's columns, in storage order. */
export const COLUMNS = [
  { name: 'text_id', field: 'textId', kind: 'string', description: 'id of the source text (from the text file; line number when it had none)' },
  { name: 'text', field: 'text', kind: 'string', description: 'the source text, exactly as read' },
  {
    name: 'token_ids', field: 'tokenIds', kind: 'tokens', offsets: 'tokenOffsets',
    description: 'the target token ids the model should emit (the tokenized text, cut to n_tokens)',
  },
  {
    name: 'n_tokens', field: 'nTokens', kind: 'int32', derived: { rule: 'lengths', of: 'tokenIds' },
    description: 'number of target tokens (length of token_ids)',
  },
  { name: 'e', field: 'e', kind: 'vector', description: 'the learned per-text proto-token embedding, d_model floats' },
  {
    name: 'm', field: 'm', kind: 'vector', only: 'perTextM',
    description: 'the learned per-text second proto-token (only when m is per text; otherwise see m.safetensors)',
  },
  { name: 'seed', field: 'seed', kind: 'int64', description: 'seed of this restart' },
  {
    name: 'restart', field: 'restart', kind: 'int32', only: 'allRestarts', absentAsZero: true, nonNegative: true,
    description: 'which restart of the text (0..K-1) this row is; only in datasets that keep every restart (solve --keep-all-restarts), elsewhere read as 0',
  },
  { name: 'steps', field: 'steps', kind: 'int32', description: 'optimisation steps taken' },
  { name: 'accuracy', field: 'accuracy', kind: 'float32', description: 'fraction of target tokens the frozen model predicts correctly from [e][m]...[m]' },
  { name: 'c_tokens', field: 'cTokens', kind: 'int32', description: 'number of target tokens predicted correctly' },
  { name: 'prefix_len', field: 'prefixLen', kind: 'int32', description: 'length of the longest correctly predicted prefix' },
  { name: 'loss', field: 'loss', kind: 'float32', description: 'final cross-entropy loss (sum over positions)' },
  {
    name: 'margin', field: 'margin', kind: 'float32', only: 'margins',
    description: 'smallest logit margin over the target positions at the final pass: the correct token\'s logit minus the largest other logit (> 0 at every position exactly when the text is reproduced; larger: the e sits deeper inside its solution set; NaN when not measured); only in datasets created since the column exists',
  },
  {
    name: 'polish_steps', field: 'polishSteps', kind: 'int32', only: 'margins', nonNegative: true,
    description: 'optimisation steps taken after the row first reproduced its text (solve --polish-steps / --stop-loss / --min-margin; 0 without polishing), so steps - polish_steps is the step of the first solve; only in datasets created since the column exists',
  },
  { name: 'h_lm_nats', field: 'hLmNats', kind: 'float64', description: 'the text\'s own negative log-likelihood under the model (H_LM), in nats' },
  { name: 'solved', field: 'solved', kind: 'bool', description: 'whether every target token was predicted correctly' },
  { name: 'seconds', field: 'seconds', kind: 'float32', description: 'wall-clock seconds spent on this (text, restart)' },
  { name: 'split', field: 'split', kind: 'string', derived: { rule: 'split', of: 'textId' }, description: 'train / val / test, from a stable hash of text_id' },
  {
    name: 'order', field: 'order', kind: 'int32', only: 'ordered', nonNegative: true,
    description: 'position of the row\'s text in the input of the run that solved it (0-based index among that run\'s texts or windows, before sharding); rows are stored as they finish, so sort by order for input order',
  },
] as const satisfies readonly ColumnSpec[];

/** The table for loops (every entry seen through ColumnSpec). */
export const COLUMN_SPECS: readonly ColumnSpec[] = COLUMNS;

/** Columns a column set holds: all but those recomputed on read. */
export const HELD_COLUMNS: readonly ColumnSpec[] = COLUMN_SPECS.filter((c) => c.derived?.rule !== 'lengths');

/** Columns the writer's caller hands over (records and batches): all but the derived ones. */
export const INPUT_COLUMNS: readonly ColumnSpec[] = COLUMN_SPECS.filter((c) => !c.derived);

/** Arrow type of each kind. */
export interface ArrowTypeOf {
  string: Utf8;
  tokens: List<Int32>;
  vector: FixedSizeList<Float32>;
  int32: Int32;
  int64: Int64;
  float32: Float32;
  float64: Float64;
  bool: Bool;
}

/** A kind's Arrow type for a dataset with embedding width `d`. */
export function arrowType<K extends ColumnKind>(kind: K, d: number): ArrowTypeOf[K] {
  const types: { [T in ColumnKind]: () => ArrowTypeOf[T] } = {
    string: () => new Utf8(),
    tokens: () => new List(new Field('item', new Int32(), false)),
    vector: () => new FixedSizeList(d, new Field('item', new Float32(), false)),
    int32: () => new Int32(),
    int64: () => new Int64(),
    float32: () => new Float32(),
    float64: () => new Float64(),
    bool: () => new Bool(),
  };
  return types[kind]();
}

/** The spec of the column whose field is `field` (programming error if there is none). */
export function specOfField(field: string): ColumnSpec {
  const spec = COLUMN_SPECS.find((c) => c.field === field);
  if (!spec) throw new Error(`no column has field ${field}`);
  return spec;
}
