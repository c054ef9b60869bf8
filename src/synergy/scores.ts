/**
 * Synergy scores of one dose–response matrix, as SynergyFinder 3.x computes them
 * (../../../shared/SYNERGY.md §3–§7; docs/synergy.md):
 *
 *   HSA    ref = max(y(x1,0), y(0,x2))                       (observed monotherapies)
 *   Bliss  ref = y1 + y2 − y1·y2/100                          (observed monotherapies)
 *   Loewe  ref = the y with x1/X1(y) + x2/X2(y) = 1           (X = a fitted curve's expected dose),
 *          found on SynergyFinder's grid of 100 effect levels, or exactly (`loewe: 'exact'`)
 *   ZIP    delta = mean(row fit, column fit) − Bliss(f1(x1), f2(x2))   (fitted curves only)
 *
 * Score = observed − ref (ZIP: fitted − ref), in percentage points of inhibition; positive =
 * synergy. Monotherapy cells (at most one drug present) score 0. The summary is the mean over
 * combination cells only (both doses > 0).
 *
 * This file scores given curves; fitting them is the caller's (or `scoreMatrix`'s) business, so
 * curve parameters can be injected and every cell checked exactly.
 */
import { curveResponse, expectedDose, type DoseResponseCurve } from './curves.js';

/**
 * A dose–response matrix: `response[i][j]` (% inhibition) at `conc1[i]` of drug 1 (rows) and
 * `conc2[j]` of drug 2 (columns); both dose lists ascending and starting at 0.
 */
export interface DoseMatrix {
  conc1: number[];
  conc2: number[];
  response: number[][];
}

export interface ScoreMatrix {
  /** Score per cell (0 in monotherapy cells). */
  matrix: number[][];
  /** The reference (expected) response per cell; for ZIP the fitted response is in `fitted`. */
  ref: number[][];
  fitted?: number[][];
  /** Mean score over combination cells. */
  summary: number;
}

const cells = (m: DoseMatrix) => m.conc1.map((_, i) => m.conc2.map((_, j) => [i, j] as const));
const isCombination = (m: DoseMatrix, i: number, j: number) => m.conc1[i]! > 0 && m.conc2[j]! > 0;

/** Mean over the combination cells. */
function summaryOf(m: DoseMatrix, score: number[][]): number {
  let sum = 0, n = 0;
  m.conc1.forEach((_, i) => m.conc2.forEach((_, j) => { if (isCombination(m, i, j)) { sum += score[i]![j]!; n++; } }));
  return n > 0 ? sum / n : NaN;
}

/** Scores from a reference per combination cell: monotherapy cells get ref = y, score 0. */
function fromReference(m: DoseMatrix, refAt: (i: number, j: number) => number): ScoreMatrix {
  const ref = cells(m).map((row) => row.map(([i, j]) => (isCombination(m, i, j) ? refAt(i, j) : m.response[i]![j]!)));
  const matrix = ref.map((row, i) => row.map((r, j) => m.response[i]![j]! - r));
  return { matrix, ref, summary: summaryOf(m, matrix) };
}

/**
 * Highest single agent: ref = the larger observed monotherapy response.
 * @example
 * const m = { conc1: [0, 1], conc2: [0, 1], response: [[0, 30], [20, 60]] };
 * hsaScores(m).summary; // 60 − max(20, 30) = 30
 */
export function hsaScores(m: DoseMatrix): ScoreMatrix {
  return fromReference(m, (i, j) => Math.max(m.response[i]![0]!, m.response[0]![j]!));
}

/**
 * Bliss independence on the observed monotherapies (no clipping to [0, 100]).
 * @example
 * const m = { conc1: [0, 1], conc2: [0, 1], response: [[0, 30], [20, 60]] };
 * blissScores(m).summary; // 60 − (20 + 30 − 20·30/100) = 16
 */
export function blissScores(m: DoseMatrix): ScoreMatrix {
  return fromReference(m, (i, j) => {
    const y1 = m.response[i]![0]!, y2 = m.response[0]![j]!;
    return 100 * (1 - (1 - y1 / 100) * (1 - y2 / 100));
  });
}

export interface LoeweOptions {
  /**
   * 'grid' (SynergyFinder): the best of 100 effect levels spanning both curves' asymptotes, so the
   * reference is quantised to (max − min)/99; 'exact': the root of the isobole equation by
   * bisection where it is crossed (the grid's answer where it is not).
   */
  solve?: 'grid' | 'exact';
}

/**
 * Loewe additivity on the two fitted monotherapy curves (SYNERGY.md §5).
 * @example
 * const hill: DoseResponseCurve = { model: 'LL.4', b: -1, c: 0, d: 100, e: 1 };
 * // A drug combined with itself: y(x1, x2) = f(x1 + x2), Loewe-additive by definition.
 * const doses = [0, 0.5, 1, 2];
 * const m = { conc1: doses, conc2: doses, response: doses.map((a) => doses.map((b) => curveResponse(hill, a + b))) };
 * loeweScores(m, hill, hill, { solve: 'exact' }).summary; // ≈ 0
 */
