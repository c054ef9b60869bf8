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
import { solveDense } from '../solvers/cpu/linalg.js';

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

/** Solves the 3×3 (or 2×2) normal equations of z = a·u + b + d·t; returns [a, b, d] and the RSS. */
function linearFit(u: Float64Array, t: Float64Array, v: Float64Array, drift: boolean): { coef: [number, number, number]; rss: number } {
  const m = drift ? 3 : 2;
  const A = new Float64Array(m * m), r = new Float64Array(m);
  // Columns scaled to unit size and t centred, so the normal equations stay well conditioned
  // (κ is found from small RSS differences); the coefficients are scaled back at the end.
  let su = 0, tMean = 0, st = 0;
  for (let i = 0; i < v.length; i++) { su = Math.max(su, Math.abs(u[i]!)); tMean += t[i]! / v.length; }
  for (let i = 0; i < v.length; i++) st = Math.max(st, Math.abs(t[i]! - tMean));
  su ||= 1; st ||= 1;
  for (let i = 0; i < v.length; i++) {
    const x = [u[i]! / su, 1, (t[i]! - tMean) / st];
    for (let j = 0; j < m; j++) { r[j]! += x[j]! * v[i]!; for (let k = 0; k < m; k++) A[j * m + k]! += x[j]! * x[k]!; }
  }
  // A tiny ridge keeps a constant h (collinear with the offset) solvable; it changes nothing else.
  for (let j = 0; j < m; j++) A[j * m + j]! += 1e-14 * (A[j * m + j]! + 1e-300);
  let z = solveDense(A, r, m);
  if (z[0]! < 0) {
    // An intensity grows with the amount imaged: scale ≥ 0. At the bound (KKT) the others are the
    // least squares of offset and drift alone; the profiled loss stays continuous in h.
    const sub = Array.from({ length: (m - 1) * (m - 1) }, (_, e) => A[(1 + Math.floor(e / (m - 1))) * m + 1 + (e % (m - 1))]!);
    z = Float64Array.of(0, ...solveDense(sub, r.subarray(1), m - 1));
  }
  const coef: [number, number, number] = [z[0]! / su, z[1]! - (m > 2 ? z[2]! * tMean / st : 0), m > 2 ? z[2]! / st : 0];
  let rss = 0;
  for (let i = 0; i < v.length; i++) { const e = coef[0] * u[i]! + coef[1] + coef[2] * t[i]! - v[i]!; rss += e * e; }
  return { coef, rss };
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
  const fitAt = (i: number, k: number) => {
    const s = series[i]!, u = s.t.map((t, j) => h[i]![j]! * Math.exp(-k * t));
    return linearFit(u, s.t, s.value, drift);
  };
  const kappa: number[] = series.map(() => 0);
  if (bleachMode === 'cell') series.forEach((_, i) => { kappa[i] = minimize1d((k) => fitAt(i, k).rss, 0, kMax); });
  else if (bleachMode === 'patient') {
    const k = minimize1d((kk) => series.reduce((acc, _, i) => acc + fitAt(i, kk).rss, 0), 0, kMax);
    kappa.fill(k);
  }
  const cells: CellObservation[] = series.map((s, i) => {
    const { coef, rss } = fitAt(i, kappa[i]!);
    const mean = s.value.reduce((a, v) => a + v, 0) / s.value.length;
    const tss = s.value.reduce((a, v) => a + (v - mean) ** 2, 0);
    return { cell: s.cell, scale: coef[0], offset: coef[1], drift: coef[2], bleach: kappa[i]!, sigma: Math.sqrt(rss / s.value.length), rss, tss, n: s.value.length };
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
