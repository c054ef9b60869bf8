/**
 * The f64 reference integrators: one trajectory at a time, same methods, controller and status
 * rules as the WGSL kernels (src/codegen/kernel.ts). Time and state are accumulated with
 * compensated (Kahan/TwoSum) sums, as on the GPU, so both paths round the same way by design.
 */
import type { ModelF64 } from '../../codegen/compile.js';
import { denseWeight, isAdaptive, type ExplicitTableau, type Method, type RosenbrockTableau } from '../../methods/tableaus.js';
import { CONTROLLER } from '../../methods/controller.js';
import { STATUS } from '../../methods/status.js';
import type { ResolvedOptions } from '../problem.js';
import { luFactor, luSolve } from './linalg.js';

export interface TrajectoryResult {
  status: number;
  steps: number;
  rejected: number;
  rhsEvals: number;
  /** The time reached: t1 on success, where the trajectory stopped otherwise. */
  t: number;
}

/**
 * What the adjoint needs to replay a solve (src/training/adjoint.ts): per accepted step its start
 * time (th + tl), size and the save counter after it; the state only every `every` steps
 * (checkpoints), so memory grows with the checkpoints, plus three scalars per step.
 */
export class StepTrace {
  readonly th: number[] = [];
  readonly tl: number[] = [];
  readonly h: number[] = [];
  readonly saveEnd: number[] = [];
  readonly checkpoints: Float64Array[] = [];
  /** Save times written at t0, before the first step. */
  savesAtStart = 0;
  constructor(readonly every: number) {}
  accept(th: number, tl: number, h: number, yBefore: Float64Array, saveAfter: number) {
    if (this.h.length % this.every === 0) this.checkpoints.push(Float64Array.from(yBefore));
    this.th.push(th); this.tl.push(tl); this.h.push(h); this.saveEnd.push(saveAfter);
  }
}

/** Work arrays sized for one model, reused across the trajectories of a chunk. */
export class Workspace {
  readonly k: Float64Array[];
  readonly y: Float64Array;
  readonly yc: Float64Array;
  readonly ynew: Float64Array;
  readonly tmp: Float64Array;
  readonly err: Float64Array;
  readonly J: Float64Array;
  readonly W: Float64Array;
  readonly perm: Int32Array;
  readonly dT: Float64Array;
  readonly lin: Float64Array;
  /** For Rosenbrock methods: f at the step's start and at the current stage. */
  readonly f0: Float64Array;
  readonly fs: Float64Array;
  /** Dense-output weights b_j(θ) of one save. */
  readonly denseW: Float64Array;
  constructor(readonly N: number, stages: number) {
    this.k = Array.from({ length: stages }, () => new Float64Array(N));
    this.f0 = new Float64Array(N);
    this.fs = new Float64Array(N);
    this.denseW = new Float64Array(stages);
    this.lin = new Float64Array(N);
    this.y = new Float64Array(N);
    this.yc = new Float64Array(N);
    this.ynew = new Float64Array(N);
    this.tmp = new Float64Array(N);
    this.err = new Float64Array(N);
    this.J = new Float64Array(N * N);
    this.W = new Float64Array(N * N);
    this.perm = new Int32Array(N);
    this.dT = new Float64Array(N);
  }
}

const EPS = Number.EPSILON;
/** t counts as t1 once within this many ulps of it (the rest is rounding in the sum of steps). */
const END_SLACK = 8 * EPS;
/**
 * The step to take towards a target `distance` away: the whole distance when h would overshoot it
 * or stop short by a sliver (< 1e-6·h, or so close to t that the underflow test would refuse it).
 */
export const landOn = (h: number, distance: number, t: number) =>
  (distance <= h * (1 + 1e-6) + 16 * EPS * Math.abs(t) ? distance : h);
const isFiniteArray = (a: Float64Array) => { for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false; return true; };

/** Projects a saved state out[o … o+N) in place (saved states lie on the manifold too). */
function projectInPlace(fns: ModelF64, t: number, out: Float64Array, o: number, N: number, p: Float64Array, scratch: Float64Array) {
  fns.project!(t, out.subarray(o, o + N), p, scratch);
  out.set(scratch.subarray(0, N), o);
}

/** Applies the model's projection (if any) to y in place after an accepted step; true if it did. */
function project(fns: ModelF64, t: number, y: Float64Array, p: Float64Array, scratch: Float64Array): boolean {
  if (!fns.project) return false;
  fns.project(t, y, p, scratch);
  y.set(scratch);
  return true;
}

