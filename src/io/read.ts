/**
 * One entry point for imaging data: reads a file, detects its layout and hands it to the reader
 * of that layout (TrackMate spots or tracks, FRAP, long CSV). `ctwin inspect`, `ctwin convert`
 * and `ctwin calibrate` all read through here.
 */
import { InputError } from './csv.js';
import { findFrapHeader, readFrap } from './frap.js';
import { sortRecords, type DataKind, type ImagingData, type LongRecord, type ReadOptions } from './imaging.js';
import { isCovariates, isLong, readLong } from './long.js';
import { readPetab } from './petab/petab.js';
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
  if (/\.ya?ml$/i.test(path)) return readPetabMeasurements(path);
  return imagingFromTable(await readTable(path), options);
}

/**
 * A PEtab problem's measurements as imaging-like time series (`ctwin calibrate --data
 * problem.yaml`): the problem is one patient (the YAML's name), each simulation condition a cell
 * (replicates of a time point become cells `<condition>.r2`, …), the observableId the observable.
 * The problem is read and checked whole (`readPetab`). Times are in the model's time unit.
 */
async function readPetabMeasurements(path: string): Promise<ImagingData> {
  const problem = await readPetab(path);
  const patient = path.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, '');
  const seen = new Map<string, number>();
  const records: LongRecord[] = problem.measurements.map((m) => {
    const condition = m.preequilibration ? `${m.preequilibration}>${m.simulation}` : m.simulation;
    const key = `${condition}\u0000${m.observable}\u0000${m.time}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return { patient, cell: n === 1 ? condition : `${condition}.r${n}`, t: m.time, observable: m.observable, value: m.value, condition };
  });
  const cells = new Set(records.map((r) => r.cell));
  return {
    summary: {
      path, kind: 'petab', headerRows: 1, separator: 'tab', decimal: '.', rows: problem.measurements.length, patients: [patient], cells: cells.size,
      observables: [...new Set(records.map((r) => r.observable))], records: records.length, missingValues: 0, frames: new Set(records.map((r) => r.t)).size,
      timeUnit: 'the model\'s time unit',
      warnings: ['ctwin calibrate uses the measurements only: each observable is linked to the model with --observe and fitted with a per-cell observation model; the PEtab observable, noise and parameter tables are used by `ctwin petab fit`'],
    },
    records: sortRecords(records),
  };
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
