/**
 * Least-squares fits of four-parameter log-logistic curves (drc's LL.4; SYNERGY.md §2) to one
 * drug's dose–response points, dose 0 included.
 *
 * SynergyFinder fits with R's optim BFGS from drc's self-starter and keeps wherever BFGS stops,
 * which is sometimes far from the least-squares optimum (SYNERGY.md §2: SSE 5629 against 30 on one
 * block). We aim for the least-squares optimum itself, so our SSE is never the larger; Loewe and
 * ZIP then differ from SynergyFinder's where its fit stopped short (docs/synergy.md).
 *
 * Method (hand-written, for a measured reason, `node bench/synergy-fit.mjs`: ml-levenberg-marquardt
 * from 144 starts ended above scipy's least-squares SSE on 6 of SynergyFinder's 28 example curves,
 * by 0.02–7.4 %, and took 8.2–9.1 s per 6×6 block; this: within 9e-6, 0.02–0.04 s per block):
 *  1. variable projection on a grid — for fixed slope b and ln e the curve is linear in c and d,
 *     f = c·(1 − s) + d·s with s = 1/(1 + exp(b(ln x − ln e))), so c, d (or d alone when c is
 *     fixed) come from linear least squares; a 56 × 48 grid of (b, ln e), slopes of both signs up to
 *     |b| = 50, EC50 two decades beyond the tested doses either side, finds the basin;
 *  2. Levenberg–Marquardt with the analytic Jacobian from the best grid points and drc's
 *     logit-regression start; the best SSE wins.
 */
import { solveDenseInPlace } from '../solvers/cpu/linalg.js';
import { curveResponse, type DoseResponseCurve } from './curves.js';

export interface CurveFit {
  curve: DoseResponseCurve;
  /** Σ (y − f(x))² at the fit. */
  sse: number;
}