/** RMS of e_i / (atol + rtol·max(|y_i|, |ynew_i|)) — Hairer's scaled error norm. */
function scaledNorm(e: Float64Array, y: Float64Array, ynew: Float64Array, rtol: number, atol: number): number {
  let s = 0;
  for (let i = 0; i < e.length; i++) {
    const sk = atol + rtol * Math.max(Math.abs(y[i]!), Math.abs(ynew[i]!));
    const r = e[i]! / sk;
    s += r * r;
  }
  return Math.sqrt(s / e.length);
}

/**
 * Hairer's starting step (HNW I, §II.4, DOPRI5's HINIT): h₀ from ‖y₀‖/‖f₀‖, refined with one
 * explicit Euler step so that h^(q+1)·max(‖f'‖, ‖f₀‖) ≈ 0.01.
 */
export function initialStep(
  f: ModelF64['rhs'], t0: number, y0: Float64Array, f0: Float64Array, p: Float64Array, order: number,
  rtol: number, atol: number, hmax: number, y1: Float64Array, f1: Float64Array,
): number {
  const N = y0.length;
  let dnf = 0, dny = 0;
  for (let i = 0; i < N; i++) {
    const sk = atol + rtol * Math.abs(y0[i]!);
    dnf += (f0[i]! / sk) ** 2;
    dny += (y0[i]! / sk) ** 2;
  }
  dnf /= N; dny /= N;
  let h = dnf <= 1e-10 || dny <= 1e-10 ? 1e-6 : Math.sqrt(dny / dnf) * 0.01;
  h = Math.min(h, hmax);
  for (let i = 0; i < N; i++) y1[i] = y0[i]! + h * f0[i]!;
  f(t0 + h, y1, p, f1);
  let der2 = 0;
  for (let i = 0; i < N; i++) {
    const sk = atol + rtol * Math.abs(y0[i]!);
    der2 += ((f1[i]! - f0[i]!) / sk) ** 2;
  }
  der2 = Math.sqrt(der2 / N) / h;
  const der12 = Math.max(Math.abs(der2), Math.sqrt(dnf));
  const h1 = der12 <= 1e-15 || !Number.isFinite(der12) ? Math.max(1e-6, h * 1e-3) : (0.01 / der12) ** (1 / order);
  const hNew = Math.min(100 * h, h1, hmax);
  return Number.isFinite(hNew) && hNew > 0 ? hNew : Math.min(1e-6, hmax);
}

/**
 * Integrates one trajectory from `y0` over [t0, t1], writing y at each save time into
 * `out[outOffset + s·N + i]`. Save times never reached (a failed trajectory) stay NaN.
 */
export function integrateTrajectory(
  method: Method, fns: ModelF64, y0: Float64Array, p: Float64Array, t0: number, t1: number,
  saveat: Float64Array, opts: ResolvedOptions, out: Float64Array, outOffset: number, ws: Workspace,
  trace?: StepTrace,
): TrajectoryResult {
  const N = ws.N;
  for (let s = 0; s < saveat.length; s++) out.fill(NaN, outOffset + s * N, outOffset + (s + 1) * N);
  const y = ws.y, yc = ws.yc;
  y.set(y0);
  yc.fill(0);
  let save = 0;
  const writeSave = (src: Float64Array) => { out.set(src, outOffset + save * N); save++; };
  while (save < saveat.length && saveat[save]! <= t0) writeSave(y);
  const res: TrajectoryResult = { status: STATUS.running, steps: 0, rejected: 0, rhsEvals: 0, t: t0 };
  if (trace) trace.savesAtStart = save;
  if (!isFiniteArray(y) || !isFiniteArray(p)) { res.status = STATUS.non_finite; return res; }
  if (method.kind === 'rosenbrock') return rosenbrock(method, fns, p, t0, t1, saveat, opts, out, outOffset, ws, res, save, trace);
  return explicitRK(method, fns, p, t0, t1, saveat, opts, out, outOffset, ws, res, save, trace);
}

