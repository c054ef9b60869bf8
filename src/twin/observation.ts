/**
 * Observation models: image signal of one cell from the model observable h(t) of its trajectory
 * (docs/observation.md):
 *   z(t) = a·e^{−κ t}·h(t) + b + d·t + ε,   ε ~ N(0, σ²)
 * scale a, offset b and background drift d per cell; photobleaching rate κ per cell or per patient;
 * σ per cell or per patient (and observable). The scale is ≥ 0 (an image is brighter where more is
 * imaged). None is hand-set: for given h they are estimated by
 * variable projection (Golub & Pereyra 1973): a, b, d by linear least squares at each κ, κ by a
 * golden-section search on [0, κ_max], σ² = RSS/n (maximum likelihood). The mechanistic fit sees
 * the profiled negative log-likelihood
 *   NLL = Σ_groups (n_g/2)·(log(2π σ_g²) + 1),
 * whose gradient with respect to h equals that of ½Σ((z − value)/σ)² at the optimum (envelope
 * theorem), so the adjoint gets per-measurement scale a·e^{−κt}, offset b + d·t and σ.
 */
import { solveDenseInPlace } from '../solvers/cpu/linalg.js';
import type { FrapCurve } from '../io/imaging.js';

export interface ObservationOptions {
  /** Photobleaching rate per cell (default), one per patient, or none. */
  bleach?: 'cell' | 'patient' | 'none';
  /** Noise σ per cell, or one per patient (default) and observable. */
  sigma?: 'cell' | 'patient';
  /** Linear background drift per cell (default true). */
  drift?: boolean;
}

/** One cell's measurements of one observable. */
export interface CellSeries {
  cell: string;
  t: Float64Array;
  value: Float64Array;
}

export interface CellObservation {
  cell: string;
  scale: number;
  offset: number;
  drift: number;
  bleach: number;
  sigma: number;
  rss: number;
  /** Σ(value − mean)² of the cell's measurements (for R²). */
  tss: number;
  n: number;
}

/** A cell's series with what the linear fit needs that does not depend on κ: t centred and scaled. */
interface Prepared { t: Float64Array; v: Float64Array; h: Float64Array; tMean: number; st: number; tc: Float64Array }

function prepare(t: Float64Array, v: Float64Array, h: Float64Array): Prepared {
  let tMean = 0, st = 0;
  for (let i = 0; i < t.length; i++) tMean += t[i]! / t.length;
  for (let i = 0; i < t.length; i++) st = Math.max(st, Math.abs(t[i]! - tMean));
  st ||= 1;
  return { t, v, h, tMean, st, tc: Float64Array.from(t, (x) => (x - tMean) / st) };
}

// Scratch for the inner loop of the κ search (~100 linear fits per cell and evaluation): no allocation.
let uScratch = new Float64Array(64);
const A = new Float64Array(9), rhs = new Float64Array(3), sub = new Float64Array(4), subRhs = new Float64Array(2);

/**
 * Solves the 3×3 (or 2×2) normal equations of z = a·u + b + d·t with u = h·e^{−κt}; returns the RSS
 * and writes [a, b, d] into `coef` when given.
 */
