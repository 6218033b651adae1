/** What `prototoken report` makes of each input, after recognising and loading it. */
import type { CapacityTextRow } from '../capacity.js';
import type { InspectSummary } from '../../datasets/inspect.js';
import type { EvalSummary } from '../../encoder/eval_table.js';
import type { ArrangementsResult, DistancesResult, InterpolateResult, SharingResult } from '../results.js';

/** Shown in the page's list of inputs. */
interface InputBase {
  /** The path as given (or as found inside a folder that was given). */
  path: string;
  /** What the input was recognised as, in words. */
  what: string;
  /** Things a reader of the report should know about this input (stale files, dropped values). */
  warnings: string[];
}

/** One scalar of a TensorBoard run at one step. */
export interface ScalarPoint {
  tag: string;
  step: number;
  value: number;
}

/** One snapshot of an encoder checkpoint run (from encoder.json and, in `last`, train_state.json). */
export interface SnapshotInfo {
  snapshot: string;
  encoder: string;
  trainN: number;
  step: number;
  metric: { name: string; value: number | null };
  /** `last` only: the best validation value so far and its step. */
  best: { value: number; step: number } | null;
  /** `last` only: training seconds so far. */
  seconds: number | null;
}

export type LoadedInput =
  | (InputBase & { kind: 'dataset'; summary: InspectSummary; capacity: CapacityTextRow[] | null })
  | (InputBase & { kind: 'capacity-summary'; /** The capacity run's --out folder. */ run: string; capacity: CapacityTextRow[] })
  | (InputBase & { kind: 'interpolate'; result: InterpolateResult })
  | (InputBase & { kind: 'distances'; result: DistancesResult })
  | (InputBase & { kind: 'arrangements'; result: ArrangementsResult })
  | (InputBase & { kind: 'sharing'; result: SharingResult })
  | (InputBase & { kind: 'eval'; summary: EvalSummary })
  | (InputBase & { kind: 'events'; run: string; scalars: ScalarPoint[] })
  | (InputBase & { kind: 'checkpoint'; run: string; snapshots: SnapshotInfo[]; /** The TensorBoard folder its training config names. */ logdir: string | null });

export type InputKind = LoadedInput['kind'];

/** The inputs of one kind. */
export function inputsOf<K extends InputKind>(inputs: readonly LoadedInput[], kind: K): Extract<LoadedInput, { kind: K }>[] {
  return inputs.filter((i): i is Extract<LoadedInput, { kind: K }> => i.kind === kind);
}
