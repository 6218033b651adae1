/** Reading a JSON input file and checking it against a schema, with errors that name the file. */
import { promises as fsp } from 'node:fs';
import { z } from 'zod';
import { PrototokenError, errorMessage } from '../../util/errors.js';

/** What `prototoken report` accepts, for the fix line of every input error. */
export const ACCEPTED_INPUTS =
  'pass a solution dataset folder (with dataset_info.json, from solve or capacity), a capacity --out folder (one dataset per source and m), ' +
  'a result.json (or its folder) of kind interpolate, distances, arrangements or sharing, the output of `prototoken eval --json` or ' +
  '`prototoken capacity --json` saved to a file, a TensorBoard folder runs/RUN (events.out.tfevents.*), or a checkpoint folder checkpoints/RUN';

/** The parsed JSON of `file`; a PrototokenError naming it when it cannot be read or parsed. */
export async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new PrototokenError(`cannot read it (${errorMessage(err)})`, { file, fix: ACCEPTED_INPUTS });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PrototokenError(`not valid JSON (${errorMessage(err)}): a truncated or damaged file`, { file, fix: `rewrite it with the command that made it; ${ACCEPTED_INPUTS}` });
  }
}

/** `value` checked by `schema`; a PrototokenError naming `file`, `what` it should be and every problem otherwise. */
export function checkJson<T>(schema: z.ZodType<T>, value: unknown, file: string, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new PrototokenError(`not a valid ${what}:\n${z.prettifyError(r.error)}`, { file, fix: `rewrite it with the command that made it; ${ACCEPTED_INPUTS}` });
}

/** Whether `value` is a JSON object (not an array or null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
