/**
 * Fitting: batched multi-start optimisation, one start per trajectory of the batch, each with its
 * own parameter vector, so that S starts cost one batched solve per iteration.
 *
 * Parameters are optimised in an unconstrained space (Nocedal & Wright, ch. 17 use the same idea):
 *   linear, no bounds → x = p;  log scale → x = log p;  bounds [a, b] → p = a + (b − a)·σ(x)
 *   (on log p when the scale is log). Gradients are chained through dp/dx.
 * Optimisers: Adam (Kingma & Ba 2015) and L-BFGS (Nocedal & Wright Alg. 7.4, memory 10) with a
 * backtracking Armijo line search run for all starts at once. Starts are drawn from the bounds with
 * a seeded generator, so a fit is reproducible bit for bit.
 */
import type { Model } from '../physics/model.js';
import { splitmix32 } from '../physics/neural.js';
import { ProblemError, remake, type EnsembleProblem } from '../solvers/problem.js';
import type { GradientOptions } from './adjoint.js';
import { gradient } from './gradient.js';
import type { LossTerms, Observations } from './loss.js';

export interface FitOptions {
  /** Parameter names to estimate (default: those marked `estimate: true` in the model). */
  estimate?: string[];
  /** Number of starts (default 8); start 0 is the model's (or the problem's first row's) values. */
  starts?: number;
  seed?: number;
  optimizer?: 'lbfgs' | 'adam';
  maxIterations?: number;
  /** Adam learning rate in the unconstrained space (default 0.05). */
  learningRate?: number;
  /** Stop a start when its relative loss decrease stays below this for `patience` iterations. */
  tolerance?: number;
  patience?: number;
  solver?: GradientOptions;
  terms?: LossTerms;
  onIteration?: (iteration: number, bestLoss: number) => void;
  /**
   * With `solver.backend: 'gpu'` (an f32 search): at most this many L-BFGS iterations more on the
   * f64 CPU adjoint for the rows the search left far from a stationary point (default 30; 0: none).
   */
  finishIterations?: number;
}

/**
 * How a start ended (compare scipy's L-BFGS-B messages):
 * - `converged`: the relative loss decrease stayed below `tolerance` for `patience` iterations, or
 *   the line search found no decrease at a point where the gradient is ~0 (‖∂L/∂x‖∞ ≤ 1e-6·max(1, |L|));
 * - `max_iterations`: still improving when `maxIterations` ran out;
 * - `line_search_failed`: L-BFGS found no decrease along a descent direction although the gradient
 *   is not small (a loss with a jump, or a gradient that does not match the loss);
 * - `non_finite`: the loss or its gradient is NaN/Inf at the start's point (a failed solve, or a
 *   model whose derivatives are infinite there).
 */
export type FitStatus = 'converged' | 'max_iterations' | 'line_search_failed' | 'non_finite';

export interface StartResult {
  params: Float64Array;
  loss: number;
  iterations: number;
  status: FitStatus;
  /** status === 'converged'. */
  converged: boolean;
}

export interface FitResult {
  /** Names of the estimated parameters, and the best start's full parameter vector (model order). */
  estimated: string[];
  best: StartResult;
  starts: StartResult[];
  /** Best loss after each iteration (for plots and early-stopping reports). */
  history: number[];
}

export interface Transform { toX(p: number): number; toP(x: number): number; dpdx(x: number): number }

/** The unconstrained parametrisation of one parameter (see the file comment). */
export function transformFor(q: { scale?: 'linear' | 'log'; min?: number; max?: number; name: string }): Transform {
  const log = q.scale === 'log';
  if (log && q.min !== undefined && !(q.min > 0)) throw new ProblemError(`parameter "${q.name}" is on a log scale but its min is ${q.min}; give a positive min`);
  const lo = q.min === undefined ? undefined : log ? Math.log(q.min) : q.min;
  const hi = q.max === undefined ? undefined : log ? Math.log(q.max) : q.max;
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  // u is the (log-)parameter; p = exp(u) on a log scale.
  const inner: Transform = lo !== undefined && hi !== undefined
    ? { toX: (u) => { const s = Math.min(Math.max((u - lo) / (hi - lo), 1e-12), 1 - 1e-12); return Math.log(s / (1 - s)); },
      toP: (x) => lo + (hi - lo) * sig(x), dpdx: (x) => (hi - lo) * sig(x) * (1 - sig(x)) }
    : { toX: (u) => u, toP: (x) => x, dpdx: () => 1 };
  if (!log) return inner;
  // exp(log(max)) may round just above max: clamp to the declared bounds.
  const clamp = (p: number) => Math.min(Math.max(p, q.min ?? 0), q.max ?? Infinity);
  return { toX: (p) => inner.toX(Math.log(p)), toP: (x) => clamp(Math.exp(inner.toP(x))), dpdx: (x) => Math.exp(inner.toP(x)) * inner.dpdx(x) };
}

