/** Time-series data files for fitting: the long CSV `traj,t,observable,value`. */
import { readCsv, numberCell, InputError } from './csv.js';
import type { Model } from '../physics/model.js';
import type { Datum, Noise, ObservableModel, Observations } from '../training/loss.js';

/**
 * Reads `traj,t,observable,value` (traj optional → 0). An empty, NA or NaN value is a missing
 * measurement and is skipped. Every observable must be a state or an observable of the model.
 * @example
 * const data = readData('examples/condensate-data.csv', model, { sigma: 0.05, noise: 'lognormal' });
 */
export function readData(path: string, model: Model, defaults: { sigma?: number; noise?: Noise } = {}): Observations {
  const table = readCsv(path);
  const col = (name: string, required: boolean) => {
    const i = table.header.indexOf(name);
    if (i < 0 && required) throw new InputError(`${path}:1:1: the data file needs a "${name}" column (columns: traj, t, observable, value)`);
    return i;
  };
  const [ci, ct, co, cv] = [col('traj', false), col('t', true), col('observable', true), col('value', true)];
  for (const [k, name] of table.header.entries()) {
    if (!['traj', 't', 'observable', 'value'].includes(name)) throw new InputError(`${path}:1:${k + 1}: unknown column "${name}" (expected traj, t, observable, value)`);
  }
  const known = new Set([...model.states.map((s) => s.name), ...model.observables.map((o) => o.name)]);
  const observables: ObservableModel[] = [];
  const index = new Map<string, number>();
  const data: Datum[] = [];
  table.rows.forEach((row, r) => {
    const line = table.lines[r]!;
    const name = row[co]!.trim();
    if (!known.has(name)) {
      throw new InputError(`${path}:${line}:${co + 1}: "${name}" is neither a state nor an observable of the model (${[...known].join(', ')})`);
    }
    const raw = row[cv]!.trim();
    if (raw === '' || /^(na|nan)$/i.test(raw)) return; // missing measurement
    const value = numberCell(raw, path, line, cv + 1, 'value');
    const t = numberCell(row[ct]!, path, line, ct + 1, 't');
    const traj = ci < 0 ? 0 : numberCell(row[ci]!, path, line, ci + 1, 'traj');
    if (!Number.isInteger(traj) || traj < 0) throw new InputError(`${path}:${line}:${ci + 1}: traj must be a non-negative integer (got ${row[ci]})`);
    if ((defaults.noise ?? 'normal') === 'lognormal' && !(value > 0)) {
      throw new InputError(`${path}:${line}:${cv + 1}: log-normal noise needs positive values (got ${value})`);
    }
    if (!index.has(name)) {
      index.set(name, observables.length);
      observables.push({ name, noise: defaults.noise ?? 'normal', sigma: defaults.sigma ?? 1, scale: 1, offset: 0 });
    }
    data.push({ traj, t, observable: index.get(name)!, value });
  });
  if (data.length === 0) throw new InputError(`${path}: no measurements (every value is missing)`);
  return { observables, data };
}
