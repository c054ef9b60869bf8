/**
 * TrackMate spots tables (Fiji; TrackMate 6 and 7, `*_spots.csv` / `*_allspots.csv`).
 *
 * TrackMate 7 writes four header rows — feature keys (`TRACK_ID`, `FRAME`, `POSITION_T`,
 * `MEAN_INTENSITY_CH1` …), names, short names, units (`(sec)`, `(micron)`, `(counts)`) — and
 * TrackMate 6 writes one. The count is detected: after the keys row, rows whose FRAME cell is not
 * a number are header rows, and one whose cells are empty or parenthesised is the units row.
 * Untracked spots (`_allspots.csv`: empty TRACK_ID) are left out and counted; a track may skip
 * frames (gap closing); two spots of one track in one frame (a split or merge) are averaged, with
 * a warning.
 */
import { InputError } from './csv.js';
import { TIME_UNITS, sortRecords, type ImagingData, type LongRecord, type ReadOptions } from './imaging.js';
import { isMissing, looksNumeric, parseCell, patientOfFile, separatorName, type RawTable } from './table.js';

/** Spot features that are measurements (the observables a spots table offers). */
export const TRACKMATE_MEASUREMENT = /^((MEAN|MEDIAN|MIN|MAX|TOTAL|STD|STANDARD_DEVIATION)_INTENSITY(_CH\d+)?|STANDARD_DEVIATION|(CONTRAST|SNR)(_CH\d+)?)$/;

/** The keys row's TrackMate features, upper-cased (TrackMate 6 wrote `Label`, 7 writes `LABEL`). */
export const trackmateKeys = (fields: string[]) => fields.map((f) => f.trim().toUpperCase());

export function isTrackmateSpots(keys: string[]): boolean {
  return keys.includes('TRACK_ID') && (keys.includes('FRAME') || keys.includes('POSITION_T'));
}

export function isTrackmateTracks(keys: string[]): boolean {
  return keys.includes('TRACK_ID') && !keys.includes('FRAME') && !keys.includes('POSITION_T') &&
    keys.some((k) => /^(NUMBER_SPOTS|TRACK_DURATION|TRACK_START|TRACK_INDEX|SPOT_SOURCE_ID)$/.test(k));
}

/** How many rows of a TrackMate table are header rows, and its units by key. */
function headerOf(table: RawTable, keys: string[]): { headerRows: number; units: Map<string, string> } {
  // A column that is a number in every data row: FRAME (spots), else POSITION_T, else a track feature.
  const frame = ['FRAME', 'POSITION_T', 'NUMBER_SPOTS', 'TRACK_INDEX', 'ID'].map((k) => keys.indexOf(k)).find((i) => i >= 0) ?? 0;
  let headerRows = 1;
  const units = new Map<string, string>();
  while (headerRows < table.rows.length && headerRows < 4) {
    const fields = table.rows[headerRows]!.fields;
    const cell = (fields[frame] ?? '').trim();
    if (looksNumeric(cell, table.decimal)) break;
    // The units row: every cell empty or "(unit)"; an empty FRAME cell is a units row too.
    if (fields.every((f) => f.trim() === '' || /^\(.*\)$/.test(f.trim()))) {
      fields.forEach((f, k) => { const u = f.trim().replace(/^\((.*)\)$/, '$1'); if (u) units.set(keys[k]!, u); });
    } else if (cell === '') break; // a data row with an empty FRAME: let the data loop report it
    headerRows++;
  }
  return { headerRows, units };
}

export function readTrackmateTracks(table: RawTable): ImagingData {
  const keys = trackmateKeys(table.rows[0]!.fields);
  const { headerRows } = headerOf(table, keys);
  const tracks = table.rows.length - headerRows;
  return {
    summary: {
      path: table.path, kind: 'trackmate-tracks', headerRows, separator: separatorName(table.separator), decimal: table.decimal,
      rows: tracks, patients: [patientOfFile(table.path)], cells: tracks, observables: [], records: 0, missingValues: 0, tracks,
      warnings: [...table.warnings, 'a tracks table has one summary row per track and no time series; export the spots table (…_spots.csv) to calibrate'],
    },
    records: [],
  };
}

