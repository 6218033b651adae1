/**
 * How a model is named in what prototoken writes for others to read (checkpoints, fitted m) and
 * in the fixes it suggests. The weights' sha256 is what identifies a model; the name only says
 * where to get it, so it must mean the same on another machine: a hub id as given, the embedded
 * model by its place in the package (`models/stories260k`), any other folder relative to the
 * working folder. An absolute path of the machine that wrote the file would be a `--model` that
 * exists nowhere else.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../util/package.js';
import { isHubId } from './hub.js';

/** The embedded model's folder inside the package. */
export const EMBEDDED_MODEL_NAME = 'models/stories260k';

/** The embedded model's folder on this machine. */
export const EMBEDDED_MODEL = path.join(PACKAGE_ROOT, EMBEDDED_MODEL_NAME);

/** A path as it may be written for sharing: as given when relative, else relative to the working folder. */
export function portablePath(p: string): string {
  if (!path.isAbsolute(p)) return p;
  return path.relative(process.cwd(), p).split(path.sep).join('/') || '.';
}

/** A `--model` value as it may be written for sharing. */
export function portableModelName(model: string): string {
  if (path.resolve(model) === EMBEDDED_MODEL) return EMBEDDED_MODEL_NAME;
  return portablePath(model);
}

/**
 * The folder or hub id to open for a `--model` value: the recorded name of the embedded model
 * opens it from wherever the command runs (unless a folder of that name is here).
 */
export function modelLocation(model: string): string {
  return model === EMBEDDED_MODEL_NAME && !existsSync(model) ? EMBEDDED_MODEL : model;
}

/** How to tell the user to select a recorded model on this machine (for a fix). */
export function modelHint(recorded: string, fingerprint: string): string {
  if (recorded === EMBEDDED_MODEL_NAME || path.resolve(recorded) === EMBEDDED_MODEL) return 'the embedded model (drop --model)';
  if (existsSync(recorded) || (isHubId(recorded) && !path.isAbsolute(recorded))) return `--model ${recorded}`;
  return `the model whose weights have sha256 ${fingerprint.slice(0, 12)}… (recorded as ${recorded}, not found here)`;
}