function linearFit(c: Prepared, k: number, drift: boolean, coef?: Float64Array): number {
  const m = drift ? 3 : 2, n = c.v.length;
  if (uScratch.length < n) uScratch = new Float64Array(2 * n);
  const u = uScratch;
  // Columns scaled to unit size and t centred, so the normal equations stay well conditioned
  // (κ is found from small RSS differences); the coefficients are scaled back at the end.
  let su = 0;
  for (let i = 0; i < n; i++) { u[i] = c.h[i]! * Math.exp(-k * c.t[i]!); su = Math.max(su, Math.abs(u[i]!)); }
  su ||= 1;
  let s00 = 0, s01 = 0, s02 = 0, s12 = 0, s22 = 0, r0 = 0, r1 = 0, r2 = 0;
  for (let i = 0; i < n; i++) {
    const x0 = u[i]! / su, x2 = c.tc[i]!, y = c.v[i]!;
    s00 += x0 * x0; s01 += x0; s02 += x0 * x2; s12 += x2; s22 += x2 * x2;
    r0 += x0 * y; r1 += y; r2 += x2 * y;
  }
  // A tiny ridge keeps a constant h (collinear with the offset) solvable; it changes nothing else.
  const ridge = (x: number) => x + 1e-14 * (x + 1e-300);
  if (drift) {
    A[0] = ridge(s00); A[1] = s01; A[2] = s02; A[3] = s01; A[4] = ridge(n); A[5] = s12; A[6] = s02; A[7] = s12; A[8] = ridge(s22);
  } else { A[0] = ridge(s00); A[1] = s01; A[2] = s01; A[3] = ridge(n); }
  rhs[0] = r0; rhs[1] = r1; rhs[2] = r2;
  solveDenseInPlace(A, rhs, m);
  let z0 = rhs[0]!, z1 = rhs[1]!, z2 = drift ? rhs[2]! : 0;
  if (z0 < 0) {
    // An intensity grows with the amount imaged: scale ≥ 0. At the bound (KKT) the others are the
    // least squares of offset and drift alone; the profiled loss stays continuous in h.
    if (drift) {
      sub[0] = ridge(n); sub[1] = s12; sub[2] = s12; sub[3] = ridge(s22); subRhs[0] = r1; subRhs[1] = r2;
      solveDenseInPlace(sub, subRhs, 2);
      z1 = subRhs[0]!; z2 = subRhs[1]!;
    } else { z1 = r1 / ridge(n); z2 = 0; }
    z0 = 0;
  }
  const a = z0 / su, b = z1 - z2 * c.tMean / c.st, d = z2 / c.st;
  let rss = 0;
  for (let i = 0; i < n; i++) { const e = a * u[i]! + b + d * c.t[i]! - c.v[i]!; rss += e * e; }
  if (coef) { coef[0] = a; coef[1] = b; coef[2] = d; }
  return rss;
}

/**
 * Minimises f on [lo, hi]: a scan of 33 points (RSS(κ) need not be unimodal: bleaching trades off
 * against the shape of h), then golden-section search between the best point's neighbours.
 */
function minimize1d(f: (x: number) => number, lo: number, hi: number): number {
  const n = 32, xs = Array.from({ length: n + 1 }, (_, i) => lo + (hi - lo) * i / n), fs = xs.map(f);
  let best = 0;
  for (let i = 1; i <= n; i++) if (fs[i]! < fs[best]!) best = i;
  return goldenSection(f, xs[Math.max(0, best - 1)]!, xs[Math.min(n, best + 1)]!);
}

/** Minimises f on [lo, hi] by golden-section search (f unimodal there, or the best point seen). */
function goldenSection(f: (x: number) => number, lo: number, hi: number, iterations = 60): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo, b = hi, c = b - g * (b - a), d = a + g * (b - a), fc = f(c), fd = f(d);
  for (let i = 0; i < iterations; i++) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c); } else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d); }
  }
  const candidates = [[lo, f(lo)], [c, fc], [d, fd]] as const;
  return candidates.reduce((best, x) => (x[1] < best[1] ? x : best))[0];
}

/**
 * Fits the observation parameters of a patient's cells for one observable, given the model
 * observable `h[i]` at each cell's times. Returns each cell's parameters and the group NLL.
 * @example
 * const t = Float64Array.of(0, 15, 30, 45), value = Float64Array.of(410, 395, 260, 180);
 * const h = Float64Array.of(1, 0.95, 0.5, 0.2); // the model observable at those times
 * const fit = fitObservation([{ cell: '1', t, value }], [h], { bleach: 'cell', sigma: 'patient' });
 * fit.cells[0]?.scale; fit.nll;
 */