function explicitRK(
  tab: ExplicitTableau, fns: ModelF64, p: Float64Array, t0: number, t1: number, saveat: Float64Array,
  opts: ResolvedOptions, out: Float64Array, outOffset: number, ws: Workspace, res: TrajectoryResult, save: number,
  trace?: StepTrace,
): TrajectoryResult {
  const { N, k, y, yc, ynew, tmp, err, denseW: dw } = ws;
  const nStages = tab.c.length;
  const adaptive = isAdaptive(tab) && !opts.fixedStep;
  const f = fns.rhs;
  // Time as an unevaluated sum th + tl (TwoSum), so that many small steps do not drift.
  let th = t0, tl = 0;
  f(th, y, p, k[0]!);
  res.rhsEvals++;
  if (!isFiniteArray(k[0]!)) { res.status = STATUS.non_finite; return res; }
  const hmax = t1 - t0;
  let h = adaptive
    ? initialStep(f, t0, y, k[0]!, p, tab.order, opts.rtol, opts.atol, hmax, tmp, k[1]!)
    : opts.dt;
  if (adaptive) res.rhsEvals++;
  const expo = 1 / (tab.errorOrder ?? tab.order) - 0.75 * CONTROLLER.betaFor(tab);
  const beta = CONTROLLER.betaFor(tab);
  let errPrev = 1e-4;
  let lastRejected = false, lastNonFinite = false;

  for (;;) {
    const remaining = (t1 - th) - tl;
    if (remaining <= END_SLACK * Math.abs(t1)) { res.status = STATUS.success; break; }
    if (res.steps + res.rejected >= opts.maxSteps) { res.status = STATUS.max_steps; break; }
    // Fixed-step methods land exactly on save times (no dense output); all land on t1.
    let hs = landOn(h, remaining, th);
    if (!tab.dense && save < saveat.length) hs = landOn(hs, (saveat[save]! - th) - tl, th);
    if (opts.steps) hs = opts.steps[res.steps] ?? remaining; // a recorded step sequence, replayed exactly
    if (hs <= EPS * Math.abs(th) || !(hs > 0)) {
      res.status = lastNonFinite ? STATUS.non_finite : STATUS.dt_underflow;
      break;
    }
    // Stages.
    for (let s = 1; s < nStages; s++) {
      const as = tab.a[s]!;
      for (let i = 0; i < N; i++) {
        let acc = 0;
        for (let j = 0; j < s; j++) acc += as[j]! * k[j]![i]!;
        tmp[i] = y[i]! + hs * acc;
      }
      if (s === nStages - 1 && tab.fsal) {
        // The last FSAL stage is evaluated at y₁ itself; compute y₁ with the compensated sum.
        break;
      }
      f(th + tab.c[s]! * hs, tmp, p, k[s]!);
      res.rhsEvals++;
    }
    // y₁ = y + h Σ b_i k_i, with Kahan compensation carried in yc.
    for (let i = 0; i < N; i++) {
      let acc = 0;
      for (let j = 0; j < nStages; j++) if (tab.b[j] !== 0) acc += tab.b[j]! * k[j]![i]!;
      const v = hs * acc - yc[i]!;
      ynew[i] = y[i]! + v;
      tmp[i] = (ynew[i]! - y[i]!) - v; // candidate compensation, committed on acceptance
    }
    if (tab.fsal) { f(th + hs, ynew, p, k[nStages - 1]!); res.rhsEvals++; }

    let errNorm = 0;
    if (adaptive) {
      for (let i = 0; i < N; i++) {
        let acc = 0;
        for (let j = 0; j < nStages; j++) acc += tab.btilde![j]! * k[j]![i]!;
        err[i] = hs * acc;
      }
      errNorm = scaledNorm(err, y, ynew, opts.rtol, opts.atol);
    }
    const finite = Number.isFinite(errNorm) && isFiniteArray(ynew) && (!tab.fsal || isFiniteArray(k[nStages - 1]!));
    if (!finite) {
      if (!adaptive) { res.status = STATUS.non_finite; break; }
      res.rejected++;
      lastNonFinite = true; lastRejected = true;
      h = hs * CONTROLLER.nonFiniteShrink;
      continue;
    }
    lastNonFinite = false;
    if (adaptive && errNorm > 1) {
      res.rejected++;
      const fac11 = errNorm ** expo;
      h = hs / Math.min(1 / CONTROLLER.minShrink, fac11 / CONTROLLER.safety);
      lastRejected = true;
      continue;
    }
    // Accepted: emit save points inside (t, t + h] by dense output, then advance.
    while (save < saveat.length && (saveat[save]! - th) - tl <= hs * (1 + 4 * EPS)) {
      const ts = saveat[save]!;
      const theta = ((ts - th) - tl) / hs;
      if (!tab.dense || theta >= 1) {
        out.set(ynew, outOffset + save * N);
      } else {
        // b_j(θ) in Horner form, as the shader evaluates it (denseWeight / denseWeightWgsl): once per save.
        for (let j = 0; j < nStages; j++) dw[j] = denseWeight(tab.dense[j]!, theta);
        for (let i = 0; i < N; i++) {
          let acc = 0;
          for (let j = 0; j < nStages; j++) acc += dw[j]! * k[j]![i]!;
          out[outOffset + save * N + i] = y[i]! + hs * acc;
        }
      }
      if (fns.project) projectInPlace(fns, saveat[save]!, out, outOffset + save * N, N, p, err);
      save++;
    }
    trace?.accept(th, tl, hs, y, save);
    // t += h as a TwoSum.
    const sHi = th + hs, bp = sHi - th, e = (th - (sHi - bp)) + (hs - bp);
    const lo = tl + e;
    th = sHi + lo; tl = lo - (th - sHi);
    res.t = th + tl;
    y.set(ynew);
    yc.set(tmp);
    const projected = project(fns, th, y, p, err);
    res.steps++;
    if (tab.fsal && !projected) k[0]!.set(k[nStages - 1]!);
    else { f(th, y, p, k[0]!); res.rhsEvals++; }
    if (adaptive) {
      const fac11 = errNorm ** expo;
      const fac = Math.max(1 / CONTROLLER.maxGrowth, Math.min(1 / CONTROLLER.minShrink, fac11 / errPrev ** beta / CONTROLLER.safety));
      let hNew = hs / fac;
      if (lastRejected) hNew = Math.min(hNew, hs);
      errPrev = Math.max(errNorm, 1e-4);
      h = hNew;
      lastRejected = false;
    }
  }
  return res;
}