export interface CurveFitOptions {
  /** Fix c, the asymptote at dose 0 when b < 0 (ZIP fixes it to the observed baseline). */
  fixedC?: number;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Fits y ≈ c + (d − c)/(1 + exp(b·(ln x − ln e))) by least squares (see the file comment). When
 * every response is equal, 1e-10 is added to the last one first (SynergyFinder's rule).
 * @example
 * const doses = [0, 0.1, 0.3, 1, 3, 10], inhibition = [1, 8, 22, 49, 74, 88];
 * const { curve, sse } = fitDoseResponse(doses, inhibition);
 * curve.e; // EC50 ≈ 1, in the doses' unit
 */
export function fitDoseResponse(doses: number[], responses: number[], options: CurveFitOptions = {}): CurveFit {
  if (doses.length !== responses.length || doses.length < 2) throw new Error(`a dose–response fit needs matching doses and responses (${doses.length}, ${responses.length})`);
  const x = doses, y = Float64Array.from(responses);
  if (y.every((v) => v === y[0])) y[y.length - 1]! += 1e-10;
  const positive = [...new Set(x.filter((v) => v > 0))].sort((a, b) => a - b);
  if (positive.length === 0) throw new Error('a dose–response fit needs at least one dose above 0');
  const fixedC = options.fixedC;
  const n = x.length;
  // ln x once (−∞ at dose 0, where s = 1/(1 + exp(b(ln x − u))) is 0 or 1 by the sign of b).
  const lx = Float64Array.from(x, Math.log);

  // 1. Variable projection on a (b, u = ln e) grid. exp(b(ln x − u)) = exp(b ln x)·exp(−b u):
  //    the first factor once per slope, the second once per grid point.
  const uLo = Math.log(positive[0]!) - 2 * Math.LN10, uHi = Math.log(positive[positive.length - 1]!) + 2 * Math.LN10;
  const slopes = Array.from({ length: 28 }, (_, k) => 0.1 * 1.26 ** k).flatMap((b) => [-b, b]);
  const centres = Array.from({ length: 48 }, (_, k) => uLo + (k / 47) * (uHi - uLo));
  const KEEP = 6;
  const best6: Array<{ sse: number; t: number[] }> = [];
  const ebx = new Float64Array(n), sv = new Float64Array(n);
  for (const b of slopes) {
    for (let i = 0; i < n; i++) ebx[i] = Math.exp(b * lx[i]!);
    for (const u of centres) {
      const f = Math.exp(-b * u);
      for (let i = 0; i < n; i++) {
        const e = ebx[i]! * f;
        // e = ∞·0 cannot happen (f is finite and > 0); e = ∞ gives s = 0.
        sv[i] = 1 / (1 + e);
      }
      const lin = linearPart(sv, y, fixedC);
      if (!lin || (best6.length === KEEP && lin.sse >= best6[KEEP - 1]!.sse)) continue;
      const at = best6.findIndex((c) => lin.sse < c.sse);
      best6.splice(at < 0 ? best6.length : at, 0, { sse: lin.sse, t: [b, lin.c, lin.d, u] });
      if (best6.length > KEEP) best6.pop();
    }
  }
  const starts = best6.map((c) => c.t);
  const drc = drcStart(x, [...y]);
  if (drc) starts.push([drc.b, fixedC ?? drc.c, drc.d, Math.log(drc.e)]);

  // 2. Levenberg–Marquardt from each start.
  let best: { sse: number; t: number[] } | undefined;
  for (const t0 of starts) {
    const r = levenbergMarquardt(lx, y, t0, fixedC !== undefined); // every start already holds c = fixedC
    if (Number.isFinite(r.sse) && (!best || r.sse < best.sse)) best = r;
  }
  if (!best) throw new Error(`no dose–response fit of ${n} points converged`);
  const [b, c, d, u] = best.t as [number, number, number, number];
  return { curve: { model: 'LL.4', b, c, d, e: Math.exp(u) }, sse: best.sse };
}

/** c and d (or d alone) by linear least squares given s_i; undefined when degenerate. */
function linearPart(s: Float64Array, y: Float64Array, fixedC: number | undefined): { c: number; d: number; sse: number } | undefined {
  let s00 = 0, s01 = 0, s11 = 0, r0 = 0, r1 = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const a0 = 1 - s[i]!, a1 = s[i]!;
    if (fixedC === undefined) { s00 += a0 * a0; s01 += a0 * a1; s11 += a1 * a1; r0 += a0 * y[i]!; r1 += a1 * y[i]!; }
    else { s11 += a1 * a1; r1 += a1 * (y[i]! - fixedC * a0); }
  }
  let c: number, d: number;
  if (fixedC === undefined) {
    const det = s00 * s11 - s01 * s01;
    if (!(Math.abs(det) > 1e-12 * (s00 * s11 + 1e-300))) return undefined;
    c = (r0 * s11 - r1 * s01) / det; d = (s00 * r1 - s01 * r0) / det;
  } else {
    if (!(s11 > 1e-12)) return undefined;
    c = fixedC; d = r1 / s11;
  }
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i]! - (c * (1 - s[i]!) + d * s[i]!)) ** 2;
  return Number.isFinite(sse) ? { c, d, sse } : undefined;
}

/**
 * Levenberg–Marquardt (Marquardt's diagonal scaling) on θ = (b, c, d, u = ln e), c held when
 * `holdC`; analytic Jacobian of f = c + (d − c)·s, s = 1/(1 + exp(b(ln x − u))):
 * ∂f/∂c = 1 − s, ∂f/∂d = s, ∂f/∂b = −(d − c)s(1 − s)(ln x − u), ∂f/∂u = (d − c)s(1 − s)b
 * (the last two are 0 at x = 0, where s is 0 or 1). `lx` = ln x.
 */