export function fitObservation(series: CellSeries[], h: Float64Array[], options: ObservationOptions = {}): { cells: CellObservation[]; nll: number } {
  const drift = options.drift ?? true, bleachMode = options.bleach ?? 'cell', sigmaMode = options.sigma ?? 'patient';
  const span = Math.max(1, ...series.map((s) => s.t[s.t.length - 1]! - s.t[0]!));
  const kMax = 5 / span; // at most e^{−5} of the signal left by the end: faster "bleaching" is not bleaching
  const prepared = series.map((s, i) => prepare(s.t, s.value, h[i]!));
  const kappa: number[] = series.map(() => 0);
  if (bleachMode === 'cell') prepared.forEach((c, i) => { kappa[i] = minimize1d((k) => linearFit(c, k, drift), 0, kMax); });
  else if (bleachMode === 'patient') {
    const k = minimize1d((kk) => prepared.reduce((acc, c) => acc + linearFit(c, kk, drift), 0), 0, kMax);
    kappa.fill(k);
  }
  const coef = new Float64Array(3);
  const cells: CellObservation[] = series.map((s, i) => {
    const rss = linearFit(prepared[i]!, kappa[i]!, drift, coef);
    const mean = s.value.reduce((a, v) => a + v, 0) / s.value.length;
    const tss = s.value.reduce((a, v) => a + (v - mean) ** 2, 0);
    return { cell: s.cell, scale: coef[0]!, offset: coef[1]!, drift: coef[2]!, bleach: kappa[i]!, sigma: Math.sqrt(rss / s.value.length), rss, tss, n: s.value.length };
  });
  let nll = 0;
  const group = (n: number, rss: number) => 0.5 * n * (Math.log(2 * Math.PI * Math.max(rss, 1e-300) / n) + 1);
  if (sigmaMode === 'cell') for (const c of cells) nll += group(c.n, c.rss);
  else {
    const n = cells.reduce((a, c) => a + c.n, 0), rss = cells.reduce((a, c) => a + c.rss, 0);
    nll = group(n, rss);
    const sigma = Math.sqrt(rss / n);
    for (const c of cells) c.sigma = sigma;
  }
  return { cells, nll };
}

/** The per-measurement observation model of a fitted cell at time t (what the adjoint receives). */
export const observationAt = (c: CellObservation, t: number) => ({ scale: c.scale * Math.exp(-c.bleach * t), offset: c.offset + c.drift * t, sigma: c.sigma });

export interface FrapFit {
  cell: string;
  /** The model's recovery rate k (1/s) the curve was fitted at, and t½ = ln 2 / k. */
  rate: number;
  halfTime: number;
  /** Fitted start y0 and mobile fraction m of value ≈ y0 + m·(1 − e^{−k t}). */
  y0: number;
  mobile: number;
  sigma: number;
  rss: number;
  tss: number;
  n: number;
  nll: number;
  /** dNLL/dk at the fitted y0, m and σ (envelope theorem). */
  dNllDRate: number;
}

/**
 * The FRAP observation model at the recovery rate k the mechanistic model predicts
 * (docs/observation.md, "FRAP"):
 *   value(t) = y0 + m·(1 − e^{−k t}) + ε,   ε ~ N(0, σ²),
 * with y0 and m (the mobile fraction) by linear least squares and σ² = RSS/n, so the fit sees the
 * profiled NLL = (n/2)(log 2πσ² + 1) and, by the envelope theorem,
 *   dNLL/dk = (1/σ²) Σ r_i · ∂r_i/∂k = −(n/RSS) Σ r_i · m·t_i·e^{−k t_i},   r = value − fit.
 * @example
 * const t = Float64Array.from({ length: 50 }, (_, i) => 0.5 * i);
 * const value = t.map((s) => 0.9 * (1 - Math.exp(-0.1 * s)));
 * const fit = fitFrap({ patient: 'P01', cell: 'P01_frap', t, value }, 0.1);
 * fit.mobile; fit.halfTime; // 0.9, 6.93 s
 */
export function fitFrap(curve: FrapCurve, k: number): FrapFit {
  const { t, value } = curve, n = t.length;
  let wMean = 0, yMean = 0;
  for (let i = 0; i < n; i++) { wMean += (1 - Math.exp(-k * t[i]!)) / n; yMean += value[i]! / n; }
  let sww = 0, swy = 0, tss = 0;
  for (let i = 0; i < n; i++) {
    const w = 1 - Math.exp(-k * t[i]!) - wMean, y = value[i]! - yMean;
    sww += w * w; swy += w * y; tss += y * y;
  }
  // No spread in 1 − e^{−kt} (k → 0 or ∞ against the frames): the mean alone.
  const mobile = sww > 1e-300 ? swy / sww : 0, y0 = yMean - mobile * wMean;
  let rss = 0, dot = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(-k * t[i]!), r = value[i]! - (y0 + mobile * (1 - e));
    rss += r * r; dot += r * mobile * t[i]! * e;
  }
  rss = Math.max(rss, 1e-300);
  return {
    cell: curve.cell, rate: k, halfTime: Math.LN2 / k, y0, mobile, sigma: Math.sqrt(rss / n), rss, tss, n,
    nll: 0.5 * n * (Math.log(2 * Math.PI * rss / n) + 1), dNllDRate: -(n / rss) * dot,
  };
}
