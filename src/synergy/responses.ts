/**
 * Dose–response tables in SynergyFinder's layout (SYNERGY.md §1; DESIGN.md `ctwin synergy`):
 * one row per well, `block_id,drug1,drug2,conc1,conc2,response[,conc_unit]`, with SynergyFinder's
 * column-name variants (`PairIndex`, `drug_row`/`drug_col`, `conc_r`/`conc_c`, `Inhibition`, …).
 * Each block becomes a DoseMatrix. Responses are % inhibition by default; with
 * `inputType: 'viability'` they are converted as SynergyFinder does (100 − response; its default).
 * Replicate wells (the same doses twice) are averaged and the block is flagged (SynergyFinder
 * instead bootstraps them, RNG-dependent; docs/synergy.md). A missing cell of the dose grid is an
 * error (SynergyFinder imputes it with mice).
 */
import { InputError } from '../io/csv.js';
import { isMissing, parseCell, readTable, type RawTable } from '../io/table.js';
import type { DoseMatrix } from './scores.js';

export interface ResponseBlock {
  blockId: string;
  drug1: string;
  drug2: string;
  /** Concentration units of drug 1 and drug 2 ('' when not given). */
  unit1: string;
  unit2: string;
  matrix: DoseMatrix;
  /** Cells measured more than once (averaged). */
  replicates: number;
}

/** SynergyFinder's `.AdjustColumnName` mapping, after lower-snake-casing camelCase. */
const COLUMN_ALIASES: Record<string, string> = {
  pair_index: 'block_id', block_id: 'block_id', blockid: 'block_id',
  drug_row: 'drug1', drug1: 'drug1', drug_col: 'drug2', drug2: 'drug2',
  conc_r: 'conc1', conc_row: 'conc1', conc1: 'conc1', conc_c: 'conc2', conc_col: 'conc2', conc2: 'conc2',
  conc_unit: 'conc_unit', conc_r_unit: 'conc_unit1', conc_unit1: 'conc_unit1', conc_c_unit: 'conc_unit2', conc_unit2: 'conc_unit2',
  response: 'response', inhibition: 'response',
};
const REQUIRED = ['block_id', 'drug1', 'drug2', 'conc1', 'conc2', 'response'] as const;

const snake = (name: string) => name.trim().replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * Reads a SynergyFinder-layout table (CSV with any separator, or .xlsx) into blocks.
 * @example
 * const blocks = await readResponses('responses.csv', { inputType: 'inhibition' });
 * blocks[0]?.matrix.response; blocks[0]?.drug1;
 */
export async function readResponses(path: string, options: { inputType?: 'inhibition' | 'viability' } = {}): Promise<ResponseBlock[]> {
  return responseBlocks(await readTable(path), options);
}

/**
 * The blocks of a table already read (see `readResponses`).
 * @example
 * const blocks = responseBlocks(await readTable('plate.xlsx'), { inputType: 'viability' });
 * blocks.map((b) => `${b.blockId}: ${b.drug1} × ${b.drug2}`);
 */
export function responseBlocks(table: RawTable, options: { inputType?: 'inhibition' | 'viability' } = {}): ResponseBlock[] {
  const header = table.rows[0];
  if (!header) throw new InputError(`${table.where}: empty file; expected a header block_id,drug1,drug2,conc1,conc2,response`);
  const col: Record<string, number> = {};
  header.fields.forEach((f, i) => { const key = COLUMN_ALIASES[snake(f)]; if (key && col[key] === undefined) col[key] = i; });
  const missing = REQUIRED.filter((k) => col[k] === undefined);
  if (missing.length) throw new InputError(`${table.where}:${header.line}:1: missing column(s) ${missing.join(', ')}; SynergyFinder's layout is block_id,drug1,drug2,conc1,conc2,response[,conc_unit] (drug_row/drug_col, conc_r/conc_c and PairIndex are accepted)`);
  const viability = options.inputType === 'viability';
  type Acc = { drug1: string; drug2: string; unit1: string; unit2: string; wells: Map<string, number[]>; first: number };
  const blocks = new Map<string, Acc>();
  for (const row of table.rows.slice(1)) {
    if (row.fields.every((f) => f.trim() === '')) continue;
    const text = (k: string) => (col[k] === undefined ? '' : (row.fields[col[k]!] ?? '').trim());
    const num = (k: string) => {
      const v = parseCell(table, row, col[k]!, k);
      if (Number.isNaN(v)) throw new InputError(`${table.where}:${row.line}:${col[k]! + 1}: ${k} is empty; every well needs ${REQUIRED.join(', ')}`);
      return v;
    };
    const id = text('block_id');
    if (!id || isMissing(id)) throw new InputError(`${table.where}:${row.line}:${col.block_id! + 1}: block_id is empty`);
    const c1 = num('conc1'), c2 = num('conc2'), y = num('response');
    for (const [k, c] of [['conc1', c1], ['conc2', c2]] as const) if (c < 0) throw new InputError(`${table.where}:${row.line}:${col[k]! + 1}: ${k} ${c} is negative`);
    let b = blocks.get(id);
    if (!b) {
      const unit = text('conc_unit');
      b = { drug1: text('drug1'), drug2: text('drug2'), unit1: text('conc_unit1') || unit, unit2: text('conc_unit2') || unit, wells: new Map(), first: row.line };
      blocks.set(id, b);
    } else if (b.drug1 !== text('drug1') || b.drug2 !== text('drug2')) {
      throw new InputError(`${table.where}:${row.line}:${col.drug1! + 1}: block ${id} is ${b.drug1} × ${b.drug2} (line ${b.first}) but this row names ${text('drug1')} × ${text('drug2')}; one drug pair per block`);
    }
    const key = `${c1}\u0000${c2}`;
    b.wells.set(key, [...(b.wells.get(key) ?? []), viability ? 100 - y : y]);
  }
  if (blocks.size === 0) throw new InputError(`${table.where}: no wells after the header`);
  return [...blocks.entries()].map(([blockId, b]) => {
    const doses = (k: 0 | 1) => [...new Set([...b.wells.keys()].map((w) => Number(w.split('\u0000')[k])))].sort((p, q) => p - q);
    const conc1 = doses(0), conc2 = doses(1);
    if (conc1[0] !== 0 || conc2[0] !== 0) throw new InputError(`${table.where}: block ${blockId} has no ${conc1[0] !== 0 ? 'conc1' : 'conc2'} = 0 wells; synergy needs each drug alone (the zero-dose row and column)`);
    let replicates = 0;
    const response = conc1.map((a) => conc2.map((c) => {
      const w = b.wells.get(`${a}\u0000${c}`);
      if (!w) throw new InputError(`${table.where}: block ${blockId} has no well at conc1 ${a}, conc2 ${c}; every dose pair of the grid is needed (SynergyFinder would impute it)`);
      if (w.length > 1) replicates++;
      return w.reduce((s, v) => s + v, 0) / w.length;
    }));
    return { blockId, drug1: b.drug1, drug2: b.drug2, unit1: b.unit1, unit2: b.unit2, matrix: { conc1, conc2, response }, replicates };
  });
}