/**
 * Fits one data set (`data`, all on trajectory 0) from several starts. Returns every start's
 * optimum and the best one.
 * @example
 * const r = await fit(problem, observations, { estimate: ['c_sat', 'k_phi'], starts: 8, seed: 1 });
 * r.best.status; // 'converged' | 'max_iterations' | 'line_search_failed' | 'non_finite'
 */
export async function fit(problem: EnsembleProblem, data: Observations, options: FitOptions = {}): Promise<FitResult> {
  const model: Model = problem.model;
  const { names, idx, tf } = estimated(model, options.estimate);
  const nStarts = options.starts ?? 8, K = idx.length, P = model.params.length, N = model.states.length;
  const rand = splitmix32(options.seed ?? 1);
  const base = problem.params.subarray(0, P);
  // Starts: 0 = the given values; the others uniform in the unconstrained box of the bounds
  // (log-uniform for log parameters), or ±1 around the given value where a bound is missing.
  const x = new Float64Array(nStarts * K);
  for (let s = 0; s < nStarts; s++) {
    idx.forEach((i, k) => {
      const x0 = tf[k]!.toX(base[i]!);
      const q = model.params[i]!;
      const bounded = q.min !== undefined && q.max !== undefined;
      x[s * K + k] = s === 0 ? x0 : bounded ? tf[k]!.toX(fromUnit(q, rand())) : x0 + (2 * rand() - 1);
    });
  }
  const params = new Float64Array(nStarts * P), initial = new Float64Array(nStarts * N);
  for (let s = 0; s < nStarts; s++) { params.set(base, s * P); initial.set(problem.initial.subarray(0, N), s * N); }
  const replicated: Observations = { observables: data.observables, data: Array.from({ length: nStarts }, (_, s) => data.data.map((d) => ({ ...d, traj: s }))).flat() };
  const r = await optimizeBatch(remake(problem, { batch: nStarts, params, initial }), replicated, idx, tf, x, options);
  const best = r.starts.reduce((a, b) => (b.loss < a.loss ? b : a));
  return { estimated: names, best, starts: r.starts, history: r.history };
}

/**
 * Fits every trajectory of a cohort to its own data (`Datum.traj`), each from its own current
 * parameters, all in one batched optimisation (per-patient twins): one solve per iteration.
 * @example
 * const { trajectories } = await fitCohort(problem, observations, { estimate: ['c_sat'] }); // one twin per trajectory
 */
export async function fitCohort(problem: EnsembleProblem, data: Observations, options: FitOptions = {}): Promise<{ estimated: string[]; trajectories: StartResult[]; history: number[] }> {
  const { names, idx, tf } = estimated(problem.model, options.estimate);
  const K = idx.length, P = problem.model.params.length, B = problem.batch;
  const x = new Float64Array(B * K);
  for (let b = 0; b < B; b++) idx.forEach((i, k) => { x[b * K + k] = tf[k]!.toX(problem.params[b * P + i]!); });
  const r = await optimizeBatch(problem, data, idx, tf, x, options);
  return { estimated: names, trajectories: r.starts, history: r.history };
}

function estimated(model: Model, estimate?: string[]) {
  const names = estimate ?? model.params.filter((q) => q.estimate).map((q) => q.name);
  if (names.length === 0) throw new ProblemError('nothing to estimate: mark parameters with "estimate": true or pass `estimate`');
  const idx = names.map((n) => {
    const i = model.params.findIndex((q) => q.name === n);
    if (i < 0) throw new ProblemError(`cannot estimate "${n}": not a parameter of the model`);
    return i;
  });
  return { names, idx, tf: idx.map((i) => transformFor(model.params[i]!)) };
}

