/**
 * The result files the analysis commands write and `prototoken report` reads. Every analysis
 * command takes `--out DIR` and writes `DIR/result.json` (one of the types below, tagged by
 * `kind`), `DIR/config.json` (its resolved config) and any bulk data beside them (Arrow files).
 * Writes are atomic (util/fs_atomic), so a report never reads a half-written result.
 *
 * The report also takes inputs that are not result.json files: a solution dataset folder
 * (dataset_info.json; accuracy and steps histograms), a capacity output folder, an `eval --json`
 * object saved to a file, and an encoder run (checkpoints/RUN or runs/RUN with TensorBoard events).
 */
import type { Summary } from '../util/stats.js';
import type { Localization } from './localized.js';

/** Bumped when a result's shape changes incompatibly; readers refuse versions they do not know. */
export const RESULT_VERSION = 1;

/** Fields every result.json has. */
export interface ResultBase {
  kind: string;
  version: number;
  /** The model folder or hub id the result was computed with. */
  model: string;
  /** ISO time the result was written. */
  created: string;
}

/** The paths `interpolate` evaluates: the straight line, the trained quadratic Bezier curve, the trained two-bend (cubic) curve. */
export type PathKind = 'line' | 'bezier' | 'cubic';

/**
 * `prototoken interpolate`: paths between two solutions (same text, same m setting, different
 * seeds). Fields marked "since margins" are absent in results written before polishing existed.
 */
export interface InterpolateResult extends ResultBase {
  kind: 'interpolate';
  /** The (first) dataset the solutions came from. */
  dataset: string;
  /** Every dataset given, in order, when solutions came from several (pairs index it with datasetA/B). */
  datasets?: string[];
  /** The tau grid every path was evaluated on (>= 65 points since margins, >= 33 before; 0 and 1 included). */
  taus: number[];
  pairs: InterpolatePair[];
  summary: {
    pairs: number;
    /** Mean over pairs of the minimum token accuracy along the straight line. */
    lineMinAccuracy: Summary;
    bezierMinAccuracy: Summary;
    /** Pairs whose path stays at accuracy 1.0 at every tau. */
    lineConnected: number;
    bezierConnected: number;
    /** Bezier arc length / straight-line length. */
    lengthRatio: Summary;
    /** Since margins: pairs whose cubic curve was trained, and of those the ones at 1.0 all along. */
    cubicPairs?: number;
    cubicConnected?: number;
    /** Since margins: min accuracy along the cubic curve, over the pairs that have one. */
    cubicMinAccuracy?: Summary;
    /** Since margins: pairs connected at 1.0 all along by at least one path. */
    connected?: number;
    /** Since margins: the largest summed cross-entropy along each path. */
    lineMaxLoss?: Summary;
    bezierMaxLoss?: Summary;
    /** Since margins: the endpoints' smallest logit margins and polishing steps (empty summaries when not recorded). */
    endpointMargin?: Summary;
    endpointPolishSteps?: Summary;
  };
  /** Since margins: whether m is per text (each solution is e and m, and paths move both). */
  perTextM?: boolean;
  /** Since margins: same-text against other-text distances of every solution of the paired texts. */
  localized?: Localization;
  /**
   * Arrow file (beside result.json) with one row per (pair, path, tau): pair (index into `pairs`),
   * text_id, restart_a, restart_b, path ('line' | 'bezier' | 'cubic'), tau, accuracy, loss.
   */
  curvesFile: string;
}

export interface InterpolatePair {
  textId: string;
  restartA: number;
  restartB: number;
  /** Index into `datasets` of each solution's dataset (0 when there is one dataset). */
  datasetA?: number;
  datasetB?: number;
  N: number;
  /** Token accuracy at each tau of `taus`. */
  lineAccuracy: number[];
  bezierAccuracy: number[];
  lineMinAccuracy: number;
  bezierMinAccuracy: number;
  lengthRatio: number;
  /** Expected summed cross-entropy over tau ~ U[0,1] before and after training the control point. */
  bezierLossBefore: number;
  bezierLossAfter: number;
  /** Euclidean distance between the two endpoints (e, or e and m when m is per text). */
  endpointDistance: number;
  /** Since margins: summed cross-entropy at each tau. */
  lineLoss?: number[];
  bezierLoss?: number[];
  /** Since margins: the cubic curve (accuracy and loss at each tau), when it was trained for this pair; else null. */
  cubicAccuracy?: number[] | null;
  cubicLoss?: number[] | null;
  cubicMinAccuracy?: number | null;
  cubicLengthRatio?: number | null;
  /** Since margins: the simplest path at accuracy 1.0 at every tau, or null when none is. */
  connectedBy?: PathKind | null;
  /** Since margins: each endpoint's smallest logit margin and polishing steps (null: not recorded). */
  marginA?: number | null;
  marginB?: number | null;
  polishStepsA?: number | null;
  polishStepsB?: number | null;
}

export const DISTANCE_PAIR_TYPES = ['same-text', 'same-context', 'different-context'] as const;
export type DistancePairType = (typeof DISTANCE_PAIR_TYPES)[number];

/** `prototoken distances`: cosine distances between e vectors by pair type, beside TF-IDF distances of the texts. */
export interface DistancesResult extends ResultBase {
  kind: 'distances';
  groups: DistanceGroup[];
}

export interface DistanceGroup {
  type: DistancePairType;
  pairs: number;
  /** 1 - cos(e_a, e_b). */
  cosine: Summary;
  /** 1 - cos(tfidf_a, tfidf_b) of the two texts. */
  tfidf: Summary;
  /** Every pair's values, for histograms (same order in both). */
  cosineValues: number[];
  tfidfValues: number[];
}

/** The paper's arrangement ablation: one-pass accuracy after solving, per arrangement and N. */
export interface ArrangementsResult extends ResultBase {
  kind: 'arrangements';
  rows: {
    arrangement: string;
    N: number;
    texts: number;
    solved: number;
    accuracy: Summary;
    steps: Summary;
  }[];
}

/** Sharing e (per-text m) or m (per-text e) within groups of S_g texts. */
export interface SharingResult extends ResultBase {
  kind: 'sharing';
  N: number;
  rows: {
    shared: 'e' | 'm';
    groupSize: number;
    seeds: number[];
    groups: number;
    /** Per seed: mean token accuracy over the texts. */
    accuracyBySeed: number[];
    /** Best and mean over seeds of the mean accuracy. */
    best: number;
    mean: number;
    std: number;
  }[];
}

export type AnalysisResult = InterpolateResult | DistancesResult | ArrangementsResult | SharingResult;
