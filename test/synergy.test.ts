/**
 * Synergy scores on given curves (src/synergy), against hand-computed and analytic references
 * (issue #12): HSA and Bliss exactly; Loewe against the closed-form isobole of two Hill curves with
 * one slope and one top; ZIP against the exact conditional curves of a Bliss-independent pair.
 */
import { describe, expect, it } from 'vitest';
import { curveResponse, expectedDose, type DoseResponseCurve } from '../src/synergy/curves.js';
import { blissScores, hsaScores, loeweScores, zipScores, type DoseMatrix } from '../src/synergy/scores.js';

const doses1 = [0, 0.1, 0.3, 1, 3, 10], doses2 = [0, 0.05, 0.2, 0.8, 3.2];
const matrixOf = (f: (x1: number, x2: number) => number): DoseMatrix => ({ conc1: doses1, conc2: doses2, response: doses1.map((a) => doses2.map((b) => f(a, b))) });

describe('dose–response curves (drc LL.4 / L.4)', () => {
  it('response and expected dose are inverse; the zero dose gives the asymptote b picks', () => {
    const up: DoseResponseCurve = { model: 'LL.4', b: -1.3, c: 5, d: 85, e: 0.7 };
    for (const x of [0.01, 0.7, 4]) expect(expectedDose(up, curveResponse(up, x))).toBeCloseTo(x, 12);
    expect(curveResponse(up, 0)).toBe(5); // b < 0: c at dose 0
    expect(curveResponse({ ...up, b: 1.3, c: 85, d: 5 }, 0)).toBe(5); // the same curve written the other way
    expect(curveResponse({ ...up, b: 1.3, c: 85, d: 5 }, 2)).toBeCloseTo(curveResponse(up, 2), 12);
    // L.4 on ln dose, zero dose at 1e-10.
    const l4: DoseResponseCurve = { model: 'L.4', b: -1.3, c: 5, d: 85, e: Math.log(0.7) };
    expect(curveResponse(l4, 2)).toBeCloseTo(curveResponse(up, 2), 12);
    expect(curveResponse(l4, 0)).toBeCloseTo(curveResponse(up, 1e-10), 12);
    expect(expectedDose(l4, 50)).toBeCloseTo(expectedDose(up, 50), 12);
    // Responses the curve never reaches: above both asymptotes → ∞ (infinitely weak); below → 0.
    expect(expectedDose(up, 90)).toBe(Infinity);
    expect(expectedDose(up, 1)).toBe(0);
    expect(expectedDose(l4, 90)).toBe(Infinity);
    // R arithmetic: with 1/b an integer the power of a negative base is defined, so no NaN and no
    // replacement: a negative dose, as SynergyFinder computes it.
    expect(expectedDose({ ...up, b: -1 }, 90)).toBeCloseTo(0.7 * ((90 - 85) / (5 - 90)) ** -1, 12);
  });
});

describe('HSA and Bliss (observed monotherapies)', () => {
  const m: DoseMatrix = { conc1: [0, 1, 2], conc2: [0, 5, 10], response: [[-3, 10, 40], [20, 35, 50], [60, 55, 90]] };
  it('HSA: y − max(y(x1,0), y(0,x2)), by hand; summary over the four combination cells', () => {
    const s = hsaScores(m);
    expect(s.matrix).toEqual([[0, 0, 0], [0, 35 - 20, 50 - 40], [0, 55 - 60, 90 - 60]]);
    expect(s.summary).toBe((15 + 10 - 5 + 30) / 4);
  });
  it('Bliss: y − (y1 + y2 − y1·y2/100), by hand, no clipping', () => {
    const s = blissScores(m);
    const ref = (y1: number, y2: number) => y1 + y2 - (y1 * y2) / 100;
    expect(s.matrix[1]![1]).toBeCloseTo(35 - ref(20, 10), 12);
    expect(s.matrix[1]![2]).toBeCloseTo(50 - ref(20, 40), 12);
    expect(s.matrix[2]![1]).toBeCloseTo(55 - ref(60, 10), 12);
    expect(s.matrix[2]![2]).toBeCloseTo(90 - ref(60, 40), 12);
    expect(s.matrix[0]).toEqual([0, 0, 0]);
    expect(s.summary).toBeCloseTo([35 - 28, 50 - 52, 55 - 64, 90 - 76].reduce((a, v) => a + v, 0) / 4, 12);
  });
});