/**
 * A batch of independent objectives, row b of x (B × K) being row b's unknowns: the losses of the
 * rows in `which` (all when undefined; others may be NaN) and, with `gradient`, ∂loss/∂x (B × K).
 */
export type BatchObjective = (xs: Float64Array, which: Uint8Array | undefined, gradient: boolean) => Promise<{ loss: Float64Array; gx: Float64Array }>;

export interface MinimizeOptions {
  optimizer?: 'lbfgs' | 'adam';
  maxIterations?: number;
  learningRate?: number;
  tolerance?: number;
  patience?: number;
  onIteration?: (iteration: number, bestLoss: number) => void;
}

/**
 * Minimises every row of a batch objective at once (one objective call per iteration for all
 * rows; the line search asks only for the rows still searching). Deterministic: no randomness.
 */
export async function minimizeBatch(x0: Float64Array, B: number, K: number, objective: BatchObjective, options: MinimizeOptions = {}) {
  const x = Float64Array.from(x0);
  const maxIter = options.maxIterations ?? 200, tol = options.tolerance ?? 1e-8, patience = options.patience ?? 5;
  const active = new Uint8Array(B).fill(1), iterations = new Uint32Array(B), stall = new Uint32Array(B);
  const status: Array<FitStatus | undefined> = new Array(B);
  const history: number[] = [];
  let { loss, gx } = await objective(x, undefined, true);
  const finiteAt = (b: number) => Number.isFinite(loss[b]!) && gx.subarray(b * K, (b + 1) * K).every(Number.isFinite);
  const gradientSmall = (b: number) => gx.subarray(b * K, (b + 1) * K).every((g) => Math.abs(g) <= 1e-6 * Math.max(1, Math.abs(loss[b]!)));
  for (let b = 0; b < B; b++) if (!finiteAt(b)) { status[b] = 'non_finite'; active[b] = 0; }
  const stepAll = options.optimizer === 'adam' ? adam(B, K, options.learningRate ?? 0.05) : lbfgs(B, K);
  // Rows whose line search failed once: they start again from steepest descent (`restart`, the
  // L-BFGS memory dropped), and fail only if that fails too. On a loss made rugged by the solver's
  // step control (near the condensation threshold, where φ is tiny) a stale curvature pair can point
  // where no step decreases it; 3 % of the bench cohort's rows stopped there, 10–30 % off (issue 15).
  const restart = new Uint8Array(B), restarted = new Uint8Array(B);
  for (let it = 0; it < maxIter && active.some((a) => a); it++) {
    const next = await stepAll(x, loss, gx, active, async (xs, which) => (await objective(xs, which, false)).loss, restart);
    restart.fill(0);
    // Only the rows still optimising: finished rows keep their point, so their loss is not needed.
    const e = await objective(next.x, active.every((a) => a) ? undefined : Uint8Array.from(active), true);
    const stalled = new Uint8Array(B);
    for (let b = 0; b < B; b++) {
      if (!active[b]) continue;
      iterations[b]!++;
      const rel = (loss[b]! - e.loss[b]!) / Math.max(Math.abs(loss[b]!), 1e-300);
      stall[b] = Number.isFinite(e.loss[b]!) && rel < tol ? stall[b]! + 1 : 0;
      stalled[b] = stall[b]! >= patience ? 1 : 0;
    }
    // Rows that finished keep their last point and loss.
    for (let b = 0; b < B; b++) {
      if (!active[b]) continue;
      x.set(next.x.subarray(b * K, (b + 1) * K), b * K);
      loss[b] = e.loss[b]!;
      gx.set(e.gx.subarray(b * K, (b + 1) * K), b * K);
    }
    for (let b = 0; b < B; b++) {
      if (!active[b]) continue;
      if (!finiteAt(b)) status[b] = 'non_finite';
      else if (stalled[b]) status[b] = 'converged';
      else if (!next.stuck[b]) restarted[b] = 0;
      else if (gradientSmall(b)) status[b] = 'converged';
      else if (restarted[b]) status[b] = 'line_search_failed';
      else restart[b] = restarted[b] = 1;
      if (status[b]) active[b] = 0;
    }
    let best = Infinity;
    for (const l of loss) if (l < best) best = l;
    history.push(best);
    options.onIteration?.(it, best);
  }
  return { x, loss, gx, iterations, status: Array.from({ length: B }, (_, b): FitStatus => status[b] ?? 'max_iterations'), history };
}

