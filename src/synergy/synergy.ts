/**
 * All four synergy scores of one dose–response matrix, with the curve fits they need
 * (SYNERGY.md §2–§7): the two monotherapy curves (drug 1 down the zero column, drug 2 along the
 * zero row, dose 0 included, all parameters free) for Loewe and ZIP's reference, and ZIP's
 * conditional curves (per column in drug 1's dose with c fixed to y(0, x2); per row in drug 2's dose
 * with c fixed to y(x1, 0)).
 */
import { fitDoseResponse, type CurveFit } from './fit.js';
import { blissScores, hsaScores, loeweScores, zipScores, type DoseMatrix, type LoeweOptions, type ScoreMatrix } from './scores.js';

export const SYNERGY_METHODS = ['HSA', 'Bliss', 'Loewe', 'ZIP'] as const;
export type SynergyMethod = (typeof SYNERGY_METHODS)[number];

export interface SynergyOptions {
  methods?: SynergyMethod[];
  loewe?: LoeweOptions;
}

export interface BlockScores {
  scores: Partial<Record<SynergyMethod, ScoreMatrix>>;
  /** The monotherapy fits (present when Loewe or ZIP was asked for). */
  fits?: { drug1: CurveFit; drug2: CurveFit };
}

/**
 * Scores a matrix by every method asked for (default all four).
 * @example
 * const doses = [0, 0.3, 1, 3];
 * const m = { conc1: doses, conc2: doses, response: doses.map((a) => doses.map((b) => 100 * (1 - 1 / (1 + a + b)))) };
 * const { scores, fits } = scoreMatrix(m);
 * scores.ZIP?.summary; scores.Loewe?.summary; fits?.drug1.curve.e;
 */
export function scoreMatrix(m: DoseMatrix, options: SynergyOptions = {}): BlockScores {
  checkMatrix(m);
  const methods = options.methods ?? [...SYNERGY_METHODS];
  const scores: BlockScores['scores'] = {};
  if (methods.includes('HSA')) scores.HSA = hsaScores(m);
  if (methods.includes('Bliss')) scores.Bliss = blissScores(m);
  if (!methods.includes('Loewe') && !methods.includes('ZIP')) return { scores };
  const column = (j: number) => m.response.map((row) => row[j]!);
  const fits = { drug1: fitDoseResponse(m.conc1, column(0)), drug2: fitDoseResponse(m.conc2, m.response[0]!) };
  if (methods.includes('Loewe')) scores.Loewe = loeweScores(m, fits.drug1.curve, fits.drug2.curve, options.loewe);
  if (methods.includes('ZIP')) {
    scores.ZIP = zipScores(m, {
      drug1: fits.drug1.curve, drug2: fits.drug2.curve,
      columns: m.conc2.map((_, j) => fitDoseResponse(m.conc1, column(j), { fixedC: m.response[0]![j]! }).curve),
      rows: m.conc1.map((_, i) => fitDoseResponse(m.conc2, m.response[i]!, { fixedC: m.response[i]![0]! }).curve),
    });
  }
  return { scores, fits };
}

/** The matrix's shape: doses ascending from 0 on both axes, a finite response in every cell. */
function checkMatrix(m: DoseMatrix): void {
  for (const [name, c] of [['conc1', m.conc1], ['conc2', m.conc2]] as const) {
    if (c.length < 2 || c[0] !== 0) throw new Error(`${name} must start at dose 0 and have at least one dose above it`);
    for (let k = 1; k < c.length; k++) if (!(c[k]! > c[k - 1]!)) throw new Error(`${name} must be strictly ascending`);
  }
  if (m.response.length !== m.conc1.length || m.response.some((row) => row.length !== m.conc2.length)) throw new Error(`the response matrix must be ${m.conc1.length} × ${m.conc2.length}`);
  m.response.forEach((row, i) => row.forEach((v, j) => { if (!Number.isFinite(v)) throw new Error(`no response at conc1 ${m.conc1[i]}, conc2 ${m.conc2[j]}`); }));
}
