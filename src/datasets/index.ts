/**
 * Solution datasets: Arrow stream parts written batch by batch (resumable after any crash),
 * merged into data.arrow with dataset_info.json and a dataset card, and the operations on them
 * (read, stream, merge, verify, inspect, export). See docs/datasets.md for the on-disk format.
 */
export { openDatasetWriter, type DatasetWriter, type DatasetWriterOptions } from './writer.js';
export type { SolutionBatch, SolutionRecord } from './columns.js';
export { readDataset, type SolutionDataset, type SolutionRow } from './reader.js';
export { scanDataset, type DatasetScan, type ScanBatch, type ScanOptions } from './scan.js';
export { openSolutionLoader, type LoaderBatch, type LoaderState, type SolutionLoader, type SolutionLoaderOptions } from './loader.js';
export { verifyDataset, type FileVerdict, type VerifyOptions, type VerifyReport } from './verify.js';
export { exportParquet, type ExportOptions, type ExportReport } from './export_parquet.js';
export type { SolutionColumns } from './columns.js';
export { mergeDataset, type MergeOptions, type MergeReport } from './merge.js';
export { datasetCompleteness, requireComplete, type Completeness, type CompletenessStatus } from './completeness.js';
export {
  inspectDataset, renderInspect,
  type CapacityRow, type HeadRow, type HistogramBin, type InspectOptions, type InspectSummary,
} from './inspect.js';
export { missingShards, parsePartFileName, partFileName } from './folder.js';
export { readSharedM, writeSharedM } from './folder.js';
export { renderCard } from './card.js';
export { CARD_FILE, DATA_FILE, INFO_FILE, M_FILE } from './folder.js';
export type { DatasetInfo, DatasetKind, DatasetSettings, MInfo, PartMeta, PartSummary, RestartsInfo } from './info.js';
export { COLUMN_DESCRIPTIONS, type ColumnName, type ColumnTypes } from './schema.js';
export type { DatasetStats } from './dataset_stats.js';
export { RADIUS_SAMPLE_DEFAULTS, renderRadius, sampleRadius, type RadiusSample, type RadiusSampleOptions, type RadiusSampleRow } from './radius_sample.js';
