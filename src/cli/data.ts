/**
 * `ctwin inspect` and `ctwin convert` (DESIGN.md): what the readers make of each file before
 * anything is fitted, and any readable input as the tidy long CSV.
 */
import { InputError } from '../io/csv.js';
import type { ImagingData, LongRecord, ReadOptions, ReadSummary } from '../io/imaging.js';
import { writeLong } from '../io/long.js';
import { readImaging } from '../io/read.js';
import { UsageError, checkOutputPath, numberFlag, type Flags } from './args.js';

export const INSPECT_FLAGS = { json: { type: 'boolean' }, 'frame-interval': { type: 'string' }, prebleach: { type: 'string' } } as const;
export const CONVERT_FLAGS = { out: { type: 'string' }, 'frame-interval': { type: 'string' }, prebleach: { type: 'string' } } as const;

export function readOptions(flags: { 'frame-interval'?: string; prebleach?: string }): ReadOptions {
  const frameInterval = numberFlag(flags, 'frame-interval');
  if (frameInterval !== undefined && !(frameInterval > 0)) throw new UsageError(`--frame-interval ${flags['frame-interval']}: must be a positive number of seconds`);
  const prebleachFrames = numberFlag(flags, 'prebleach');
  if (prebleachFrames !== undefined && !(Number.isInteger(prebleachFrames) && prebleachFrames >= 1)) throw new UsageError(`--prebleach ${flags.prebleach}: must be a whole number of frames ≥ 1`);
  return { frameInterval, prebleachFrames };
}

export async function readAll(files: string[], options: ReadOptions): Promise<ImagingData[]> {
  if (files.length === 0) throw new UsageError('name at least one data file');
  const out: ImagingData[] = [];
  for (const f of files) out.push(await readImaging(f, options));
  return out;
}

const fmt = (x: number | undefined, digits = 4) => (x === undefined || !Number.isFinite(x) ? '—' : Number(x.toPrecision(digits)).toString());

/** The human view of one file's summary. */
export function describeSummary(s: ReadSummary): string {
  const lines = [`${s.path}: ${s.kind}, ${s.headerRows} header row${s.headerRows === 1 ? '' : 's'}, ${s.separator}-separated, decimal mark "${s.decimal}"`];
  if (s.kind === 'trackmate-spots') {
    lines.push(`  patient ${s.patients.join(', ')}: ${s.tracks} tracks (cells), ${s.spots} spots, ${s.untrackedSpots} untracked left out, ${s.tracksWithGaps} tracks with gaps`);
    lines.push(`  ${s.frames} frames, time from ${s.timeUnit === 'frame' ? 'FRAME × --frame-interval' : `POSITION_T (${s.timeUnit})`}, frame interval ${fmt(s.frameInterval)} s, channels ${s.channels?.join(', ')}`);
  } else if (s.kind === 'frap' && s.frap) {
    const f = s.frap;
    lines.push(`  patient ${s.patients.join(', ')}: one curve, ${s.frames} timed frames, frame interval ${fmt(s.frameInterval)} s`);
    lines.push(`  bleached ${f.roles.bleached}${f.roles.whole ? `, whole cell ${f.roles.whole}` : ''}${f.roles.background ? `, background ${f.roles.background}` : ''}; ${f.normalisation} normalisation; ${f.prebleachFrames} pre-bleach frames, bleach at ${fmt(f.bleachTime)} s`);
    lines.push(`  mobile fraction ${fmt(f.mobileFraction, 3)}, t½ ${fmt(f.halfTime, 3)} s (single-exponential fit of the full-scale curve)`);
  } else if (s.kind === 'trackmate-tracks') {
    lines.push(`  ${s.tracks} tracks; a tracks table has no time series`);
  } else {
    lines.push(`  ${s.patients.length} patient(s) ${s.patients.slice(0, 8).join(', ')}${s.patients.length > 8 ? ', …' : ''}: ${s.cells} cells, ${s.frames} distinct times (${s.kind === 'petab' ? 'model time unit' : 's'})`);
  }
  if (s.observables.length > 0) lines.push(`  observables ${s.observables.join(', ')}: ${s.records} measurements, ${s.missingValues} missing values left out`);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export async function inspectCommand(files: string[], flags: Flags<typeof INSPECT_FLAGS>, out: (text: string) => void): Promise<number> {
  const data = await readAll(files, readOptions(flags));
  if (flags.json) out(JSON.stringify(data.map((d) => d.summary), null, 2) + '\n');
  else out(data.map((d) => describeSummary(d.summary)).join('\n\n') + '\n');
  return 0;
}

/**
 * The records of several files as one list; the same (patient, cell, observable, t) in two files
 * is an error (two files whose names give the same patient).
 */
export function mergeRecords(data: ImagingData[]): LongRecord[] {
  const records: LongRecord[] = [];
  const from = new Map<string, string>();
  for (const d of data) {
    if (d.records.length === 0) throw new InputError(`${d.summary.path}: no measurements in it (${d.summary.warnings.at(-1) ?? 'empty'})`);
    for (const r of d.records) {
      const key = `${r.patient}\u0000${r.cell}\u0000${r.observable}\u0000${r.t}`;
      const first = from.get(key);
      if (first !== undefined && first !== d.summary.path) {
        throw new InputError(`${d.summary.path}: patient ${r.patient}, cell ${r.cell}, ${r.observable} at t = ${r.t} s is also in ${first}; rename one file (the patient is the file name before its first "_")`);
      }
      from.set(key, d.summary.path);
      records.push(r);
    }
  }
  return records;
}

export async function convertCommand(files: string[], flags: Flags<typeof CONVERT_FLAGS>, log: (line: string) => void): Promise<number> {
  if (!flags.out) throw new UsageError('--out is required (the long CSV to write)');
  checkOutputPath('out', flags.out);
  const data = await readAll(files, readOptions(flags));
  const records = mergeRecords(data);
  writeLong(flags.out, records);
  const patients = new Set(records.map((r) => r.patient)), cells = new Set(records.map((r) => `${r.patient}\u0000${r.cell}`));
  log(`wrote ${flags.out}: ${records.length} measurements, ${patients.size} patient(s), ${cells.size} cell(s), from ${data.length} file(s)`);
  return 0;
}
