/**
 * What a dataset says about itself, at two levels:
 *
 * - `PartMeta`, stored as JSON in the Arrow schema metadata (key `prototoken.part`) of every part
 *   stream. It is written once, atomically with the part's creation, so shards on different
 *   machines never share a mutable file while they run, and a part copied alone still says which
 *   model, m, N, arrangement and solver config produced it.
 * - `DatasetInfo`, the `dataset_info.json` written by merge: the same settings plus the schema,
 *   the parts merged, counts and statistics.
 *
 * `compatDiff` decides whether two of them may share a dataset; on-disk JSON is snake_case.
 */
import { z } from 'zod';
import { PrototokenError } from '../util/errors.js';
import type { ColumnName } from './schema.js';
import type { DatasetStats } from './dataset_stats.js';

/** complete: every planned text done; incomplete: some are not (or shards or batches are missing); unknown: no plan recorded. */
export type CompletenessStatus = 'complete' | 'incomplete' | 'unknown';

/** The verdict, as dataset_info.json records it (`completeness`). */
export interface Completeness {
  status: CompletenessStatus;
  /** Texts the parts' runs set out to solve (the union of their plans); null when no part has a plan. */
  texts_planned: number | null;
  /** Planned texts with all their rows stored. */
  texts_done: number;
  /** Planned texts started but not done: in flight when their run stopped (solver state saved), or with some restarts stored. */
  texts_in_progress: number;
  /** Planned texts with nothing stored or saved; null when no part has a plan. */
  texts_not_started: number | null;
  /** Part files a complete set of shards would have but the folder lacks. */
  missing_shards: string[];
  /** Parts ending in an incomplete batch (their writer was killed mid-write); its rows are not in the dataset. */
  torn_parts: string[];
  /** One line for people. */
  summary: string;
}

/** Which solver mode produced the rows. Capacity rows vary in length, so `length` is null. */
export type DatasetKind = 'solve' | 'capacity' | 'fit-m';

/** Schema metadata key of a part's PartMeta. */
export const PART_META_KEY = 'prototoken.part';
/** Schema metadata key of data.arrow's DatasetMeta. */
export const DATASET_META_KEY = 'prototoken.dataset';
/** Value of `format`. */
export const FORMAT_NAME = 'prototoken-solutions';
/** Bumped when the layout changes incompatibly. */
export const FORMAT_VERSION = 1;

const mInfoSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('per-text') }),
  z.object({ mode: z.literal('shared'), fingerprint: z.string(), file: z.literal('m.safetensors') }),
]);

/** How m is stored: a column, or one shared vector in m.safetensors (`fingerprint`: sha256 of its F32 bytes). */
export type MInfo = z.infer<typeof mInfoSchema>;

const restartsInfoSchema = z.object({ keep: z.literal('all'), count: z.number().int().positive() });

/**
 * Set when every restart of a text is its own row (a `restart` column, `solve --keep-all-restarts`):
 * a text is complete once all `count` restarts are stored. Absent: one row per text, the best restart.
 */
export type RestartsInfo = z.infer<typeof restartsInfoSchema>;

/** The settings every part and the dataset record; everything but `shard` and `created` must agree. */
const settingsSchema = z.object({
  format: z.literal(FORMAT_NAME),
  format_version: z.literal(FORMAT_VERSION),
  kind: z.enum(['solve', 'capacity', 'fit-m']),
  model: z.object({ id: z.string(), fingerprint: z.string(), tokenizer_hash: z.string(), d_model: z.number().int().positive() }),
  arrangement: z.string(),
  length: z.number().int().positive().nullable(),
  init: z.string(),
  m: mInfoSchema,
  /** Optional, so datasets written before it existed read (and resume) unchanged. */
  restarts: restartsInfoSchema.optional(),
  solver_config: z.record(z.string(), z.unknown()),
  source: z.object({ name: z.string(), license: z.string(), url: z.string().nullable() }),
  split_ratios: z.object({ train: z.number(), val: z.number(), test: z.number() }),
  software: z.object({ name: z.string(), version: z.string() }),
});

/** The settings shared by parts and datasets. */
export type DatasetSettings = z.infer<typeof settingsSchema>;

const partMetaSchema = settingsSchema.extend({
  shard: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
  created: z.string(),
});

/** A part's self-description (schema metadata `prototoken.part`). */
export type PartMeta = z.infer<typeof partMetaSchema>;

const sourceStampSchema = z.object({ file: z.string(), size: z.number(), tail_sha256: z.string() });

/** A part as it was when merged: size plus a hash of its last bytes, to notice later appends. */
export type SourceStamp = z.infer<typeof sourceStampSchema>;

const datasetMetaSchema = settingsSchema.extend({
  created: z.string(),
  /** Random id of the merge that wrote the file; dataset_info.json repeats it next to the file's sha256. */
  merge_id: z.string(),
  merged_from: z.array(sourceStampSchema),
});

/** data.arrow's self-description (schema metadata `prototoken.dataset`). */
export type DatasetMeta = z.infer<typeof datasetMetaSchema>;

/** One part, as listed in dataset_info.json. */
export interface PartSummary {
  file: string;
  rows: number;
  bytes: number;
  /** Bytes of an incomplete batch at the end, ignored (0 for a clean part). */
  torn_bytes: number;
  /** Whether the writer closed it (end-of-stream marker present). */
  closed: boolean;
}