/** The optimisation loop shared by `fit` and `fitCohort`: row b of x is trajectory b's unknowns. */
async function optimizeBatch(problem: EnsembleProblem, data: Observations, idx: number[], tf: Transform[], x: Float64Array, options: FitOptions) {
  const B = problem.batch, K = idx.length, P = problem.model.params.length, N = problem.model.states.length;
  const paramsAt = (xs: Float64Array) => {
    const p = Float64Array.from(problem.params);
    for (let b = 0; b < B; b++) idx.forEach((i, k) => { p[b * P + i] = tf[k]!.toP(xs[b * K + k]!); });
    return p;
  };
  // Each row's data, copied once: a subset's call renumbers their `traj` in place rather than
  // copying 50 objects a row per call (the copies were most of a GPU fit's garbage collection).
  const byTraj: Array<typeof data.data> = Array.from({ length: B }, () => []);
  for (const d of data.data) byTraj[d.traj]?.push({ ...d });
  // Only the rows asked for are solved: a line search rarely needs all of them, and rows that
  // finished need no more gradients. Rows not asked for get NaN.
  const objectiveOn = (solver: GradientOptions | undefined): BatchObjective => async (xs, which, withGradient) => {
    let rows: number[] | undefined;
    if (which) { rows = []; for (let b = 0; b < B; b++) if (which[b]) rows.push(b); }
    const loss = new Float64Array(B).fill(NaN), gx = new Float64Array(withGradient ? B * K : 0).fill(NaN);
    if (rows?.length === 0) return { loss, gx };
    const all = paramsAt(xs);
    let sub: EnsembleProblem, subData: Observations;
    if (rows === undefined) { sub = remake(problem, { params: all }); subData = data; } else {
      const params = new Float64Array(rows.length * P), initial = new Float64Array(rows.length * N);
      rows.forEach((b, r) => { params.set(all.subarray(b * P, (b + 1) * P), r * P); initial.set(problem.initial.subarray(b * N, (b + 1) * N), r * N); });
      sub = remake(problem, { batch: rows.length, params, initial });
      let size = 0;
      for (const b of rows) size += byTraj[b]!.length;
      const subset: typeof data.data = new Array(size);
      let j = 0;
      rows.forEach((b, r) => { for (const d of byTraj[b]!) { d.traj = r; subset[j++] = d; } });
      subData = { observables: data.observables, data: subset };
    }
    const g = await gradient(sub, subData, options.terms ?? {}, { ...solver, lossOnly: !withGradient });
    (rows ?? Array.from({ length: B }, (_, b) => b)).forEach((b, r) => {
      loss[b] = g.lossPerTrajectory[r]!;
      if (withGradient) idx.forEach((i, k) => { gx[b * K + k] = g.params[r * P + i]! * tf[k]!.dpdx(xs[b * K + k]!); });
    });
    return { loss, gx };
  };
  const r = await minimizeBatch(x, B, K, objectiveOn(options.solver), options);
  if (options.solver?.backend === 'gpu') await finishInF64(r, B, K, objectiveOn({ ...options.solver, backend: 'cpu' }), options);
  const finalParams = paramsAt(r.x);
  const starts: StartResult[] = Array.from({ length: B }, (_, b) => {
    const st = r.status[b]!;
    return { params: finalParams.slice(b * P, (b + 1) * P), loss: r.loss[b]!, iterations: r.iterations[b]!, status: st, converged: st === 'converged' };
  });
  return { starts, history: r.history };
}

/**
 * Mixed precision: the rows an f32 (GPU) search left far from a stationary point get up to
 * `finishIterations` L-BFGS iterations more on the f64 CPU adjoint, from fresh L-BFGS memory.
 * "Far": the line search failed while ‖∂L/∂x‖∞ > max(1, |L|), a gradient that a unit step in x
 * would turn into a decrease as large as the loss itself. Such rows sit in narrow curved valleys
 * where the f32 gradient's error across the valley outweighs its component along it: in the bench
 * cohort 13 of 1024 rows stopped 25–30 % off (loss 4–25 above the f64 fit's) with ‖g‖ ≥ 96, while
 * the f32 gradient of 99 % of the others was below 50 (issue 15).
 */
