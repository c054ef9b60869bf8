/**
 * The tidy long table `patient,cell,t,observable,value[,condition]` (t in seconds; what
 * `ctwin convert` writes and every reader produces) and the covariates table
 * `patient,<covariate…>` (e.g. MYC/BRD4/MED1 expression per patient).
 */
import { InputError, csvField, writeFileAtomic } from './csv.js';
import { sortRecords, type ImagingData, type LongRecord } from './imaging.js';
import { isMissing, parseCell, separatorName, type RawTable } from './table.js';

export const LONG_COLUMNS = ['patient', 'cell', 't', 'observable', 'value'] as const;

const lower = (fields: string[]) => fields.map((f) => f.trim().toLowerCase());

export function isLong(header: string[]): boolean {
  // patient + observable is enough to call it a long table, so a missing column is reported as such.
  const h = lower(header);
  return h.includes('patient') && h.includes('observable');
}

export function isCovariates(header: string[]): boolean {
  const h = lower(header);
  return h[0] === 'patient' && !h.includes('t') && !h.includes('drug') && h.length >= 2;
}

function columnsOf(table: RawTable, required: readonly string[], optional: readonly string[]): Map<string, number> {
  const h = lower(table.rows[0]!.fields);
  const at = new Map<string, number>();
  h.forEach((name, k) => {
    if (![...required, ...optional].includes(name)) {
      throw new InputError(`${table.where}:${table.rows[0]!.line}:${k + 1}: unknown column "${table.rows[0]!.fields[k]}" (expected ${required.join(', ')}${optional.length ? `, optionally ${optional.join(', ')}` : ''})`);
    }
    if (at.has(name)) throw new InputError(`${table.where}:${table.rows[0]!.line}:${k + 1}: column "${name}" appears twice`);
    at.set(name, k);
  });
  for (const c of required) if (!at.has(c)) throw new InputError(`${table.where}:${table.rows[0]!.line}:1: missing column "${c}" (expected ${required.join(', ')})`);
  return at;
}

function textCell(table: RawTable, row: { fields: string[]; line: number }, k: number, name: string): string {
  const v = (row.fields[k] ?? '').trim();
  if (isMissing(v)) throw new InputError(`${table.where}:${row.line}:${k + 1}: "${name}" is empty`);
  return v;
}

export function readLong(table: RawTable): ImagingData {
  const at = columnsOf(table, LONG_COLUMNS, ['condition']);
  const c = (n: string) => at.get(n)!;
  const records: LongRecord[] = [];
  let missing = 0;
  const seen = new Map<string, number>();
  for (const row of table.rows.slice(1)) {
    const value = parseCell(table, row, c('value'), 'value');
    const patient = textCell(table, row, c('patient'), 'patient'), cell = textCell(table, row, c('cell'), 'cell');
    const observable = textCell(table, row, c('observable'), 'observable');
    const t = parseCell(table, row, c('t'), 't');
    if (Number.isNaN(t)) throw new InputError(`${table.where}:${row.line}:${c('t') + 1}: "t" is empty`);
    const key = `${patient}\u0000${cell}\u0000${observable}\u0000${t}`;
    if (seen.has(key)) throw new InputError(`${table.where}:${row.line}:1: a second value for patient ${patient}, cell ${cell}, ${observable} at t = ${t} (first on line ${seen.get(key)})`);
    seen.set(key, row.line);
    if (Number.isNaN(value)) { missing++; continue; }
    const condition = at.has('condition') ? (row.fields[c('condition')] ?? '').trim() : '';
    records.push({ patient, cell, t, observable, value, ...(condition && !isMissing(condition) ? { condition } : {}) });
  }
  if (records.length === 0) throw new InputError(`${table.where}: no measurements (every value is missing)`);
  const cells = new Set(records.map((r) => `${r.patient}\u0000${r.cell}`));
  return {
    summary: {
      path: table.path, kind: 'long', headerRows: 1, separator: separatorName(table.separator), decimal: table.decimal, rows: table.rows.length - 1,
      patients: [...new Set(records.map((r) => r.patient))], cells: cells.size, observables: [...new Set(records.map((r) => r.observable))],
      records: records.length, missingValues: missing, frames: new Set(records.map((r) => r.t)).size, timeUnit: 's', warnings: [...table.warnings],
    },
    records: sortRecords(records),
  };
}

/** Covariates: one row per patient, numbers in every other column. */
export interface Covariates {
  names: string[];
  /** patient → values in `names` order. */
  values: Map<string, number[]>;
}

/**
 * Reads `patient,<covariate…>` (every covariate a number for every patient).
 * @example
 * const cov = readCovariates(await readTable('covariates.csv'));
 * cov.names; cov.values.get('P01')?.[0]; // ['MYC', 'BRD4'], 1.2
 */
export function readCovariates(table: RawTable): Covariates {
  const header = table.rows[0]!.fields.map((f) => f.trim());
  if (header[0]?.toLowerCase() !== 'patient') throw new InputError(`${table.where}:${table.rows[0]!.line}:1: the first column of a covariates table must be "patient" (got "${header[0]}")`);
  const names = header.slice(1);
  names.forEach((n, k) => { if (n === '') throw new InputError(`${table.where}:${table.rows[0]!.line}:${k + 2}: a covariate column has no name`); });
  if (names.length === 0) throw new InputError(`${table.where}:${table.rows[0]!.line}:2: no covariate columns after "patient"`);
  const values = new Map<string, number[]>();
  for (const row of table.rows.slice(1)) {
    const patient = textCell(table, row, 0, 'patient');
    if (values.has(patient)) throw new InputError(`${table.where}:${row.line}:1: patient "${patient}" appears twice`);
    if (row.fields.length > header.length) throw new InputError(`${table.where}:${row.line}:${header.length + 1}: more cells than header columns`);
    values.set(patient, names.map((n, k) => {
      const v = parseCell(table, row, k + 1, n);
      if (Number.isNaN(v)) throw new InputError(`${table.where}:${row.line}:${k + 2}: covariate "${n}" is missing for patient ${patient}; give a value (e.g. the cohort median) or drop the column`);
      return v;
    }));
  }
  if (values.size === 0) throw new InputError(`${table.where}: no patients`);
  return { names, values };
}

/**
 * Writes records as the long CSV (sorted; `condition` only when some record has one), atomically.
 * @example
 * writeLong('long.csv', (await readImaging('P01_spots.csv')).records);
 */
export function writeLong(path: string, records: LongRecord[]): void {
  const sorted = sortRecords([...records]);
  const withCondition = sorted.some((r) => r.condition !== undefined);
  writeFileAtomic(path, (write) => {
    write(`${LONG_COLUMNS.join(',')}${withCondition ? ',condition' : ''}\n`);
    let chunk = '';
    for (const r of sorted) {
      chunk += `${csvField(r.patient)},${csvField(r.cell)},${r.t},${csvField(r.observable)},${r.value}${withCondition ? `,${csvField(r.condition ?? '')}` : ''}\n`;
      if (chunk.length > 1 << 16) { write(chunk); chunk = ''; }
    }
    write(chunk);
  });
}