export function readTrackmateSpots(table: RawTable, options: ReadOptions = {}): ImagingData {
  const keys = trackmateKeys(table.rows[0]!.fields);
  const { headerRows, units } = headerOf(table, keys);
  const warnings = [...table.warnings];
  const col = (k: string) => keys.indexOf(k);
  const cTrack = col('TRACK_ID'), cFrame = col('FRAME'), cTime = col('POSITION_T');
  const measured = keys.map((k, i) => [k, i] as const).filter(([k]) => TRACKMATE_MEASUREMENT.test(k));
  if (measured.length === 0) {
    throw new InputError(`${table.where}:1:1: no intensity columns (MEAN_INTENSITY_CH1, TOTAL_INTENSITY_CH1, …); in TrackMate, compute spot intensity features before exporting the spots table`);
  }
  // Time: FRAME·interval when an interval is given, else POSITION_T in its stated unit.
  let toSeconds = 1, timeUnit = 'sec';
  if (options.frameInterval === undefined) {
    if (cTime < 0) throw new InputError(`${table.where}:1:1: no POSITION_T column; pass --frame-interval SECONDS to time the frames`);
    const unit = (units.get('POSITION_T') ?? '').toLowerCase();
    if (/^frames?$/.test(unit)) {
      throw new InputError(`${table.where}:${table.rows[headerRows - 1]!.line}:${cTime + 1}: POSITION_T is in frames (the image has no time calibration); pass --frame-interval SECONDS`);
    }
    if (unit === '') warnings.push('the time unit of POSITION_T is not stated (TrackMate 6 files have no units row); assumed seconds — pass --frame-interval SECONDS if it is not');
    else if (TIME_UNITS[unit] === undefined) throw new InputError(`${table.where}:${table.rows[headerRows - 1]!.line}:${cTime + 1}: unknown time unit "(${unit})" for POSITION_T; use --frame-interval SECONDS`);
    else { toSeconds = TIME_UNITS[unit]!; timeUnit = unit; }
  } else {
    if (cFrame < 0) throw new InputError(`${table.where}:1:1: --frame-interval needs a FRAME column`);
    if (!(options.frameInterval > 0)) throw new InputError(`--frame-interval must be a positive number of seconds (got ${options.frameInterval})`);
    timeUnit = 'frame';
  }
  const patient = patientOfFile(table.path);
  // One value per (track, frame, key): sums and counts, so split/merge duplicates are averaged.
  const cells = new Map<string, { t: number; frame: number; sums: number[]; counts: number[]; spots: number }>();
  let spots = 0, untracked = 0, missing = 0, duplicates = 0;
  const frames = new Set<number>(), trackFrames = new Map<string, Set<number>>();
  const ratio: number[] = [];
  for (const row of table.rows.slice(headerRows)) {
    spots++;
    const trackRaw = (row.fields[cTrack] ?? '').trim();
    if (isMissing(trackRaw) || /^none$/i.test(trackRaw)) { untracked++; continue; }
    const track = parseCell(table, row, cTrack, 'TRACK_ID');
    if (!Number.isInteger(track)) throw new InputError(`${table.where}:${row.line}:${cTrack + 1}: TRACK_ID "${trackRaw}" is not a whole number`);
    const frame = cFrame >= 0 ? parseCell(table, row, cFrame, 'FRAME') : NaN;
    if (cFrame >= 0 && !(Number.isInteger(frame) && frame >= 0)) {
      throw new InputError(`${table.where}:${row.line}:${cFrame + 1}: FRAME "${row.fields[cFrame] ?? ''}" is not a frame number (a whole number ≥ 0)`);
    }
    let t: number;
    if (options.frameInterval !== undefined) t = frame * options.frameInterval;
    else {
      const pt = parseCell(table, row, cTime, 'POSITION_T');
      if (Number.isNaN(pt)) throw new InputError(`${table.where}:${row.line}:${cTime + 1}: POSITION_T is empty; pass --frame-interval SECONDS to time spots by FRAME`);
      t = pt * toSeconds;
      if (frame > 0) ratio.push(t / frame);
    }
    if (cFrame >= 0) frames.add(frame);
    const id = String(track), key = `${id}\u0000${cFrame >= 0 ? frame : t}`;
    let slot = cells.get(key);
    if (!slot) { slot = { t, frame, sums: measured.map(() => 0), counts: measured.map(() => 0), spots: 0 }; cells.set(key, slot); }
    else if (slot.spots === 1) duplicates++;
    slot.spots++;
    if (!trackFrames.has(id)) trackFrames.set(id, new Set());
    trackFrames.get(id)!.add(cFrame >= 0 ? frame : t);
    measured.forEach(([k, c], m) => {
      const v = parseCell(table, row, c, k);
      if (Number.isNaN(v)) { missing++; return; }
      slot.sums[m]! += v; slot.counts[m]!++;
    });
  }
  if (duplicates > 0) warnings.push(`${duplicates} (track, frame) pairs have more than one spot (a track splits or merges); their values are averaged`);
  if (untracked > 0) warnings.push(`${untracked} untracked spots (empty TRACK_ID) left out`);
  const records: LongRecord[] = [];
  for (const [key, slot] of cells) {
    const cell = key.split('\u0000')[0]!;
    measured.forEach(([k], m) => {
      if (slot.counts[m]! > 0) records.push({ patient, cell, t: slot.t, observable: k, value: slot.sums[m]! / slot.counts[m]! });
    });
  }
  if (trackFrames.size === 0) throw new InputError(`${table.where}: no tracked spots (${spots} spots, all with an empty TRACK_ID); track the spots in TrackMate before exporting`);
  let gaps = 0;
  if (cFrame >= 0) for (const fs of trackFrames.values()) { const f = [...fs]; if (Math.max(...f) - Math.min(...f) + 1 > f.length) gaps++; }
  ratio.sort((a, b) => a - b);
  const observables = measured.map(([k]) => k).filter((k) => records.some((r) => r.observable === k));
  const channels = [...new Set(measured.map(([k]) => /_CH(\d+)$/.exec(k)?.[1]).filter((c): c is string => c !== undefined))].map((c) => `CH${c}`);
  return {
    summary: {
      path: table.path, kind: 'trackmate-spots', headerRows, separator: separatorName(table.separator), decimal: table.decimal,
      rows: spots, patients: [patient], cells: trackFrames.size, observables, records: records.length, missingValues: missing,
      spots, tracks: trackFrames.size, untrackedSpots: untracked, tracksWithGaps: gaps, frames: frames.size, timeUnit,
      frameInterval: options.frameInterval ?? (ratio.length > 0 ? ratio[ratio.length >> 1] : undefined),
      channels: channels.length > 0 ? channels : ['CH1'], warnings,
    },
    records: sortRecords(records),
  };
}