export function loeweScores(m: DoseMatrix, curve1: DoseResponseCurve, curve2: DoseResponseCurve, options: LoeweOptions = {}): ScoreMatrix {
  const lo = Math.min(curve1.c, curve1.d, curve2.c, curve2.d), hi = Math.max(curve1.c, curve1.d, curve2.c, curve2.d);
  // R's seq(lo, hi, length.out = 100): exact end points, lo + k·(hi − lo)/99 between.
  const grid = Array.from({ length: 100 }, (_, k) => (k === 0 ? lo : k === 99 ? hi : lo + k * ((hi - lo) / 99)));
  const ratio = (x: number, X: number) => (X === Infinity ? 0 : x / X); // x > 0: x/0 = ∞
  const isobole = (x1: number, x2: number, y: number) => ratio(x1, expectedDose(curve1, y)) + ratio(x2, expectedDose(curve2, y)) - 1;
  return fromReference(m, (i, j) => {
    const x1 = m.conc1[i]!, x2 = m.conc2[j]!, y = m.response[i]![j]!;
    // Neither drug alone reaches the observed response: the larger single-drug response at x1 + x2
    // (SynergyFinder's fallback; it mixes the two drugs' units).
    if (!Number.isFinite(expectedDose(curve1, y)) && !Number.isFinite(expectedDose(curve2, y))) {
      return Math.max(curveResponse(curve1, x1 + x2), curveResponse(curve2, x1 + x2));
    }
    let best = 0, bestDist = Infinity;
    const g = grid.map((level) => isobole(x1, x2, level));
    g.forEach((v, k) => { const d = Math.abs(v); if (d < bestDist) { bestDist = d; best = k; } }); // NaN never wins; ties keep the first
    if (options.solve !== 'exact') return grid[best]!;
    // Exact: bisection on the grid interval where the isobole changes sign nearest the grid's choice.
    for (const k of [best - 1, best]) {
      if (k < 0 || k + 1 >= grid.length || !(g[k]! * g[k + 1]! <= 0)) continue;
      let a = grid[k]!, b = grid[k + 1]!, ga = g[k]!;
      for (let it = 0; it < 200 && b - a > 1e-14 * Math.max(1, Math.abs(a)); it++) {
        const mid = 0.5 * (a + b), gm = isobole(x1, x2, mid);
        if (gm === 0) return mid;
        if (ga * gm < 0) b = mid; else { a = mid; ga = gm; }
      }
      return 0.5 * (a + b);
    }
    return grid[best]!;
  });
}

/** The fitted curves ZIP needs (SYNERGY.md §6). */
export interface ZipCurves {
  /** Monotherapy curves of drug 1 (in x1) and drug 2 (in x2), all four parameters free. */
  drug1: DoseResponseCurve;
  drug2: DoseResponseCurve;
  /** Per column j (drug 2 at conc2[j]): a curve in x1 with c fixed to y(0, x2_j). */
  columns: DoseResponseCurve[];
  /** Per row i (drug 1 at conc1[i]): a curve in x2 with c fixed to y(x1_i, 0). */
  rows: DoseResponseCurve[];
}

/**
 * ZIP delta scores from the fitted curves: fitted = mean of the row and column curves at the cell,
 * ref = Bliss of the fitted monotherapies; score = fitted − ref in combination cells.
 * @example
 * const flat: DoseResponseCurve = { model: 'LL.4', b: -1, c: 0, d: 50, e: 1 };
 * const m = { conc1: [0, 1], conc2: [0, 1], response: [[0, 25], [25, 43.75]] };
 * const z = zipScores(m, { drug1: flat, drug2: flat, columns: [flat, { ...flat, c: 25 }], rows: [flat, { ...flat, c: 25 }] });
 * z.summary; // (25 + 12.5) − (25 + 25 − 6.25) = −6.25
 */
export function zipScores(m: DoseMatrix, curves: ZipCurves): ScoreMatrix {
  const fitted = cells(m).map((row) => row.map(([i, j]) => (isCombination(m, i, j)
    ? 0.5 * (curveResponse(curves.columns[j]!, m.conc1[i]!) + curveResponse(curves.rows[i]!, m.conc2[j]!))
    : m.response[i]![j]!)));
  const ref = cells(m).map((row) => row.map(([i, j]) => {
    if (!isCombination(m, i, j)) return m.response[i]![j]!;
    const f1 = curveResponse(curves.drug1, m.conc1[i]!), f2 = curveResponse(curves.drug2, m.conc2[j]!);
    return 100 * (1 - (1 - f1 / 100) * (1 - f2 / 100));
  }));
  const matrix = fitted.map((row, i) => row.map((f, j) => f - ref[i]![j]!));
  return { matrix, ref, fitted, summary: summaryOf(m, matrix) };
}