/** The whole of dataset_info.json. */
export interface DatasetInfo extends DatasetSettings {
  description: string;
  schema: { name: ColumnName; type: string; description: string }[];
  shards: { counts: number[]; parts: PartSummary[] };
  /** `data.arrow` once merged; null when only stream parts exist. */
  data_file: string | null;
  /** sha256 of data.arrow as written by the merge `merge_id` (null when not merged). */
  data_sha256: string | null;
  /** Id of the merge that wrote data.arrow (also in its schema metadata); null when not merged. */
  merge_id: string | null;
  counts: DatasetStats['counts'];
  /**
   * Whether every text the runs planned is there, with the counts of texts done, in progress and
   * not started. Absent in datasets merged before it existed (read: unknown).
   */
  completeness?: Completeness;
  stats: Omit<DatasetStats, 'counts'>;
  created: string;
  updated: string;
}

/** Parse and check PartMeta JSON found in the schema metadata of `file`. */
export function parsePartMeta(json: string | undefined, file: string): PartMeta {
  return parseWith(partMetaSchema, json, file, PART_META_KEY);
}

/** Parse and check DatasetMeta JSON found in the schema metadata of `file`. */
export function parseDatasetMeta(json: string | undefined, file: string): DatasetMeta {
  return parseWith(datasetMetaSchema, json, file, DATASET_META_KEY);
}

/** Parse dataset_info.json text; only the settings are checked strictly, the rest is taken as written. */
export function parseDatasetInfo(text: string, file: string): DatasetInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PrototokenError(`not valid JSON (${(err as Error).message})`, { file, fix: 'run `prototoken merge` on the folder to rewrite it' });
  }
  const r = settingsSchema.loose().safeParse(raw);
  if (!r.success) {
    throw new PrototokenError(`not a prototoken dataset_info.json:\n${z.prettifyError(r.error)}`, {
      file,
      fix: 'run `prototoken merge` on the folder to rewrite it',
    });
  }
  return raw as DatasetInfo;
}

function parseWith<T>(schema: z.ZodType<T>, json: string | undefined, file: string, key: string): T {
  if (json === undefined) {
    throw new PrototokenError(`the Arrow schema has no '${key}' metadata: not written by prototoken`, {
      file,
      fix: 'point at a folder written by `prototoken solve` / `prototoken merge`',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    raw = undefined;
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const version = (raw as { format_version?: unknown } | undefined)?.format_version;
    throw new PrototokenError(
      version !== undefined && version !== FORMAT_VERSION
        ? `written in dataset format version ${String(version)}; this prototoken reads version ${FORMAT_VERSION}`
        : `the '${key}' schema metadata is not valid:\n${r.error ? z.prettifyError(r.error) : 'not JSON'}`,
      { file, fix: 'use the prototoken version that wrote it, or rebuild the dataset' },
    );
  }
  return r.data;
}

/** Just the settings of a part, dataset meta or info (drops shard, timestamps, stats). */
export function settingsOf(x: DatasetSettings): DatasetSettings {
  const { format, format_version, kind, model, arrangement, length, init, m, restarts, solver_config, source, split_ratios, software } = x;
  return { format, format_version, kind, model, arrangement, length, init, m, ...(restarts ? { restarts } : {}), solver_config, source, split_ratios, software };
}

/**
 * The fields that must be equal for rows to share a dataset, flattened to `path -> JSON value`.
 * The model id (a path or Hub name), the source name and the software version may differ.
 */
function compatFields(s: DatasetSettings): Map<string, string> {
  const out = new Map<string, string>();
  out.set('kind', JSON.stringify(s.kind));
  out.set('model.fingerprint', JSON.stringify(s.model.fingerprint));
  out.set('model.tokenizer_hash', JSON.stringify(s.model.tokenizer_hash));
  out.set('model.d_model', JSON.stringify(s.model.d_model));
  out.set('arrangement', JSON.stringify(s.arrangement));
  out.set('length (N)', JSON.stringify(s.length));
  out.set('init', JSON.stringify(s.init));
  out.set('m', s.m.mode === 'shared' ? `shared m sha256 ${s.m.fingerprint}` : 'per-text');
  out.set('restarts', s.restarts ? `all ${s.restarts.count} kept (--keep-all-restarts)` : 'best kept');
  out.set('split_ratios', JSON.stringify([s.split_ratios.train, s.split_ratios.val, s.split_ratios.test]));
  flatten(s.solver_config, 'solver_config', out);
  return out;
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v).sort();
    if (keys.length === 0) out.set(prefix, '{}');
    for (const k of keys) flatten((v as Record<string, unknown>)[k], `${prefix}.${k}`, out);
  } else {
    out.set(prefix, JSON.stringify(v) ?? 'undefined');
  }
}

/** `field: a vs b` for every compatibility field that differs; empty when compatible. */
export function compatDiff(a: DatasetSettings, b: DatasetSettings): string[] {
  const fa = compatFields(a);
  const fb = compatFields(b);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])];
  return keys.filter((k) => fa.get(k) !== fb.get(k)).map((k) => `${k}: ${fa.get(k) ?? '(unset)'} vs ${fb.get(k) ?? '(unset)'}`);
}
