/**
 * Four-parameter log-logistic dose–response curves as SynergyFinder 3.x uses them (drc's `LL.4`,
 * and its `L.4` fallback on log dose; ../../../shared/SYNERGY.md §2, §5):
 *
 *   LL.4:  f(x) = c + (d − c) / (1 + exp(b·(ln x − ln e)))      (x = 0 allowed: f(0) = c if b < 0, d if b > 0)
 *   L.4:   f(x) = c + (d − c) / (1 + exp(b·(ln x' − e))),  x' = x, or 1e-10 where x = 0  (e = ln EC50)
 *
 * No sign is imposed on b and no order on c, d: (b, c, d, e) and (−b, d, c, e) are the same curve.
 * Responses are % inhibition.
 */

export interface DoseResponseCurve {
  /** 'LL.4' (e = EC50, in dose units) or drc's 'L.4' fallback on ln(dose) (e = ln EC50). */
  model: 'LL.4' | 'L.4';
  /** Hill slope (drc's sign: b < 0 for a curve rising with dose from c to d). */
  b: number;
  c: number;
  d: number;
  e: number;
}

/** Where SynergyFinder's L.4 fallback puts a zero dose. */
export const L4_ZERO_DOSE = 1e-10;

/**
 * The curve's response at dose x (% inhibition).
 * @example
 * const curve: DoseResponseCurve = { model: 'LL.4', b: -1.2, c: 0, d: 90, e: 0.5 };
 * curveResponse(curve, 0.5); // 45, halfway at the EC50
 */
export function curveResponse(p: DoseResponseCurve, x: number): number {
  const logx = p.model === 'LL.4' ? Math.log(x) - Math.log(p.e) : Math.log(x === 0 ? L4_ZERO_DOSE : x) - p.e;
  return p.c + (p.d - p.c) / (1 + Math.exp(p.b * logx));
}

/**
 * The dose at which the curve reaches response y ("expected dose" of Loewe additivity), with
 * SynergyFinder's rule for responses the curve never reaches: a NaN (a negative base to a
 * non-integer power) becomes +Infinity when y lies above both asymptotes (the drug cannot reach
 * it: "infinitely weak", x/X = 0) and 0 otherwise ("infinitely potent", x/X = ∞).
 * As in R, a negative base to an *integer* power (1/b ∈ ℤ, e.g. b = −1) is no NaN: the dose then
 * comes out negative, and SynergyFinder uses it as it is.
 * @example
 * const curve: DoseResponseCurve = { model: 'LL.4', b: -1.5, c: 0, d: 80, e: 2 };
 * expectedDose(curve, 40); // 2, the EC50
 * expectedDose(curve, 95); // Infinity: the drug never inhibits 95 %
 */
export function expectedDose(p: DoseResponseCurve, y: number): number {
  const x = p.model === 'LL.4'
    ? p.e * ((y - p.d) / (p.c - y)) ** (1 / p.b)
    : Math.exp(p.e + Math.log((p.d - y) / (y - p.c)) / p.b);
  if (Number.isNaN(x)) return y > Math.max(p.c, p.d) ? Infinity : 0;
  return x;
}
