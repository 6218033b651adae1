/**
 * Solution datasets: the `inspect` summary (counts and the accuracy and steps histograms, read
 * batch by batch in bounded memory) and, for a capacity dataset, each text's capacity the way
 * `prototoken capacity` computes it from the same rows.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { type CapacityTextRow, capacityMMode, capacityOfRow } from '../capacity.js';
import { inspectDataset } from '../../datasets/inspect.js';
import { DATA_FILE, INFO_FILE, parsePartFileName } from '../../datasets/folder.js';
import { scanDataset } from '../../datasets/scan.js';
import { exists } from '../../util/fs_atomic.js';
import type { LoadedInput } from './types.js';

/** The threshold `prototoken capacity` uses unless told otherwise. */
const DEFAULT_CAPACITY_THRESHOLD = 0.99;

/** Whether `dir` holds a solution dataset: dataset_info.json, data.arrow or stream parts. */
export async function isDatasetFolder(dir: string): Promise<boolean> {
  if ((await exists(path.join(dir, INFO_FILE))) || (await exists(path.join(dir, DATA_FILE)))) return true;
  const names = await fsp.readdir(dir).catch((): string[] => []);
  return names.some((n) => parsePartFileName(n) !== null);
}

/** Load the dataset in `dir` (checksums verified unless `verify` is false). */
export async function loadDataset(dir: string, verify: boolean): Promise<Extract<LoadedInput, { kind: 'dataset' }>> {
  const summary = await inspectDataset(dir, { verify });
  const capacity = summary.kind === 'capacity' ? await capacityTexts(dir, verify) : null;
  const solved = `${summary.solvedTexts}/${summary.texts} texts solved`;
  return {
    kind: 'dataset',
    path: dir,
    what: `${summary.kind} dataset (${summary.rows} rows, ${solved}, N ${summary.length ?? 'per row'}, arrangement ${summary.arrangement}, source ${summary.source.name})`,
    warnings: summary.warnings,
    summary,
    capacity,
  };
}

/** Per text of a capacity dataset: its capacity (its best row, when restarts left several) and that row's H_LM. */
async function capacityTexts(dir: string, verify: boolean): Promise<CapacityTextRow[]> {
  const scan = await scanDataset(dir, { verify });
  const recorded = scan.settings.solver_config.threshold;
  const threshold = typeof recorded === 'number' ? recorded : DEFAULT_CAPACITY_THRESHOLD;
  const source = scan.settings.source.name;
  const m = capacityMMode(scan.settings.init);
  const best = new Map<string, CapacityTextRow>();
  try {
    for await (const { columns: c } of scan.batches()) {
      for (let i = 0; i < c.rows; i++) {
        const capacity = capacityOfRow({ accuracy: c.accuracy[i], nTokens: c.tokenOffsets[i + 1] - c.tokenOffsets[i] }, threshold);
        const seen = best.get(c.textId[i]);
        if (!seen || capacity > seen.capacity) best.set(c.textId[i], { source, m, id: c.textId[i], capacity, h_lm_nats: c.hLmNats[i] });
      }
    }
  } finally {
    await scan.close();
  }
  return [...best.values()];
}
