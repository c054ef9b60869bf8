/**
 * Imaging data as the engine sees it after reading: tidy long records
 * `patient, cell, t (s), observable, value[, condition]` plus a summary of what was read (the
 * `ctwin inspect` view). One reader per layout; `readImaging` detects the layout.
 */
export type DataKind = 'trackmate-spots' | 'trackmate-tracks' | 'frap' | 'long' | 'covariates' | 'design' | 'petab';

export interface LongRecord {
  patient: string;
  /** TrackMate TRACK_ID, the FRAP curve, or the long CSV's cell. */
  cell: string;
  /** Seconds. */
  t: number;
  /** The source column's key (`MEAN_INTENSITY_CH1`, `ROI1`, …) or the long CSV's observable. */
  observable: string;
  value: number;
  condition?: string;
}

export interface FrapSummary {
  /** Columns used as bleached ROI, whole-cell ROI and background (absent ones are undefined). */
  roles: { bleached: string; whole?: string; background?: string };
  normalisation: 'double' | 'single';
  prebleachFrames: number;
  bleachTime: number;
  /** Full-scale normalised recovery fitted by y0 + (y∞ − y0)(1 − e^{−k(t − t_bleach)}). */
  mobileFraction: number;
  halfTime: number;
  /** Time and double- (or single-) and full-scale-normalised curves, post-bleach and pre-bleach. */
  curve: { t: number[]; normalised: number[]; fullScale: number[] };
}

/** One FRAP curve after its bleach: time since the bleach (s) and the full-scale normalised recovery (src/io/frap.ts). */
export interface FrapCurve {
  patient: string;
  /** The curve's name (its file's stem). */
  cell: string;
  t: Float64Array;
  value: Float64Array;
}

export interface ReadSummary {
  path: string;
  kind: DataKind;
  headerRows: number;
  separator: string;
  decimal: string;
  /** Data rows read (after the header). */
  rows: number;
  patients: string[];
  cells: number;
  observables: string[];
  /** Measurements kept. */
  records: number;
  /** Cells of a measured column that were empty / NA / NaN (left out). */
  missingValues: number;
  spots?: number;
  tracks?: number;
  untrackedSpots?: number;
  tracksWithGaps?: number;
  frames?: number;
  timeUnit?: string;
  frameInterval?: number;
  channels?: string[];
  frap?: FrapSummary;
  warnings: string[];
}

export interface ImagingData {
  summary: ReadSummary;
  records: LongRecord[];
}

export interface ReadOptions {
  /** Seconds between frames: t = FRAME·interval (overrides POSITION_T / a time column). */
  frameInterval?: number;
  /** FRAP: frames before the bleach (default: detected at the largest drop of the bleached ROI). */
  prebleachFrames?: number;
}

/** Time units a header may state, in seconds. */
export const TIME_UNITS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1, ms: 1e-3, msec: 1e-3, min: 60, mins: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hour: 3600, hours: 3600,
};

/** Natural order of ids ("2" before "10"); one collator, since `localeCompare` with options builds one per call. */
export const naturalOrder = new Intl.Collator('en', { numeric: true });

/** Sorts records by patient, cell, observable, t (the long CSV's order). */
export function sortRecords(records: LongRecord[]): LongRecord[] {
  const cmp = naturalOrder.compare;
  return records.sort((a, b) => cmp(a.patient, b.patient) || cmp(a.cell, b.cell) || cmp(a.observable, b.observable) || a.t - b.t);
}

/** The median of a list (NaN when empty): for read and fit summaries. */
export function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs).sort((a, b) => a - b), n = s.length;
  return n === 0 ? NaN : n % 2 ? s[n >> 1]! : 0.5 * (s[n / 2 - 1]! + s[n / 2]!);
}
