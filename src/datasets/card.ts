/**
 * README.md of a dataset: a Hugging Face style dataset card (YAML front matter, then prose),
 * generated from dataset_info.json so the two never disagree.
 */
import { stringify } from 'yaml';
import type { DatasetInfo } from './info.js';

/** The one Hugging Face split the card declares; train/val/test are the rows' own `split` column. */
export const HF_SPLIT = 'solutions';
/**
 * The split an incomplete dataset declares instead, so `load_dataset(dir, split="solutions")`
 * fails ("Unknown split") rather than return part of the texts as if whole; asking for this split
 * by name is the explicit way to take the partial rows.
 */
export const HF_PARTIAL_SPLIT = 'partial';

/** The split the card of `info` declares. */
export function hfSplitOf(info: Pick<DatasetInfo, 'completeness'>): string {
  return info.completeness?.status === 'incomplete' ? HF_PARTIAL_SPLIT : HF_SPLIT;
}

/** Hugging Face `size_categories` bucket for `n` rows. */
export function sizeCategory(n: number): string {
  const buckets: [number, string][] = [
    [1e3, 'n<1K'], [1e4, '1K<n<10K'], [1e5, '10K<n<100K'], [1e6, '100K<n<1M'], [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'], [1e9, '100M<n<1B'],
  ];
  return buckets.find(([limit]) => n < limit)?.[1] ?? 'n>1B';
}

/** The card text for `info`. */
export function renderCard(info: DatasetInfo): string {
  const split = hfSplitOf(info);
  const incomplete = info.completeness?.status === 'incomplete';
  const front = stringify({
    license: info.source.license,
    task_categories: ['feature-extraction'],
    size_categories: [sizeCategory(info.counts.rows)],
    tags: ['prototoken', 'proto-tokens', 'embeddings', 'one-forward-pass', `kind-${info.kind}`, ...(incomplete ? ['incomplete'] : [])],
    pretty_name: `${title(info)}${incomplete ? ' (incomplete)' : ''}`,
    // Hugging Face `load_dataset(folder)` reads data.arrow (an Arrow IPC stream) through its arrow
    // builder; the features (e as a fixed-length float32 sequence) come from the Arrow schema itself.
    configs: [{ config_name: 'default', data_files: [{ split, path: 'data.arrow' }] }],
  }).trimEnd();
  const n = info.length === null ? 'varying per row (see `n_tokens`)' : String(info.length);
  const mLine =
    info.m.mode === 'per-text'
      ? 'learned per text (column `m`)'
      : `one shared vector in \`m.safetensors\` (sha256 of its float32 bytes: \`${info.m.fingerprint}\`)`;
  const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const source = info.source.url ? `[${info.source.name}](${info.source.url})` : info.source.name;
  const lines = [
    '---', front, '---', '',
    `# ${title(info)}`, '',
    ...completenessLines(info),
    '## What this is', '',
    `Each row is one (text, restart) solved by prototoken: a learned input embedding \`e\` ` +
      `(and \`m\`) such that the frozen causal language model \`${info.model.id}\`, fed \`[e][m][m]...[m]\`, ` +
      `emits the text's tokens in a single forward pass. ${kindSentence(info)}`,
    '',
    '## How it was made', '',
    '| setting | value |', '| --- | --- |',
    `| model | \`${info.model.id}\` |`,
    `| model weights sha256 | \`${info.model.fingerprint}\` |`,
    `| tokenizer hash | \`${info.model.tokenizer_hash}\` |`,
    `| d_model | ${info.model.d_model} |`,
    `| kind | ${info.kind} |`,
    `| N (tokens per text) | ${n} |`,
    `| arrangement | ${info.arrangement} |`,
    `| init | ${info.init} |`,
    `| m | ${mLine} |`,
    `| split | train/val/test ${info.split_ratios.train}/${info.split_ratios.val}/${info.split_ratios.test} by a stable hash of \`text_id\` |`,
    `| software | ${info.software.name} ${info.software.version} |`,
    `| created / updated | ${info.created} / ${info.updated} |`,
    '',
    'Solver configuration (as resolved for the run):', '',
    '```json', JSON.stringify(info.solver_config, null, 2), '```', '',
    '## Size', '',
    `${info.counts.rows} rows for ${info.counts.texts} texts; ${info.counts.solved_texts} texts solved (${pct(info.stats.solved_rate)}). ` +
      `Texts per split: train ${info.stats.splits.train}, val ${info.stats.splits.val}, test ${info.stats.splits.test}.`,
    '',
    '## Columns', '',
    '| column | Arrow type | meaning |', '| --- | --- | --- |',
    ...info.schema.map((c) => `| \`${c.name}\` | ${c.type} | ${c.description} |`),
    '',
    '## Files', '',
    '- `data.arrow`: all rows, one Arrow IPC stream, record batch by record batch.',
    '- `data.index.jsonl`, `part-*.index.jsonl`: byte offset, rows and sha256 of every record batch (`prototoken verify` checks them).',
    '- `part-SSSSS-of-NNNNN.arrows`: the Arrow IPC streams the solver processes appended to; `data.arrow` is rebuilt from them by `prototoken merge`.',
    '- `dataset_info.json`: settings, counts and statistics.',
    ...(info.m.mode === 'shared' ? ['- `m.safetensors`: the shared m (tensor `m`, float32, shape [d_model]).'] : []),
    '',
    '## Loading', '',
    '```python',
    'from datasets import load_dataset',
    `ds = load_dataset("path/to/this/folder", split="${split}")   # features: e = fixed-length float32 sequence [${info.model.d_model}]`,
    'train = ds.filter(lambda r: r["split"] == "train")',
    '',
    'import pyarrow as pa',
    'table = pa.ipc.open_stream(pa.memory_map("data.arrow")).read_all()   # memory-mapped, zero copy',
    '',
    'import polars as pl',
    'df = pl.read_ipc_stream("data.arrow")',
    '```',
    '',
    'Parquet: `prototoken export <folder> --format parquet` writes `data.parquet` (`pl.read_parquet`, `pd.read_parquet`).',
    '',
    '## Source texts and license', '',
    `The texts come from ${source}, licensed **${info.source.license}**. The embeddings are derived from those texts, ` +
      'so redistribute this dataset under the terms of that license, with its attribution.',
    '',
  ];
  return lines.join('\n');
}

function title(info: DatasetInfo): string {
  const model = info.model.id.split(/[\\/]/).filter(Boolean).pop() ?? info.model.id;
  return `prototoken ${info.kind}: ${info.source.name} on ${model}`;
}

function kindSentence(info: DatasetInfo): string {
  switch (info.kind) {
    case 'capacity':
      return 'This is a capacity run: for each text the solver searched for the longest prefix it can still solve, so rows have different lengths; `c_tokens` is the number of tokens decoded correctly.';
    case 'fit-m':
      return 'The rows come from fitting one shared m across texts (`m.safetensors`), with e learned per text.';
    default:
      return 'Every row targets the same number of tokens N.';
  }
}

/** The card's completeness notice: a warning block for an incomplete dataset, a line otherwise. */
function completenessLines(info: DatasetInfo): string[] {
  const c = info.completeness;
  if (!c) return ['Completeness: not recorded (merged before prototoken recorded it).', ''];
  if (c.status !== 'incomplete') return [`Completeness: ${c.summary}.`, ''];
  return [
    `> **Incomplete dataset.** ${c.summary.replace(/^INCOMPLETE: /, '')}.`,
    `> Its one split is named \`${HF_PARTIAL_SPLIT}\` (not \`${HF_SPLIT}\`), so code expecting the whole dataset fails instead of`,
    `> silently reading part of it; \`load_dataset(..., split="${HF_PARTIAL_SPLIT}")\` takes the rows there are.`,
    '',
  ];
}