export async function finishInF64(r: Awaited<ReturnType<typeof minimizeBatch>>, B: number, K: number, f64: BatchObjective, options: FitOptions) {
  const iterations = options.finishIterations ?? 30;
  const far = (b: number) => {
    let g = 0;
    for (let k = 0; k < K; k++) g = Math.max(g, Math.abs(r.gx[b * K + k]!));
    return g > Math.max(1, Math.abs(r.loss[b]!));
  };
  const rows: number[] = [];
  for (let b = 0; b < B; b++) if (r.status[b] === 'line_search_failed' && far(b)) rows.push(b);
  if (iterations <= 0 || rows.length === 0) return;
  const R = rows.length;
  const gather = (from: Float64Array, width: number) => {
    const out = new Float64Array(R * width);
    rows.forEach((b, j) => out.set(from.subarray(b * width, (b + 1) * width), j * width));
    return out;
  };
  // The f64 objective on these rows alone: their unknowns placed back in a full batch's rows.
  const onRows: BatchObjective = async (xs, which, withGradient) => {
    const full = Float64Array.from(r.x), ask = new Uint8Array(B);
    rows.forEach((b, j) => { if (!which || which[j]) { ask[b] = 1; full.set(xs.subarray(j * K, (j + 1) * K), b * K); } });
    const e = await f64(full, ask, withGradient);
    return { loss: gather(e.loss, 1), gx: withGradient ? gather(e.gx, K) : new Float64Array(0) };
  };
  const f = await minimizeBatch(gather(r.x, K), R, K, onRows, { ...options, maxIterations: iterations, onIteration: undefined });
  rows.forEach((b, j) => {
    r.x.set(f.x.subarray(j * K, (j + 1) * K), b * K);
    r.gx.set(f.gx.subarray(j * K, (j + 1) * K), b * K);
    r.loss[b] = f.loss[j]!;
    r.status[b] = f.status[j]!;
    r.iterations[b]! += f.iterations[j]!;
  });
  const finished = new Uint8Array(B);
  for (const b of rows) finished[b] = 1;
  let others = Infinity;
  for (let b = 0; b < B; b++) if (!finished[b] && r.loss[b]! < others) others = r.loss[b]!;
  for (const best of f.history) r.history.push(Math.min(best, others));
}

/** A value of q drawn at the unit fraction u of its range (log-uniform on a log scale). */
export function fromUnit(q: { scale?: 'linear' | 'log'; min?: number; max?: number }, u: number): number {
  const [a, b] = [q.min!, q.max!];
  return q.scale === 'log' ? Math.exp(Math.log(a) + u * (Math.log(b) - Math.log(a))) : a + u * (b - a);
}

/** One step for every active row; rows flagged in `restart` start afresh (L-BFGS: its memory dropped). */
type StepFn = (x: Float64Array, loss: Float64Array, gx: Float64Array, active: Uint8Array, lossAt: (xs: Float64Array, which: Uint8Array) => Promise<Float64Array>, restart?: Uint8Array) =>
  Promise<{ x: Float64Array; stuck: Uint8Array }>;

/** Adam, per start (Kingma & Ba 2015, β₁ = 0.9, β₂ = 0.999, ε = 1e-8). */
function adam(S: number, K: number, lr: number): StepFn {
  const m = new Float64Array(S * K), v = new Float64Array(S * K);
  let t = 0;
  return async (x, _loss, gx, active) => {
    t++;
    const out = Float64Array.from(x);
    for (let s = 0; s < S; s++) {
      if (!active[s]) continue;
      for (let k = 0; k < K; k++) {
        const j = s * K + k, g = Number.isFinite(gx[j]!) ? gx[j]! : 0;
        m[j] = 0.9 * m[j]! + 0.1 * g;
        v[j] = 0.999 * v[j]! + 0.001 * g * g;
        out[j] = x[j]! - (lr * m[j]! / (1 - 0.9 ** t)) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
      }
    }
    return { x: out, stuck: new Uint8Array(S) };
  };
}

/** The line search's limits: at most this many trial steps, none shorter than MIN_STEP (x is O(1) in the unconstrained space). */
const MAX_LINE_SEARCH_TRIES = 30, MIN_STEP = 1e-10;

/**
 * The next trial step after α failed the Armijo test: the minimiser of the quadratic through φ(0),
 * φ'(0) = slope < 0 and φ(α) (N&W eq. 3.57), or, with a previous trial (α₀, φ(α₀)), of the cubic
 * through all four (eq. 3.58); safeguarded to [0.1α, 0.5α].
 */
