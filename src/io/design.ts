/**
 * The perturbation design: which cells were treated, with what, when.
 *   patient,cell,drug,dose,t_on[,t_off][,schedule,interval,doses]
 * `cell` is the TrackMate TRACK_ID (or the long CSV's cell); `*` means every cell of the patient.
 * `dose` carries its unit (`1.5 %`, `500 nM`, `0.5 uM`) and is converted to the library's unit;
 * times are seconds. `schedule` is bolus (default), infusion or repeated (then `interval` seconds
 * and `doses`).
 */
import { InputError } from './csv.js';
import { isMissing, parseCell, type RawTable } from './table.js';
import { drugById, type DrugLibrary, type Schedule, type Treatment } from '../twin/drugs.js';
import { parseUnit } from '../physics/units.js';

/** patient → cell (or '*') → treatments. */
export type Design = Map<string, Map<string, Treatment[]>>;

const REQUIRED = ['patient', 'cell', 'drug', 'dose', 't_on'];
const OPTIONAL = ['t_off', 'schedule', 'interval', 'doses'];

/** Converts "500 nM" to the unit `to` ("uM" → 0.5); errors name the cell. */
function doseIn(text: string, to: string, where: string): number {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(.*?)\s*$/i.exec(text.replace(/(\d),(\d)/, '$1.$2'));
  if (!m) throw new InputError(`${where}: dose "${text}" is not a number with a unit (e.g. "1.5 %", "500 nM")`);
  const value = Number(m[1]), unit = m[2]!;
  if (!(value >= 0)) throw new InputError(`${where}: dose "${text}" is negative`);
  if (unit === '') throw new InputError(`${where}: dose "${text}" has no unit; write it with one, e.g. "${value} ${to}"`);
  let from, target;
  try { from = parseUnit(unit); target = parseUnit(to); } catch (err) { throw new InputError(`${where}: dose "${text}": ${(err as Error).message}`); }
  if (!from.dims.every((d, i) => Math.abs(d - target.dims[i]!) < 1e-12)) throw new InputError(`${where}: dose "${text}" cannot be converted to ${to}, the unit the drug library uses for this drug`);
  // Unit factors are binary floats (1e-3/1e-6 ≠ 1000 exactly): 12 significant digits are exact enough.
  return Number((value * from.factor / target.factor).toPrecision(12));
}

/**
 * Reads a design table against a drug library.
 * @example
 * const design = readDesign(await readTable('design.csv'), loadDrugLibrary());
 * design.get('P01')?.get('7'); // [{ drug: 'hexanediol', dose: 1.5, tOn: 450, schedule: { kind: 'bolus' } }]
 */
export function readDesign(table: RawTable, library: DrugLibrary): Design {
  const header = table.rows[0]!.fields.map((f) => f.trim().toLowerCase());
  const at = new Map<string, number>();
  header.forEach((h, k) => {
    if (![...REQUIRED, ...OPTIONAL].includes(h)) throw new InputError(`${table.where}:${table.rows[0]!.line}:${k + 1}: unknown column "${table.rows[0]!.fields[k]}" (a design has ${REQUIRED.join(', ')} and optionally ${OPTIONAL.join(', ')})`);
    at.set(h, k);
  });
  for (const c of REQUIRED) if (!at.has(c)) throw new InputError(`${table.where}:${table.rows[0]!.line}:1: missing column "${c}" (a design has ${REQUIRED.join(', ')})`);
  const design: Design = new Map();
  for (const row of table.rows.slice(1)) {
    const cell = (name: string) => (at.has(name) ? (row.fields[at.get(name)!] ?? '').trim() : '');
    const place = (name: string) => `${table.where}:${row.line}:${at.get(name)! + 1}`;
    const need = (name: string) => { const v = cell(name); if (isMissing(v) && v !== '-') throw new InputError(`${place(name)}: "${name}" is empty`); return v; };
    const patient = need('patient'), cellId = need('cell');
    const [drug, entry] = drugById(library, need('drug'), place('drug'));
    const dose = doseIn(need('dose'), entry.unit === '%' ? 'percent' : entry.unit, place('dose'));
    const tOn = parseCell(table, row, at.get('t_on')!, 't_on');
    if (!Number.isFinite(tOn)) throw new InputError(`${place('t_on')}: "t_on" is empty`);
    const offRaw = cell('t_off');
    const tOff = isMissing(offRaw) ? undefined : parseCell(table, row, at.get('t_off')!, 't_off');
    if (tOff !== undefined && !(tOff > tOn)) throw new InputError(`${place('t_off')}: t_off ${tOff} s is not after t_on ${tOn} s`);
    const kind = (cell('schedule') || 'bolus').toLowerCase();
    let schedule: Schedule;
    if (kind === 'bolus' || kind === 'infusion') schedule = { kind };
    else if (kind === 'repeated') {
      const interval = at.has('interval') ? parseCell(table, row, at.get('interval')!, 'interval') : NaN;
      const doses = at.has('doses') ? parseCell(table, row, at.get('doses')!, 'doses') : NaN;
      if (!(interval > 0)) throw new InputError(`${at.has('interval') ? place('interval') : `${table.where}:${row.line}:1`}: a repeated schedule needs a positive "interval" in seconds`);
      if (!(Number.isInteger(doses) && doses >= 1 && doses <= 50)) throw new InputError(`${at.has('doses') ? place('doses') : `${table.where}:${row.line}:1`}: a repeated schedule needs "doses", a whole number from 1 to 50`);
      schedule = { kind, interval, doses };
    } else throw new InputError(`${place('schedule')}: schedule "${cell('schedule')}" is not bolus, infusion or repeated`);
    if (!design.has(patient)) design.set(patient, new Map());
    const cells = design.get(patient)!;
    const list = cells.get(cellId) ?? [];
    if (list.some((t) => t.drug === drug)) throw new InputError(`${table.where}:${row.line}:1: ${drug} is given twice to patient ${patient}, cell ${cellId}; use schedule "repeated"`);
    list.push({ drug, dose, tOn, ...(tOff !== undefined ? { tOff } : {}), schedule });
    cells.set(cellId, list);
  }
  return design;
}

/** The treatments of one cell: its own rows, else the patient's `*` rows, else none. */
export function treatmentsOf(design: Design | undefined, patient: string, cell: string): Treatment[] {
  const cells = design?.get(patient);
  return cells?.get(cell) ?? cells?.get('*') ?? [];
}

/** A stable, readable key for a set of treatments ('untreated' when empty). */
export function conditionKey(treatments: Treatment[]): string {
  if (treatments.length === 0) return 'untreated';
  return [...treatments].sort((a, b) => a.drug.localeCompare(b.drug))
    .map((t) => `${t.drug} ${t.dose}@${t.tOn}s${t.tOff !== undefined ? `-${t.tOff}s` : ''}${t.schedule.kind === 'repeated' ? `x${t.schedule.doses}/${t.schedule.interval}s` : t.schedule.kind === 'infusion' ? ' infusion' : ''}`)
    .join(' + ');
}