function levenbergMarquardt(lx: Float64Array, y: Float64Array, t0: number[], holdC: boolean): { sse: number; t: number[] } {
  const free = holdC ? [0, 2, 3] : [0, 1, 2, 3], K = free.length, n = lx.length;
  const t = Float64Array.from(t0), next = new Float64Array(4);
  const r = new Float64Array(n), rn = new Float64Array(n), J = new Float64Array(n * 4);
  const A = new Float64Array(K * K), g = new Float64Array(K), M = new Float64Array(K * K), step = new Float64Array(K);
  const s = (q: Float64Array, i: number) => 1 / (1 + Math.exp(q[0]! * (lx[i]! - q[3]!)));
  const residuals = (q: Float64Array, out: Float64Array) => {
    let sse = 0;
    for (let i = 0; i < n; i++) { const v = y[i]! - (q[1]! + (q[2]! - q[1]!) * s(q, i)); out[i] = v; sse += v * v; }
    return sse;
  };
  let sse = residuals(t, r), lambda = 1e-3;
  for (let it = 0; it < 500 && Number.isFinite(sse); it++) {
    const b = t[0]!, c = t[1]!, d = t[2]!, u = t[3]!;
    for (let i = 0; i < n; i++) {
      const si = s(t, i), w = si * (1 - si), finite = Number.isFinite(lx[i]!);
      J[i * 4] = finite ? -(d - c) * w * (lx[i]! - u) : 0;
      J[i * 4 + 1] = 1 - si; J[i * 4 + 2] = si;
      J[i * 4 + 3] = finite ? (d - c) * w * b : 0;
    }
    A.fill(0); g.fill(0);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < K; p++) {
        const jp = J[i * 4 + free[p]!]!;
        g[p]! += jp * r[i]!;
        for (let q = 0; q < K; q++) A[p * K + q]! += jp * J[i * 4 + free[q]!]!;
      }
    }
    let improved = false;
    for (let tries = 0; tries < 30; tries++) {
      M.set(A);
      for (let p = 0; p < K; p++) M[p * K + p]! += lambda * (A[p * K + p]! || 1);
      step.set(g);
      solveDenseInPlace(M, step, K);
      next.set(t);
      for (let p = 0; p < K; p++) next[free[p]!]! += step[p]!;
      const sn = residuals(next, rn);
      if (Number.isFinite(sn) && sn < sse) {
        const gain = sse - sn;
        t.set(next); r.set(rn); sse = sn; lambda = Math.max(lambda / 3, 1e-12); improved = true;
        if (gain <= 1e-15 * Math.max(sse, 1e-300) + 1e-300) return { sse, t: [...t] };
        break;
      }
      lambda *= 4;
    }
    if (!improved) break;
  }
  return { sse, t: [...t] };
}

/**
 * drc's logit-regression start for LL.4: c and d just outside the responses' range, then
 * log((d − y)/(y − c)) = b·ln x − b·ln e fitted by ordinary least squares over x > 0.
 */
function drcStart(x: number[], y: number[]): { b: number; c: number; d: number; e: number } | undefined {
  const lo = Math.min(...y), hi = Math.max(...y), pad = 1e-3 * Math.max(hi - lo, 1e-9);
  // Which end is c (the dose-0 side): the lower responses at low dose for an inhibition curve.
  const xMax = Math.max(...x), xMin = Math.min(...x);
  const rising = mean(y.filter((_, i) => x[i]! === xMax)) >= mean(y.filter((_, i) => x[i]! === xMin));
  const c = rising ? lo - pad : hi + pad, d = rising ? hi + pad : lo - pad;
  const pts = x.map((xi, i) => [xi, y[i]!] as const).filter(([xi]) => xi > 0).map(([xi, yi]) => [Math.log(xi), Math.log((d - yi) / (yi - c))] as const)
    .filter(([, v]) => Number.isFinite(v));
  if (pts.length < 2) return undefined;
  const mx = mean(pts.map((p) => p[0])), my = mean(pts.map((p) => p[1]));
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0), sxy = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  if (!(sxx > 0)) return undefined;
  const b = sxy / sxx, e = Math.exp(mx - my / b);
  return Number.isFinite(b) && Number.isFinite(e) && b !== 0 ? { b, c, d, e } : undefined;
}