export function backtrack(phi0: number, slope: number, a: number, phi: number, a0: number, phiA0: number): number {
  let next: number;
  if (!(a0 > 0)) next = (-slope * a * a) / (2 * (phi - phi0 - slope * a));
  else {
    const r1 = phi - phi0 - slope * a, r0 = phiA0 - phi0 - slope * a0;
    const den = a0 * a0 * a * a * (a - a0);
    const ca = (a0 * a0 * r1 - a * a * r0) / den, cb = (-a0 * a0 * a0 * r1 + a * a * a * r0) / den;
    next = Math.abs(ca) < 1e-300 ? -slope / (2 * cb) : (-cb + Math.sqrt(Math.max(cb * cb - 3 * ca * slope, 0))) / (3 * ca);
  }
  return Number.isFinite(next) ? Math.min(Math.max(next, 0.1 * a), 0.5 * a) : 0.5 * a;
}

/** L-BFGS with memory 10 and a batched backtracking Armijo line search (c₁ = 1e-4, interpolating: `backtrack`). */
function lbfgs(S: number, K: number, memory = 10): StepFn {
  const sHist: Float64Array[][] = Array.from({ length: S }, () => []), yHist: Float64Array[][] = Array.from({ length: S }, () => []);
  const prevX: Array<Float64Array | undefined> = new Array(S), prevG: Array<Float64Array | undefined> = new Array(S);
  const dot = (a: Float64Array, b: Float64Array) => { let acc = 0; for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!; return acc; };
  return async (x, loss, gx, active, lossAt, restart) => {
    const dirs: Float64Array[] = [];
    const stuck = new Uint8Array(S);
    for (let s = 0; s < S; s++) {
      const xs = x.slice(s * K, (s + 1) * K), g = gx.slice(s * K, (s + 1) * K);
      if (restart?.[s]) { sHist[s] = []; yHist[s] = []; prevX[s] = undefined; }
      if (prevX[s] && active[s]) {
        const sv = xs.map((v, k) => v - prevX[s]![k]!), yv = g.map((v, k) => v - prevG[s]![k]!);
        if (dot(sv, yv) > 1e-12 * Math.sqrt(dot(sv, sv) * dot(yv, yv))) {
          sHist[s]!.push(sv); yHist[s]!.push(yv);
          if (sHist[s]!.length > memory) { sHist[s]!.shift(); yHist[s]!.shift(); }
        }
      }
      prevX[s] = xs; prevG[s] = g;
      // Two-loop recursion: d = −H g.
      const q = Float64Array.from(g), alpha: number[] = [];
      for (let i = sHist[s]!.length - 1; i >= 0; i--) {
        const a = dot(sHist[s]![i]!, q) / dot(yHist[s]![i]!, sHist[s]![i]!);
        alpha[i] = a;
        for (let k = 0; k < K; k++) q[k]! -= a * yHist[s]![i]![k]!;
      }
      const last = sHist[s]!.length - 1;
      const gamma = last >= 0 ? dot(sHist[s]![last]!, yHist[s]![last]!) / dot(yHist[s]![last]!, yHist[s]![last]!) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let k = 0; k < K; k++) q[k]! *= gamma;
      for (let i = 0; i < sHist[s]!.length; i++) {
        const b = dot(yHist[s]![i]!, q) / dot(yHist[s]![i]!, sHist[s]![i]!);
        for (let k = 0; k < K; k++) q[k]! += sHist[s]![i]![k]! * (alpha[i]! - b);
      }
      let d = q.map((v) => -v);
      if (!(dot(d, g) < 0)) { d = g.map((v) => -v); sHist[s] = []; yHist[s] = []; } // not a descent direction: restart
      dirs.push(d);
    }
    // Backtracking for all active starts at once, each trial step from the interpolant of what the
    // row has seen (N&W §3.5): φ(0), φ'(0) and φ(α) give a quadratic (eq. 3.57), and with the
    // previous trial a cubic (eq. 3.58); its minimiser is kept in [0.1α, 0.5α] (0.1α after a
    // non-finite trial). Halving alone took up to 30 sequential calls a row where the loss is flat
    // to rounding near the optimum; a row gives up when α < MIN_STEP, when a trial's loss is φ(0)
    // exactly, or after MAX_LINE_SEARCH_TRIES.
    const step = new Float64Array(S).fill(1), done = new Uint8Array(S), accepted = new Uint8Array(S);
    const prevStep = new Float64Array(S), prevLoss = new Float64Array(S);
    const slopes = new Float64Array(S);
    for (let s = 0; s < S; s++) slopes[s] = dot(dirs[s]!, gx.subarray(s * K, (s + 1) * K));
    const out = Float64Array.from(x);
    for (let s = 0; s < S; s++) if (!active[s]) done[s] = 1;
    for (let tries = 0; tries < MAX_LINE_SEARCH_TRIES && done.some((v) => !v); tries++) {
      const trial = Float64Array.from(x);
      for (let s = 0; s < S; s++) if (!done[s]) for (let k = 0; k < K; k++) trial[s * K + k] = x[s * K + k]! + step[s]! * dirs[s]![k]!;
      const lt = await lossAt(trial, Uint8Array.from(done, (v) => (v ? 0 : 1)));
      for (let s = 0; s < S; s++) {
        if (done[s]) continue;
        const a = step[s]!, phi = lt[s]!, phi0 = loss[s]!, slope = slopes[s]!, finite = Number.isFinite(phi);
        if (finite && phi <= phi0 + 1e-4 * a * slope) {
          done[s] = accepted[s] = 1;
          out.set(trial.subarray(s * K, (s + 1) * K), s * K);
          continue;
        }
        step[s] = finite ? backtrack(phi0, slope, a, phi, prevStep[s]!, prevLoss[s]!) : 0.1 * a;
        prevStep[s] = finite ? a : 0; prevLoss[s] = phi;
        // A trial at exactly φ(0) moved nothing the loss resolves (on the GPU, a step below the
        // rounding of the f32 parameters): no shorter one will, so the row stops here rather than
        // halving on to MIN_STEP, 20-odd sequential calls (issue 15).
        if (step[s]! < MIN_STEP || phi === phi0) done[s] = 1;
      }
    }
    for (let s = 0; s < S; s++) if (active[s] && !accepted[s]) stuck[s] = 1; // no decrease found: the caller decides why (FitStatus)
    return { x: out, stuck };
  };
}