/** y₁ = y + Σ w_j U_j with the Kahan compensation `yc` of earlier steps; the new compensation goes to `ycNew`. */
function compensatedUpdate(y: Float64Array, yc: Float64Array, U: Float64Array[], w: number[], ynew: Float64Array, ycNew: Float64Array) {
  for (let i = 0; i < y.length; i++) {
    let acc = 0;
    for (let j = 0; j < w.length; j++) if (w[j] !== 0) acc += w[j]! * U[j]![i]!;
    const v = acc - yc[i]!;
    ynew[i] = y[i]! + v;
    ycNew[i] = (ynew[i]! - y[i]!) - v;
  }
}

/** One step of any Rosenbrock tableau (see `RosenbrockTableau` for the stage equations). */
function rosenbrock(
  tab: RosenbrockTableau, fns: ModelF64, p: Float64Array, t0: number, t1: number, saveat: Float64Array,
  opts: ResolvedOptions, out: Float64Array, outOffset: number, ws: Workspace, res: TrajectoryResult, save: number,
  trace?: StepTrace,
): TrajectoryResult {
  const { N, y, yc, ynew, tmp, err, J, W, perm, dT, lin, f0, fs } = ws;
  const U = ws.k;
  const nStages = tab.c.length;
  const f = fns.rhs;
  let th = t0, tl = 0;
  f(th, y, p, f0);
  res.rhsEvals++;
  if (!isFiniteArray(f0)) { res.status = STATUS.non_finite; return res; }
  const adaptive = !opts.fixedStep;
  let h = adaptive ? initialStep(f, t0, y, f0, p, tab.errorOrder, opts.rtol, opts.atol, t1 - t0, tmp, fs) : opts.dt;
  if (adaptive) res.rhsEvals++;
  const expo = 1 / tab.errorOrder;
  let lastRejected = false, lastNonFinite = false;

  for (;;) {
    const remaining = (t1 - th) - tl;
    if (remaining <= END_SLACK * Math.abs(t1)) { res.status = STATUS.success; break; }
    if (res.steps + res.rejected >= opts.maxSteps) { res.status = STATUS.max_steps; break; }
    // Without a dense output the step lands exactly on the next save time.
    let hs = landOn(h, remaining, th);
    if (!tab.dense && save < saveat.length) hs = landOn(hs, (saveat[save]! - th) - tl, th);
    if (opts.steps) hs = opts.steps[res.steps] ?? remaining;
    if (hs <= EPS * Math.abs(th) || !(hs > 0)) { res.status = lastNonFinite ? STATUS.non_finite : STATUS.dt_underflow; break; }

    // W = I/(hγ) − J, factored once for all stages.
    fns.jacobian(th, y, p, J);
    fns.timeDerivative(th, y, p, dT);
    const inv = 1 / (hs * tab.gamma);
    for (let i = 0; i < N * N; i++) W[i] = -J[i]!;
    for (let i = 0; i < N; i++) W[i * N + i]! += inv;
    let ok = luFactor(W, perm, N);
    for (let s = 0; ok && s < nStages; s++) {
      const as = tab.a[s]!, Cs = tab.C[s]!, Us = U[s]!;
      if (s === 0) fs.set(f0);
      else {
        if (tab.fsal && s === nStages - 1) { compensatedUpdate(y, yc, U, tab.m, ynew, tmp); f(th + hs, ynew, p, fs); }
        else {
          for (let i = 0; i < N; i++) {
            let acc = y[i]!;
            for (let j = 0; j < s; j++) acc += as[j]! * U[j]![i]!;
            tmp[i] = acc;
          }
          f(th + tab.c[s]! * hs, tmp, p, fs);
        }
        res.rhsEvals++;
      }
      const hd = hs * tab.d[s]!;
      for (let i = 0; i < N; i++) {
        let acc = fs[i]! + hd * dT[i]!;
        for (let j = 0; j < s; j++) acc += (Cs[j]! / hs) * U[j]![i]!;
        Us[i] = acc;
      }
      luSolve(W, perm, N, Us, lin);
    }
    let errNorm = Infinity;
    if (ok) {
      if (!tab.fsal) compensatedUpdate(y, yc, U, tab.m, ynew, tmp);
      for (let i = 0; i < N; i++) {
        let acc = 0;
        for (let j = 0; j < nStages; j++) if (tab.e[j] !== 0) acc += tab.e[j]! * U[j]![i]!;
        err[i] = acc;
      }
      errNorm = scaledNorm(err, y, ynew, opts.rtol, opts.atol);
      ok = Number.isFinite(errNorm) && isFiniteArray(ynew) && (!tab.fsal || isFiniteArray(fs));
    }
    if (!ok) {
      // Fixed steps are the caller's: a non-finite trial ends the trajectory, as for explicit methods.
      if (!adaptive) { res.status = STATUS.non_finite; break; }
      res.rejected++;
      lastNonFinite = true; lastRejected = true;
      h = hs * CONTROLLER.nonFiniteShrink;
      continue;
    }
    lastNonFinite = false;
    const fac11 = errNorm ** expo;
    if (adaptive && errNorm > 1) {
      res.rejected++;
      h = hs / Math.min(1 / CONTROLLER.minShrink, fac11 / CONTROLLER.safety);
      lastRejected = true;
      continue;
    }
    while (save < saveat.length && (saveat[save]! - th) - tl <= hs * (1 + 4 * EPS)) {
      const theta = ((saveat[save]! - th) - tl) / hs;
      const dense = tab.dense;
      if (theta >= 1 || !dense) out.set(ynew, outOffset + save * N);
      else {
        const o = outOffset + save * N, w = theta * (1 - theta);
        for (let i = 0; i < N; i++) {
          let acc = 0;
          for (let j = 0; j < nStages; j++) acc += (theta * tab.m[j]! + w * (dense.h2[j]! + theta * dense.h3[j]!)) * U[j]![i]!;
          out[o + i] = y[i]! + acc;
        }
      }
      if (fns.project) projectInPlace(fns, saveat[save]!, out, outOffset + save * N, N, p, err);
      save++;
    }
    trace?.accept(th, tl, hs, y, save);
    const sHi = th + hs, bp = sHi - th, e = (th - (sHi - bp)) + (hs - bp);
    const lo = tl + e;
    th = sHi + lo; tl = lo - (th - sHi);
    res.t = th + tl;
    y.set(ynew);
    yc.set(tmp);
    const projected = project(fns, th, y, p, err);
    res.steps++;
    if (tab.fsal && !projected) f0.set(fs);
    else { f(th, y, p, f0); res.rhsEvals++; }
    const fac = Math.max(1 / CONTROLLER.maxGrowth, Math.min(1 / CONTROLLER.minShrink, fac11 / CONTROLLER.safety));
    let hNew = hs / fac;
    if (lastRejected) hNew = Math.min(hNew, hs);
    if (adaptive) h = hNew;
    lastRejected = false;
  }
  return res;
}
