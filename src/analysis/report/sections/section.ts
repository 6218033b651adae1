/** What every report section is: a title, the command that makes its data, and a renderer. */
import { isAbsolute, relative } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { fromInput } from '../html.js';
import { type InputKind, type LoadedInput, inputsOf } from '../types.js';

/** What a section may use besides the inputs. */
export interface SectionContext {
  /** Render `spec` and return it as a figure with `caption`. */
  chart(spec: TopLevelSpec, caption: string): Promise<string>;
  /** Interpolation pairs drawn as panels (the tables list them all). */
  maxPairs: number;
}

export interface Section {
  /** The HTML id of the section (ASCII, stable: links point at it). */
  id: string;
  title: string;
  /** The command that makes this section's input, shown when none was given. */
  howTo: string;
  /** The section's HTML, or null when no input carries its data. */
  render(inputs: readonly LoadedInput[], ctx: SectionContext): Promise<string | null>;
}

/**
 * The usual section body: one part per input of `kind`, under a heading naming the input; null
 * when there is none.
 */
export async function perInput<K extends InputKind>(
  inputs: readonly LoadedInput[],
  kind: K,
  title: (input: Extract<LoadedInput, { kind: K }>) => string,
  body: (input: Extract<LoadedInput, { kind: K }>) => Promise<string>,
): Promise<string | null> {
  const mine = inputsOf(inputs, kind);
  if (mine.length === 0) return null;
  const parts: string[] = [];
  for (const input of mine) parts.push(fromInput(title(input), input.path) + (await body(input)));
  return parts.join('\n');
}

/**
 * A folder as the page shows it: relative to the working directory when it lies inside it,
 * so a page made in a checkout does not print the machine's absolute paths.
 */
export function shownPath(folder: string): string {
  if (!isAbsolute(folder)) return folder;
  const rel = relative(process.cwd(), folder);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : folder;
}
