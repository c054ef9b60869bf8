/**
 * One entry point for imaging data: reads a file, detects its layout and hands it to the reader
 * of that layout (TrackMate spots or tracks, FRAP, long CSV). `ctwin inspect`, `ctwin convert`
 * and `ctwin calibrate` all read through here.
 */
import { InputError } from './csv.js';
import { findFrapHeader, readFrap } from './frap.js';
import type { DataKind, ImagingData, ReadOptions } from './imaging.js';
import { isCovariates, isLong, readLong } from './long.js';
import { readTable, type RawTable } from './table.js';
import { isTrackmateSpots, isTrackmateTracks, readTrackmateSpots, readTrackmateTracks, trackmateKeys } from './trackmate.js';

/**
 * The layout of a table, from its first row(s).
 * @example
 * detectKind(await readTable('P01_spots.csv')); // 'trackmate-spots'
 */
export function detectKind(table: RawTable): DataKind | undefined {
  const first = table.rows[0]!.fields;
  const keys = trackmateKeys(first);
  if (isTrackmateSpots(keys)) return 'trackmate-spots';
  if (isTrackmateTracks(keys)) return 'trackmate-tracks';
  if (isLong(first)) return 'long';
  const lower = first.map((f) => f.trim().toLowerCase());
  if (['patient', 'cell', 'drug', 'dose', 't_on'].every((c) => lower.includes(c))) return 'design';
  if (isCovariates(first)) return 'covariates';
  if (findFrapHeader(table)) return 'frap';
  return undefined;
}

/**
 * Reads one imaging file (TrackMate spots/tracks CSV, FRAP table, long CSV; text or .xlsx).
 * @example
 * const { summary, records } = await readImaging('data/P01_spots.csv');
 * summary.tracks; summary.untrackedSpots; records[0]; // { patient: 'P01', cell: '0', t: 0, observable: 'MEAN_INTENSITY_CH1', value: 812.4 }
 */
export async function readImaging(path: string, options: ReadOptions = {}): Promise<ImagingData> {
  if (/\.ya?ml$/i.test(path)) {
    throw new InputError(`${path}: a PEtab problem; PEtab import is not part of this version yet — convert its measurement table to the long CSV (patient,cell,t,observable,value)`);
  }
  return imagingFromTable(await readTable(path), options);
}

/** `readImaging` on a table already read (its kind detected here). */
export function imagingFromTable(table: RawTable, options: ReadOptions = {}): ImagingData {
  const kind = detectKind(table);
  switch (kind) {
    case 'trackmate-spots': return readTrackmateSpots(table, options);
    case 'trackmate-tracks': return readTrackmateTracks(table);
    case 'long': return readLong(table);
    case 'frap': return readFrap(table, options);
    case 'covariates': case 'design':
      throw new InputError(`${table.where}:${table.rows[0]!.line}:1: this is a ${kind} table, not imaging data; pass it with --${kind === 'design' ? 'design' : 'covariates'}`);
    default:
      throw new InputError(`${table.where}:${table.rows[0]!.line}:1: cannot tell what this file is (first row: ${JSON.stringify(table.rows[0]!.fields.slice(0, 6).join(table.separator === 'xlsx' ? ',' : table.separator))}). Expected a TrackMate spots table (TRACK_ID, FRAME, POSITION_T, …), a FRAP table (a time column and ROI intensities) or a long CSV (patient,cell,t,observable,value)`);
  }
}
