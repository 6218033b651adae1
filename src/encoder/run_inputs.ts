/**
 * What a training run read, by content. The recipe (config.ts TRAIN_RECIPE) compares the paths a
 * run was given; a long run resumed in another session, or on another machine, must also read the
 * same bytes there, or `--resume` would continue exactly the weights and the data order of a
 * different data set without a word. So every snapshot records the sha256 of each input file, and
 * a resume whose files differ is refused with the file named.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_FILE, listParts, sha256OfFile } from '../datasets/folder.js';
import { portablePath } from '../lm/model_name.js';
import { PrototokenError } from '../util/errors.js';

/** Input -> sha256 of its content, keyed as the config names it (a texts file, or `dataset:` + the folder). */
export type RunInputs = Record<string, string>;

/**
 * The sha256 of each texts file and of the dataset's data: data.arrow when merged, else its part
 * files in shard order (each part's hash, hashed together).
 */
export async function runInputs(config: { texts: readonly string[]; dataset: string | null }): Promise<RunInputs> {
  const out: RunInputs = {};
  for (const file of config.texts) out[portablePath(file)] = await sha256OfFile(file);
  if (config.dataset) {
    const data = path.join(config.dataset, DATA_FILE);
    const files = existsSync(data) ? [data] : (await listParts(config.dataset)).map((p) => p.path);
    const hashes = await Promise.all(files.map((f) => sha256OfFile(f)));
    out[`dataset:${portablePath(config.dataset)}`] = hashes.length === 1 ? hashes[0] : createHash('sha256').update(hashes.join('\n')).digest('hex');
  }
  return out;
}

/**
 * Refuse a resume whose inputs differ from those the snapshot recorded (a snapshot from before
 * inputs were recorded has none: nothing to compare).
 */
export function checkRunInputs(recorded: RunInputs | undefined, now: RunInputs, snapshotDir: string): void {
  if (!recorded) return;
  const changed = Object.keys(now)
    .filter((k) => k in recorded && recorded[k] !== now[k])
    .map((k) => `${k.replace(/^dataset:/, 'the dataset ')} (sha256 ${recorded[k].slice(0, 12)}… when the run started, ${now[k].slice(0, 12)}… now)`);
  if (changed.length === 0) return;
  throw new PrototokenError(`--resume on other data than the run was trained on: ${changed.join('; ')}`, {
    file: path.join(snapshotDir, 'encoder.json'),
    fix: 'restore the files the run started with (see the checkpoint\'s config.json and README), or start a new --name',
  });
}
