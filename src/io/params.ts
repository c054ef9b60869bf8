/** Per-trajectory parameters and initial values: `P.csv`, one row per trajectory (DESIGN.md contract). */
import { InputError, numberCell, readCsv } from './csv.js';
import type { Model } from '../physics/model.js';

/** Reads params.csv: columns named after parameters and/or states; missing columns keep defaults.
 * @example
 * const { params, initial, batch } = readParamsCsv('examples/condensate-drugs.csv', model);
 * const screen = makeProblem(model, { t1: 3600, params, initial, batch });
 */
export function readParamsCsv(path: string, model: Model): { params: Float64Array; initial: Float64Array; batch: number } {
  const table = readCsv(path);
  const N = model.states.length, P = model.params.length;
  const pIndex = new Map(model.params.map((p, i) => [p.name, i]));
  const sIndex = new Map(model.states.map((s, i) => [s.name, i]));
  const seen = new Set<string>();
  const columns = table.header.map((name, c) => {
    if (seen.has(name)) throw new InputError(`${path}:1:${c + 1}: column "${name}" appears twice`);
    seen.add(name);
    if (pIndex.has(name)) return { kind: 'param' as const, index: pIndex.get(name)!, name };
    if (sIndex.has(name)) return { kind: 'state' as const, index: sIndex.get(name)!, name };
    if (name === 'traj') return { kind: 'skip' as const, index: -1, name };
    throw new InputError(`${path}:1:${c + 1}: column "${name}" is neither a parameter nor a state of model "${model.name}" ` +
      `(parameters: ${model.params.map((p) => p.name).join(', ') || 'none'}; states: ${model.states.map((s) => s.name).join(', ')})`);
  });
  const batch = table.rows.length;
  if (batch === 0) throw new InputError(`${path}:2:1: no rows after the header; give one row per trajectory`);
  const params = new Float64Array(batch * P), initial = new Float64Array(batch * N);
  table.rows.forEach((row, b) => {
    params.set(model.params.map((p) => p.value), b * P);
    initial.set(model.states.map((s) => s.value), b * N);
    columns.forEach((col, c) => {
      if (col.kind === 'skip') return;
      const x = numberCell(row[c]!, path, table.lines[b]!, c + 1, col.name);
      if (col.kind === 'param') params[b * P + col.index] = x;
      else initial[b * N + col.index] = x;
    });
  });
  return { params, initial, batch };
}
