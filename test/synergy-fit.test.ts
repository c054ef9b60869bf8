/**
 * Dose–response fits (src/synergy/fit.ts) against an independent fitter and known curves
 * (issue #12): never worse in squared error than scipy's least squares on SynergyFinder's own example
 * data (test/fixtures/synergy/reference_fits.json, made by reference_fits.py beside it), and exact
 * recovery of noise-free curves.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { curveResponse, type DoseResponseCurve } from '../src/synergy/curves.js';
import { fitDoseResponse } from '../src/synergy/fit.js';
import { scoreMatrix } from '../src/synergy/synergy.js';

const FIX = new URL('./fixtures/synergy/', import.meta.url).pathname;

/** SynergyFinder's example blocks (viability in the file; inhibition = 100 − viability). */
function mathewsBlocks() {
  const rows = readFileSync(`${FIX}mathews_screening_data.csv`, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  return ['1', '2'].map((block) => {
    const rs = rows.filter((r) => r[0] === block);
    const c1 = [...new Set(rs.map((r) => Number(r[3])))].sort((a, b) => a - b), c2 = [...new Set(rs.map((r) => Number(r[4])))].sort((a, b) => a - b);
    const y = (a: number, b: number) => 100 - Number(rs.find((r) => Number(r[3]) === a && Number(r[4]) === b)![5]);
    return { block, conc1: c1, conc2: c2, response: c1.map((a) => c2.map((b) => y(a, b))) };
  });
}

describe('LL.4 least-squares fits', () => {
  it('recover noise-free curves exactly, rising or falling, dose 0 included, with or without c fixed', () => {
    const doses = [0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
    const truths: DoseResponseCurve[] = [
      { model: 'LL.4', b: -1.3, c: 2, d: 88, e: 0.4 },
      { model: 'LL.4', b: -0.7, c: 95, d: 10, e: 2.5 }, // falling, as viability
    ];
    for (const truth of truths) {
      const y = doses.map((x) => curveResponse(truth, x));
      for (const options of [{}, { fixedC: truth.c }]) {
        const { curve, sse } = fitDoseResponse(doses, y, options);
        expect(sse).toBeLessThan(1e-14);
        for (const x of [0, 0.05, 0.4, 7]) expect(curveResponse(curve, x)).toBeCloseTo(curveResponse(truth, x), 7);
        // Same curve up to the (b, c, d) ↔ (−b, d, c) symmetry.
        const same = Math.sign(curve.b) === Math.sign(truth.b) ? curve : { ...curve, b: -curve.b, c: curve.d, d: curve.c };
        expect(same.b).toBeCloseTo(truth.b, 6);
        expect(same.e / truth.e).toBeCloseTo(1, 6);
      }
    }
  });

  it('all responses equal: SynergyFinder adds 1e-10 to the last one, and a (flat) curve comes back', () => {
    const { curve, sse } = fitDoseResponse([0, 1, 2, 4], [50, 50, 50, 50]);
    expect(sse).toBeLessThan(1e-18);
    expect(curveResponse(curve, 2)).toBeCloseTo(50, 9);
  });

  it('on SynergyFinder\'s example data, every curve is at least as good as scipy\'s least squares (28 curves)', () => {
    const ref = JSON.parse(readFileSync(`${FIX}reference_fits.json`, 'utf8')).blocks;
    let curves = 0;
    for (const m of mathewsBlocks()) {
      const r = ref[m.block];
      const col = (j: number) => m.response.map((row) => row[j]!);
      const check = (sse: number, scipy: number, what: string) => { curves++; expect(sse, `block ${m.block} ${what}: ${sse} vs scipy ${scipy}`).toBeLessThanOrEqual(scipy * (1 + 1e-4)); };
      check(fitDoseResponse(m.conc1, col(0)).sse, r.sse_drug1, 'drug 1');
      check(fitDoseResponse(m.conc2, m.response[0]!).sse, r.sse_drug2, 'drug 2');
      m.conc2.forEach((_, j) => check(fitDoseResponse(m.conc1, col(j), { fixedC: m.response[0]![j]! }).sse, r.sse_columns[j], `column ${j}`));
      m.conc1.forEach((_, i) => check(fitDoseResponse(m.conc2, m.response[i]!, { fixedC: m.response[i]![0]! }).sse, r.sse_rows[i], `row ${i}`));
    }
    expect(curves).toBe(28);
  });
});

describe('scoreMatrix', () => {
  it('scores both example blocks by all four methods, with the fits it used', () => {
    for (const m of mathewsBlocks()) {
      const s = scoreMatrix(m);
      for (const method of ['HSA', 'Bliss', 'Loewe', 'ZIP'] as const) expect(Number.isFinite(s.scores[method]!.summary), `${m.block} ${method}`).toBe(true);
      expect(s.fits!.drug1.sse).toBeGreaterThan(0);
      // Loewe and ZIP are computed from these fits: the ZIP reference at a combination cell is Bliss of the fitted curves.
      const f1 = curveResponse(s.fits!.drug1.curve, m.conc1[2]!), f2 = curveResponse(s.fits!.drug2.curve, m.conc2[3]!);
      expect(s.scores.ZIP!.ref[2]![3]).toBeCloseTo(f1 + f2 - f1 * f2 / 100, 10);
    }
  });

  it('refuses a matrix without its zero-dose row and column', () => {
    expect(() => scoreMatrix({ conc1: [1, 2], conc2: [0, 1], response: [[1, 2], [3, 4]] })).toThrow(/conc1 must start at dose 0/);
  });
});