export interface TrainOptions {
  terms?: LossTerms;
  solver?: GradientOptions;
  learningRate?: number;
  iterations?: number;
  /** Stop when the loss has not improved by `tolerance` (relative) for `patience` iterations. */
  tolerance?: number;
  patience?: number;
  onIteration?: (iteration: number, loss: number) => void;
}

/**
 * Trains the neural weights θ (shared by the batch; mechanistic parameters fixed) on the data of
 * every trajectory with Adam. Returns the weights with the lowest loss seen and the loss history.
 * @example
 * const { weights } = await trainWeights(problem, observations, { terms: { conservation: 1e8, l2Weights: 1e-4 } });
 * const trained = remake(problem, { weights });
 */
export async function trainWeights(problem: EnsembleProblem, data: Observations, options: TrainOptions = {}): Promise<{ weights: Float64Array; loss: number; history: number[] }> {
  if (problem.weights.length === 0) throw new ProblemError(`model "${problem.model.name}" has no neural term to train`);
  const K = problem.weights.length;
  const step = adam(1, K, options.learningRate ?? 0.01);
  const w = Float64Array.from(problem.weights);
  let best = { weights: Float64Array.from(w), loss: Infinity };
  const history: number[] = [];
  const tol = options.tolerance ?? 1e-6, patience = options.patience ?? 25;
  let stall = 0;
  for (let it = 0; it < (options.iterations ?? 300); it++) {
    const g = await gradient(remake(problem, { weights: w }), data, options.terms ?? {}, options.solver ?? {});
    history.push(g.loss);
    options.onIteration?.(it, g.loss);
    if (g.loss < best.loss * (1 - tol)) { stall = 0; } else if (++stall >= patience) break;
    if (g.loss < best.loss) best = { weights: Float64Array.from(w), loss: g.loss };
    if (!Number.isFinite(g.loss)) break;
    w.set((await step(w, new Float64Array([g.loss]), g.weights, new Uint8Array([1]), async () => new Float64Array(1))).x);
  }
  return { ...best, history };
}