describe('Loewe', () => {
  // Two Hill curves with one slope h and top d (c = 0): X_k(y) = e_k·(y/(d − y))^{1/h}, so the
  // isobole x1/X1 + x2/X2 = 1 has the closed form y = d·s^h/(1 + s^h), s = x1/e1 + x2/e2.
  const h = 1.4, top = 92;
  const c1: DoseResponseCurve = { model: 'LL.4', b: -h, c: 0, d: top, e: 0.6 };
  const c2: DoseResponseCurve = { model: 'LL.4', b: -h, c: 0, d: top, e: 0.9 };
  const additive = (x1: number, x2: number) => { const s = x1 / c1.e + x2 / c2.e; return top * s ** h / (1 + s ** h); };

  it('exact: the reference is the closed-form isobole to 1e-9 in every cell, so a dose-additive pair scores 0', () => {
    // Observed values off the isobole, below both tops (above them Loewe falls back; next test).
    const m = matrixOf((a, b) => additive(a, b) - 3 * Math.abs(Math.sin(3 * a + b)));
    const s = loeweScores(m, c1, c2, { solve: 'exact' });
    m.conc1.forEach((a, i) => m.conc2.forEach((b, j) => {
      if (a > 0 && b > 0) expect(Math.abs(s.ref[i]![j]! - additive(a, b)), `cell ${i},${j}`).toBeLessThan(1e-9);
      else expect(s.matrix[i]![j]).toBe(0);
    }));
    expect(Math.abs(loeweScores(matrixOf(additive), c1, c2, { solve: 'exact' }).summary)).toBeLessThan(1e-9);
  });

  it('grid (SynergyFinder): the reference is one of the two grid levels around the isobole', () => {
    const m = matrixOf(additive);
    const s = loeweScores(m, c1, c2);
    const step = top / 99;
    m.conc1.forEach((a, i) => m.conc2.forEach((b, j) => {
      if (!(a > 0 && b > 0)) return;
      const exact = additive(a, b), ref = s.ref[i]![j]!;
      const k = Math.round(ref / step);
      expect(Math.abs(ref - (k === 99 ? top : k * step))).toBeLessThan(1e-9); // on the grid
      expect(Math.abs(ref - exact)).toBeLessThan(step); // next to the isobole
    }));
    expect(Math.abs(s.summary)).toBeLessThan(step / 2);
  });

  it('a response above both curves falls back to the larger single-drug response at x1 + x2', () => {
    const m = matrixOf((a, b) => (a > 0 && b > 0 ? 99 : additive(a, b)));
    const s = loeweScores(m, c1, c2);
    expect(s.ref[3]![2]).toBeCloseTo(Math.max(curveResponse(c1, 1 + 0.2), curveResponse(c2, 1 + 0.2)), 12);
  });
});

describe('ZIP (delta on fitted curves)', () => {
  // A Bliss-independent pair of Hill drugs (c = 0): at fixed x2 the response in x1 is again LL.4
  // with drug 1's slope and EC50, bottom f2(x2) and top f2 + (1 − f2/100)·d1; likewise by rows.
  const d1: DoseResponseCurve = { model: 'LL.4', b: -1.1, c: 0, d: 80, e: 0.5 };
  const d2: DoseResponseCurve = { model: 'LL.4', b: -2, c: 0, d: 95, e: 0.4 };
  const bliss = (x1: number, x2: number) => { const f1 = curveResponse(d1, x1), f2 = curveResponse(d2, x2); return f1 + f2 - f1 * f2 / 100; };
  const conditional = (along: DoseResponseCurve, other: number): DoseResponseCurve => ({ ...along, c: other, d: other + (1 - other / 100) * along.d });
  const curves = {
    drug1: d1, drug2: d2,
    columns: doses2.map((x2) => conditional(d1, curveResponse(d2, x2))),
    rows: doses1.map((x1) => conditional(d2, curveResponse(d1, x1))),
  };

  it('the exact conditional curves of a Bliss-independent pair give ZIP = 0 in every cell (1e-9)', () => {
    const s = zipScores(matrixOf(bliss), curves);
    for (const row of s.matrix) for (const v of row) expect(Math.abs(v)).toBeLessThan(1e-9);
  });

  it('synergy in the fitted surface shows as the gap to Bliss of the fitted monotherapies', () => {
    // Column and row curves 10 points higher at the top: each combination cell's fit rises by the
    // same amount in both directions' curves, by hand.
    const lifted = { ...curves, columns: curves.columns.map((c, j) => (j === 0 ? c : { ...c, d: c.d + 10 })), rows: curves.rows.map((c, i) => (i === 0 ? c : { ...c, d: c.d + 10 })) };
    const s = zipScores(matrixOf(bliss), lifted);
    doses1.forEach((a, i) => doses2.forEach((b, j) => {
      if (!(a > 0 && b > 0)) return expect(s.matrix[i]![j]).toBe(0);
      const share = (c: DoseResponseCurve, x: number) => 10 / (1 + Math.exp(c.b * Math.log(x / c.e)));
      expect(s.matrix[i]![j]!).toBeCloseTo(0.5 * (share(d1, a) + share(d2, b)), 9);
    }));
  });
});
