/**
 * Cohort calibration: one twin per patient from imaging data (docs/observation.md, "Calibration").
 *
 * - Trajectories: a patient's cells share its mechanistic parameters; cells with the same
 *   treatments (design table) share one trajectory, each with its own observation model.
 * - Pre-equilibration: every trajectory starts at t₀ = −T_pre from the untreated state given by
 *   `initial` (expressions of the parameters, differentiated symbolically by mathjs), so cells
 *   enter the imaging window at their steady state; the adjoint covers the whole interval.
 * - Loss per patient: the profiled observation NLL (src/twin/observation.ts) of its fitted cells and
 *   of its FRAP curves (their recovery rate is the model's `calibration.frap.recovery_rate`, an
 *   expression of the parameters and the states of the untreated cell at t = 0), plus, when
 *   covariates are given, a Gaussian prior on the log-parameters whose mean is a linear
 *   map of the covariates fitted across the cohort between rounds (empirical Bayes).
 * - Multi-start in one batch (patients × starts rows), L-BFGS (src/training/optimize.ts), rounds
 *   with a fresh L-BFGS memory each, so a checkpoint at a round boundary resumes bit for bit.
 * - Held-out cells keep the patient's parameters; only their observation parameters are fitted.
 */
import { mathjs } from '../physics/mathjs.js';
import { parseModel, type Model } from '../physics/model.js';
import { splitmix32 } from '../physics/neural.js';
import { makeProblem } from '../solvers/problem.js';
import { defaultWeights } from '../codegen/compile.js';
import { STATUS } from '../methods/status.js';
import type { MethodName } from '../methods/tableaus.js';
import { solve } from '../solvers/solve.js';
import { gradient } from '../training/gradient.js';
import { compileObservable, type Datum, type ObservableModel } from '../training/loss.js';
import { fromUnit, minimizeBatch, transformFor, type BatchObjective } from '../training/optimize.js';
import { median, naturalOrder, type FrapCurve, type LongRecord } from '../io/imaging.js';
import { conditionKey, treatmentsOf, type Design } from '../io/design.js';
import type { Covariates } from '../io/long.js';
import { InputError } from '../io/csv.js';
import { bundledDrugs, drugById, treatmentParams, withDrugs, type DrugLibrary, type Schedule, type Treatment } from './drugs.js';
import { solveDense } from '../solvers/cpu/linalg.js';
import { fitFrap, fitObservation, observationAt, type CellObservation, type CellSeries, type FrapFit, type ObservationOptions } from './observation.js';

/** The model observable added for FRAP: the recovery rate of a bleached condensate (1/s). */
export const FRAP_RATE = 'frap_recovery_rate';

/** Which data column is which observable of the model (DESIGN.md `--observe`). */
export const DEFAULT_OBSERVE: Record<string, string> = {
  MEAN_INTENSITY_CH1: 'condensate_intensity', MEAN_INTENSITY_CH2: 'nascent_rna_intensity', MEAN_INTENSITY: 'condensate_intensity',
};

export interface CalibrateOptions {
  /** Model spec (JSON form); default: the condensate model. */
  spec: Record<string, unknown>;
  observe?: Record<string, string>;
  design?: Design;
  covariates?: Covariates;
  drugs?: DrugLibrary;
  /** FRAP curves of untreated cells (src/io/frap.ts `frapCurves`); each needs `frapRate`. */
  frap?: FrapCurve[];
  /**
   * The recovery rate of a FRAP curve (1/s) as an expression of the parameters and of the states at
   * t = 0 of an untreated cell (the model's `calibration.frap.recovery_rate`).
   */
  frapRate?: string;
  /** Parameters to estimate (default: those marked `estimate`). */
  estimate?: string[];
  seed?: number;
  starts?: number;
  /** Fraction of each patient's cells held out (default 0.2). */
  holdout?: number;
  /**
   * Optimisation rounds and L-BFGS iterations per round (default 4 × 10). Each round starts a fresh
   * L-BFGS memory from the last round's point, so a checkpoint at a round boundary resumes bit for
   * bit; the covariate prior is refitted between rounds; each patient's best start is kept after
   * the first half of the rounds.
   */
  rounds?: number;
  iterationsPerRound?: number;
  /**
   * 'cpu' (and 'auto'): f64 solves and adjoint throughout. 'gpu': the rounds before the last search
   * with the f32 GPU solver and adjoint (rtol ≥ 1e-5); the last round and the diagnostics run in
   * f64 on the CPU, so the result is an f64 optimum (mixed precision, DESIGN.md "Numerics").
   */
  backend?: 'auto' | 'cpu' | 'gpu';
  /** Per patient (cohort order): values that replace the model's in its first start (a warm start). */
  startFrom?: Array<Record<string, number> | undefined>;
  /** L2 penalty ½λ|θ|² on shared neural weights (default 1e-3). */
  l2Weights?: number;
  observation?: ObservationOptions;
  /** Pre-equilibration: seconds before t = 0, and initial states as expressions of the parameters. */
  preequilibration?: { duration: number; initial: Record<string, string | number> };
  /** The integrator (default tsit5); a stiff model needs rodas4. */
  method?: MethodName;
  rtol?: number;
  atol?: number;
  onProgress?: (p: { round: number; iteration: number; loss: number }) => void;
  /** Where a run resumes from, and where each finished round is saved. */
  checkpoint?: { load(): CalibrationCheckpoint | undefined; save(c: CalibrationCheckpoint): void };
}

export interface CalibrationCheckpoint {
  round: number;
  /** Rows × K unconstrained unknowns; rows = patients × starts in round 0, patients after. */
  x: number[];
  rows: number;
  prior?: { mean: number[][]; sd: number[]; coef: number[][] };
  /** The shared neural weights after the round (models with a neural term). */
  weights?: number[];
}

/** One cell's measurements of one observable, sorted by t; `save` indexes the solve's save times. */
interface Series { t: Float64Array; v: Float64Array; save: Int32Array }
interface Cell { id: string; condition: number; heldOut: boolean; series: Map<string, Series> }
interface Patient { id: string; cells: Cell[]; conditions: Treatment[][]; frap: FrapCurve[]; untreated: number }

export interface PatientFit {
  patient: string;
  params: Record<string, number>;
  /** x = log-parameter space for log-scaled parameters. */
  x: number[];
  nll: number;
  loss: number;
  status: string;
  cells: Array<{ cell: string; heldOut: boolean; condition: string; r2: number; observations: Record<string, CellObservation> }>;
  r2Fit: number;
  r2Heldout: number;
  nllByObservable: Record<string, number>;
  data: number;
  /** The fits of the patient's FRAP curves at the model's recovery rate. */
  frap: FrapFit[];
}

export interface CalibrationResult {
  model: Model;
  spec: Record<string, unknown>;
  estimated: string[];
  patients: PatientFit[];
  prior?: CalibrationCheckpoint['prior'];
  covariateNames?: string[];
  /** Shared neural weights θ (empty without a neural term). */
  weights: number[];
}

/** Groups records into patients, cells, conditions (design) and model observables (`observe`). */
export function cohortOf(records: LongRecord[], observe: Record<string, string>, design: Design | undefined, holdout: number, seed: number): Patient[] {
  const byPatient = new Map<string, Map<string, Map<string, { t: number[]; v: number[] }>>>();
  for (const r of records) {
    const o = observe[r.observable];
    if (!o) continue;
    if (!byPatient.has(r.patient)) byPatient.set(r.patient, new Map());
    const cells = byPatient.get(r.patient)!;
    if (!cells.has(r.cell)) cells.set(r.cell, new Map());
    const s = cells.get(r.cell)!;
    if (!s.has(o)) s.set(o, { t: [], v: [] });
    s.get(o)!.t.push(r.t); s.get(o)!.v.push(r.value);
  }
  if (byPatient.size === 0) throw new InputError(`no measurement maps onto a model observable; columns mapped: ${Object.keys(observe).join(', ')} (set --observe)`);
  return [...byPatient.keys()].sort().map((id) => {
    const cellIds = [...byPatient.get(id)!.keys()].sort(naturalOrder.compare);
    const conditions: Treatment[][] = [], keys: string[] = [];
    // Held-out cells drawn per patient (seed and patient id), so a patient's split does not depend
    // on which other patients are in the cohort.
    const rand = splitmix32((seed ^ fnv1a(id)) >>> 0);
    const order = cellIds.map((c) => ({ c, u: rand() })).sort((a, b) => a.u - b.u).map((x) => x.c);
    const nHeld = holdout > 0 && cellIds.length >= 3 ? Math.max(1, Math.round(holdout * cellIds.length)) : 0;
    const held = new Set(order.slice(0, nHeld));
    const cells = cellIds.map((c) => {
      const tr = treatmentsOf(design, id, c), key = conditionKey(tr);
      let k = keys.indexOf(key);
      if (k < 0) { k = keys.length; keys.push(key); conditions.push(tr); }
      const series = new Map<string, Series>();
      for (const [o, s] of byPatient.get(id)!.get(c)!) {
        const order = s.t.map((_, i) => i).sort((a, b) => s.t[a]! - s.t[b]!);
        series.set(o, { t: Float64Array.from(order, (i) => s.t[i]!), v: Float64Array.from(order, (i) => s.v[i]!), save: new Int32Array(0) });
      }
      return { id: c, condition: k, heldOut: held.has(c), series };
    });
    return { id, cells, conditions, frap: [], untreated: -1 };
  });
}

/**
 * Gives each patient its FRAP curves and the condition whose state at t = 0 they see (a FRAP cell is
 * imaged untreated): an untreated condition, or one whose drugs all start later than 40 mixing
 * times after 0 — the onset step g(t − t_on) ≤ e^{−40} ≈ 4·10⁻¹⁸ before 0, so its state at 0 is
 * the untreated one to double precision (src/twin/drugs.ts) — or else an untreated one added.
 */
function attachFrap(patients: Patient[], curves: FrapCurve[], library: DrugLibrary): void {
  for (const c of curves) {
    const p = patients.find((x) => x.id === c.patient);
    if (!p) throw new InputError(`FRAP curve ${c.cell}: patient ${c.patient} has no imaging time series to calibrate (a FRAP curve informs a twin; it does not make one); the patient is the file name before its first "_"`);
    p.frap.push(c);
  }
  for (const p of patients) {
    if (p.frap.length === 0) continue;
    const untreatedAtZero = (c: Treatment[]) => c.every((t) => t.tOn >= 40 * drugById(library, t.drug)[1].onset_s);
    p.untreated = p.conditions.findIndex((c) => c.length === 0);
    if (p.untreated < 0) p.untreated = p.conditions.findIndex(untreatedAtZero);
    if (p.untreated < 0) { p.untreated = p.conditions.length; p.conditions.push([]); }
  }
}

/** FNV-1a hash of a string (32 bits): a seed per patient id. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The drugs (and their schedules) that a cohort's design uses. */
function drugsUsed(patients: Patient[]): Record<string, Schedule[]> {
  const out: Record<string, Schedule[]> = {};
  for (const p of patients) for (const c of p.conditions) for (const t of c) (out[t.drug] ??= []).push(t.schedule);
  return out;
}

/**
 * Calibrates one twin per patient (see the file comment).
 * @example
 * const { records } = await readImaging('examples/cohort/P01_spots.csv');
 * const result = await calibrate(records, { spec: condensateModelSpec(), seed: 1 });
 * result.patients[0]?.params.c_sat; result.patients[0]?.r2Heldout;
 */
export async function calibrate(records: LongRecord[], options: CalibrateOptions): Promise<CalibrationResult> {
  return runCalibration(prepareCalibration(records, options), options);
}

/**
 * The cohort, the model with its drugs, and the batched objective over (patient, start) rows: the
 * setup `calibrate` runs, exposed for gradient checks.
 */
export function prepareCalibration(records: LongRecord[], options: CalibrateOptions) {
  const seed = options.seed ?? 1;
  const library = options.drugs ?? bundledDrugs();
  const patients = cohortOf(records, options.observe ?? DEFAULT_OBSERVE, options.design, options.holdout ?? 0.2, seed);
  attachFrap(patients, options.frap ?? [], library);
  const withFrap = patients.some((p) => p.frap.length > 0);
  if (withFrap && !options.frapRate) throw new InputError('FRAP curves were given, but the model has no calibration.frap.recovery_rate (the recovery rate of a bleached condensate as an expression of parameters and states); add it or leave the FRAP files out');
  // The FRAP rate enters as one more observable, evaluated at t = 0 of the untreated trajectory.
  const specIn = withFrap ? { ...options.spec, observables: { ...(options.spec.observables as Record<string, unknown> | undefined), [FRAP_RATE]: { expression: options.frapRate, unit: '1/s' } } } : options.spec;
  const spec = withDrugs(specIn, library, drugsUsed(patients));
  const model = parseModel(spec);
  const P = model.params.length, N = model.states.length;
  const names = options.estimate ?? model.params.filter((q) => q.estimate).map((q) => q.name);
  const idx = names.map((n) => { const i = model.params.findIndex((q) => q.name === n); if (i < 0) throw new InputError(`cannot estimate "${n}": not a parameter of the model`); return i; });
  const tf = idx.map((i) => transformFor(model.params[i]!));
  const K = idx.length;
  const observables = [...new Set(patients.flatMap((p) => p.cells.flatMap((c) => [...c.series.keys()])))].sort();
  const compiled = observables.map((o) => {
    if (!model.observables.some((x) => x.name === o) && !model.states.some((s) => s.name === o)) throw new InputError(`"${o}" is neither a state nor an observable of model "${model.name}"`);
    return compileObservable(model, o);
  });
  const frapRate = withFrap ? compileObservable(model, FRAP_RATE) : undefined;
  const pre = options.preequilibration ?? { duration: 20000, initial: {} };
  // y₀ = initial(p), compiled once with its symbolic derivatives ∂y₀/∂p_i (mathjs).
  type Scope = Record<string, number>;
  const scopeOf = (p: ArrayLike<number>): Scope => Object.fromEntries(model.params.map((q, i) => [q.name, p[i]!]));
  const initialRules = model.states.map((s) => {
    const rule = pre.initial[s.name];
    if (rule === undefined) return { value: () => s.value, grad: [] as Array<[number, (scope: Scope) => number]> };
    const text = String(rule), f = mathjs.compile(text);
    const grad = model.params.map((q, i) => [i, q.name] as const).filter(([, n]) => new RegExp(`\\b${n}\\b`).test(text))
      .map(([i, n]): [number, (scope: Scope) => number] => { const d = mathjs.derivative(text, n).compile(); return [i, (scope) => d.evaluate(scope) as number]; });
    return { value: (scope: Scope) => f.evaluate(scope) as number, grad };
  });
  const times = [...new Set([...patients.flatMap((p) => p.cells.flatMap((c) => [...c.series.values()].flatMap((s) => [...s.t]))), ...(withFrap ? [0] : [])])].sort((a, b) => a - b);
  const t0 = -pre.duration, t1 = times[times.length - 1]!;
  if (times[0]! < t0) throw new InputError(`a measurement at t = ${times[0]} s lies before the pre-equilibration start ${t0} s`);
  const timeIndex = new Map(times.map((t, i) => [t, i]));
  for (const p of patients) for (const c of p.cells) for (const s of c.series.values()) s.save = Int32Array.from(s.t, (t) => timeIndex.get(t)!);
  const cpuOptions = { backend: 'cpu' as const, rtol: options.rtol ?? 1e-7, atol: options.atol ?? 1e-10, maxSteps: 200000 };
  // f32: the relative tolerance cannot go below ~1e-5 (src/solvers/options.ts, f32ToleranceProblem).
  const gpuOptions = { backend: 'gpu' as const, rtol: Math.max(cpuOptions.rtol, 1e-5), atol: Math.max(cpuOptions.atol, 1e-8), maxSteps: 200000 };
  // tsit5 by default: the condensate model's pre-equilibration is mildly stiff, and tsit5 is ~3×
  // faster than rodas4 on it; a stiff model (an imported SBML one) names rodas4 in its section.
  const method = options.method ?? 'tsit5';

  /** Parameters of patient row r's condition k at unknowns xr. */
  const paramsFor = (xr: ArrayLike<number>, treatments: Treatment[]) => {
    const p = Float64Array.from(model.params, (q) => q.value);
    idx.forEach((i, k) => { p[i] = tf[k]!.toP(xr[k]!); });
    const drug = treatmentParams(library, treatments);
    model.params.forEach((q, i) => { if (drug[q.name] !== undefined) p[i] = drug[q.name]!; });
    return p;
  };
  const initialFor = (p: Float64Array) => { const scope = scopeOf(p); return Float64Array.from(initialRules, (r) => r.value(scope)); };

  /**
   * Loss (and gradient) of the rows `which` (patients of `rowPatient`) at xs, with the observation
   * fits of the fitted cells; with `diagnostics`, held-out cells are fitted too (not while optimising).
   */
  const weights0 = defaultWeights(model);
  const evaluateRows = async (xs: Float64Array, rowPatient: number[], which: Uint8Array | undefined, withGradient: boolean, prior?: CalibrationCheckpoint['prior'], diagnostics = false, backend: 'cpu' | 'gpu' = 'cpu', weights = weights0) => {
    const solverOptions = backend === 'gpu' ? gpuOptions : cpuOptions;
    const R = rowPatient.length;
    const loss = new Float64Array(R).fill(NaN), gx = new Float64Array(R * K);
    let gw = new Float64Array(weights.length);
    const fits: Array<{ nll: number; nllByObservable: Record<string, number>; cells: Map<string, Record<string, CellObservation>>; frap: FrapFit[] } | undefined> = new Array(R);
    const rows = Array.from({ length: R }, (_, r) => r).filter((r) => !which || which[r]);
    const traj: Array<{ row: number; condition: number }> = [];
    for (const r of rows) patients[rowPatient[r]!]!.conditions.forEach((_, k) => traj.push({ row: r, condition: k }));
    const B = traj.length;
    const params = new Float64Array(B * P), initial = new Float64Array(B * N);
    traj.forEach(({ row, condition }, b) => {
      const p = paramsFor(xs.subarray(row * K, (row + 1) * K), patients[rowPatient[row]!]!.conditions[condition]!);
      params.set(p, b * P); initial.set(initialFor(p), b * N);
    });
    const problem = makeProblem(model, { t0, t1, saveat: times, params, initial, weights });
    const sol = await solve(problem, method, solverOptions);
    const data: Datum[] = [];
    const trajOf = new Map(traj.map((t, b) => [`${t.row}/${t.condition}`, b]));
    for (const r of rows) {
      const patient = patients[rowPatient[r]!]!;
      let nll = 0;
      const byObs: Record<string, number> = {};
      const cellFits = new Map<string, Record<string, CellObservation>>();
      let failed = false;
      observables.forEach((o, oi) => {
        for (const heldOut of diagnostics ? [false, true] : [false]) {
          const cells = patient.cells.filter((c) => c.heldOut === heldOut && c.series.has(o));
          if (cells.length === 0) continue;
          const series: CellSeries[] = [], hs: Float64Array[] = [];
          for (const c of cells) {
            const b = trajOf.get(`${r}/${c.condition}`)!;
            if (sol.status[b] !== STATUS.success) failed = true;
            const s = c.series.get(o)!;
            const p = params.subarray(b * P, (b + 1) * P);
            series.push({ cell: c.id, t: s.t, value: s.v });
            hs.push(Float64Array.from(s.t, (t, j) => { const at = (b * times.length + s.save[j]!) * N; return compiled[oi]!.value(t, sol.y.subarray(at, at + N), p); }));
          }
          const fit = fitObservation(series, hs, options.observation);
          fit.cells.forEach((co) => { const rec = cellFits.get(co.cell) ?? {}; rec[o] = co; cellFits.set(co.cell, rec); });
          if (heldOut) continue;
          nll += fit.nll;
          byObs[o] = fit.nll;
          if (withGradient) cells.forEach((c, ci) => {
            const b = trajOf.get(`${r}/${c.condition}`)!, s = c.series.get(o)!, co = fit.cells[ci]!;
            s.t.forEach((t, j) => data.push({ traj: b, t, observable: oi, value: s.v[j]!, ...observationAt(co, t) }));
          });
        }
      });
      // FRAP: the curves of the patient at the recovery rate of its untreated trajectory at t = 0.
      let frapFits: FrapFit[] = [];
      if (frapRate && patient.frap.length > 0) {
        const b = trajOf.get(`${r}/${patient.untreated}`)!, at = (b * times.length + timeIndex.get(0)!) * N;
        if (sol.status[b] !== STATUS.success) failed = true;
        const k = frapRate.value(0, sol.y.subarray(at, at + N), params.subarray(b * P, (b + 1) * P));
        if (!(k > 0)) failed = true;
        frapFits = patient.frap.map((c) => fitFrap(c, k));
        const frapNll = frapFits.reduce((a, f) => a + f.nll, 0);
        nll += frapNll;
        byObs.frap_recovery = frapNll;
        // The adjoint sees dNLL/dk through a pseudo-measurement of the rate observable: with scale 1,
        // offset 0 and σ 1, ½(k − value)² has derivative k − value = dNLL/dk at value = k − dNLL/dk.
        if (withGradient) data.push({ traj: b, t: 0, observable: observables.length, value: k - frapFits.reduce((a, f) => a + f.dNllDRate, 0), scale: 1, offset: 0, sigma: 1 });
      }
      let l = failed || !Number.isFinite(nll) ? Infinity : nll;
      if (prior) {
        const xr = xs.subarray(r * K, (r + 1) * K), mean = prior.mean[rowPatient[r]!]!;
        for (let k = 0; k < K; k++) { const z = (xr[k]! - mean[k]!) / prior.sd[k]!; l += 0.5 * z * z; if (withGradient) gx[r * K + k]! += z / prior.sd[k]!; }
      }
      loss[r] = l;
      fits[r] = { nll, nllByObservable: byObs, cells: cellFits, frap: frapFits };
    }
    if (withGradient && rows.length > 0) {
      const obs: ObservableModel[] = [...observables, ...(frapRate ? [FRAP_RATE] : [])].map((name) => ({ name, noise: 'normal', sigma: 1, scale: 1, offset: 0 }));
      const g = await gradient(problem, { observables: obs, data }, {}, { ...solverOptions, method });
      gw = Float64Array.from(g.weights);
      traj.forEach(({ row }, b) => {
        const p = params.subarray(b * P, (b + 1) * P);
        const dp = Float64Array.from(g.params.subarray(b * P, (b + 1) * P));
        // y₀ = initial(p): chain ∂L/∂y₀ into ∂L/∂p through the rules' symbolic derivatives.
        const scope = scopeOf(p);
        initialRules.forEach((rule, s) => { for (const [i, d] of rule.grad) dp[i]! += g.initial[b * N + s]! * d(scope); });
        const xr = xs.subarray(row * K, (row + 1) * K);
        idx.forEach((i, k) => { gx[row * K + k]! += dp[i]! * tf[k]!.dpdx(xr[k]!); });
      });
    }
    return { loss, gx, gw, fits };
  };

  return { patients, model, spec, names, idx, tf, K, weights0, evaluateRows };
}

/** Finishes `calibrate` from a prepared cohort: starts, rounds, checkpoints, diagnostics. */
export async function runCalibration(setup: ReturnType<typeof prepareCalibration>, options: CalibrateOptions): Promise<CalibrationResult> {
  const { patients, model, spec, names, idx, tf, K, weights0, evaluateRows } = setup;
  const seed = options.seed ?? 1, starts = Math.max(1, options.starts ?? 4);
  // Starts: 0 = the model's values; the others uniform in the bounds (log-uniform on a log scale).
  const rand = splitmix32(seed ^ 0x5eed);
  const resumed = options.checkpoint?.load();
  let round = 0, rowPatient = patients.flatMap((_, p) => Array.from({ length: starts }, () => p));
  let x = new Float64Array(rowPatient.length * K);
  let prior: CalibrationCheckpoint['prior'];
  // Shared neural weights θ (a model with a `neural` section): fitted to the whole cohort.
  let weights = weights0;
  rowPatient.forEach((_, r) => idx.forEach((i, k) => {
    const q = model.params[i]!, s = r % starts;
    const u = rand();
    const warm = options.startFrom?.[rowPatient[r]!]?.[q.name];
    const value = s === 0 && warm !== undefined ? warm : s === 0 || q.min === undefined || q.max === undefined ? q.value : fromUnit(q, u);
    x[r * K + k] = tf[k]!.toX(value);
  }));
  if (resumed) {
    round = resumed.round + 1; x = Float64Array.from(resumed.x); prior = resumed.prior;
    rowPatient = resumed.rows === patients.length ? patients.map((_, p) => p) : rowPatient;
    if (resumed.weights) weights = Float64Array.from(resumed.weights);
  }
  const rounds = Math.max(1, options.rounds ?? 4), selectAfter = Math.ceil(rounds / 2) - 1;
  const gpuSearch = options.backend === 'gpu';
  for (; round < rounds; round++) {
    const backend = gpuSearch && round < rounds - 1 ? 'gpu' : 'cpu';
    const objective: BatchObjective = async (xs, which, g) => {
      // Back to the event loop between evaluations: a small batch is solved on this thread without
      // ever yielding, and messages (progress hooks, comlink calls) wait for the loop. setTimeout:
      // browsers have no setImmediate.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const e = await evaluateRows(xs, rowPatient, which, g, prior, false, backend, weights);
      return { loss: e.loss, gx: e.gx };
    };
    const r = await minimizeBatch(x, rowPatient.length, K, objective, { maxIterations: options.iterationsPerRound ?? 10, tolerance: 1e-7, patience: 3, onIteration: (it, loss) => options.onProgress?.({ round, iteration: it, loss }) });
    x = r.x;
    if (rowPatient.length > patients.length && round >= selectAfter) {
      // Keep each patient's best start.
      const best = patients.map((_, p) => rowPatient.map((q, i) => [q, i] as const).filter(([q]) => q === p).reduce((a, b) => (finite(r.loss[b[1]]!) < finite(r.loss[a[1]]!) ? b : a))[1]);
      const kept = new Float64Array(patients.length * K);
      best.forEach((row, p) => kept.set(x.subarray(row * K, (row + 1) * K), p * K));
      x = kept; rowPatient = patients.map((_, p) => p);
    }
    // The prior's map is fitted to one point per patient, so only after the starts are reduced.
    if (options.covariates && rowPatient.length === patients.length) prior = covariatePrior(x, K, patients.map((p) => p.id), options.covariates);
    // Then the shared weights, the patients' parameters held: one objective, the cohort's loss
    // Σ_p L_p(x_p, θ) + ½λ|θ|² (block-coordinate descent between rounds).
    if (weights.length > 0 && rowPatient.length === patients.length) {
      const lambda = options.l2Weights ?? 1e-3;
      const cohortLoss: BatchObjective = async (th, _which, g) => {
        const e = await evaluateRows(x, rowPatient, undefined, g, prior, false, backend, Float64Array.from(th));
        let l = 0.5 * lambda * th.reduce((a, v) => a + v * v, 0);
        for (const v of e.loss) l += v;
        return { loss: Float64Array.of(l), gx: g ? e.gw.map((v, k) => v + lambda * th[k]!) : new Float64Array(0) };
      };
      weights = (await minimizeBatch(weights, 1, weights.length, cohortLoss, { maxIterations: options.iterationsPerRound ?? 10, tolerance: 1e-7, patience: 3 })).x;
    }
    options.checkpoint?.save({ round, x: [...x], rows: rowPatient.length, prior, ...(weights.length ? { weights: [...weights] } : {}) });
  }
  // Final fits and diagnostics at the optimum.
  const final = await evaluateRows(x, rowPatient, undefined, false, prior, true, 'cpu', weights);
  const results: PatientFit[] = patients.map((patient, p) => {
    const fit = final.fits[p]!;
    const cellR2 = patient.cells.map((c) => {
      const obs = fit.cells.get(c.id) ?? {};
      const rss = Object.values(obs).reduce((a, o) => a + o.rss, 0), tss = Object.values(obs).reduce((a, o) => a + o.tss, 0);
      return { cell: c.id, heldOut: c.heldOut, condition: conditionKey(patient.conditions[c.condition]!), r2: 1 - rss / tss, observations: obs };
    });
    const xr = [...x.subarray(p * K, (p + 1) * K)];
    return {
      patient: patient.id, x: xr, params: Object.fromEntries(names.map((n, k) => [n, tf[k]!.toP(xr[k]!)])),
      nll: fit.nll, loss: final.loss[p]!, status: Number.isFinite(final.loss[p]!) ? 'ok' : 'failed',
      cells: cellR2, r2Fit: median(cellR2.filter((c) => !c.heldOut).map((c) => c.r2)), r2Heldout: median(cellR2.filter((c) => c.heldOut).map((c) => c.r2)),
      nllByObservable: fit.nllByObservable, frap: fit.frap, data: patient.cells.filter((c) => !c.heldOut).reduce((a, c) => a + [...c.series.values()].reduce((b, s) => b + s.t.length, 0), 0),
    };
  });
  return { model, spec, estimated: names, patients: results, prior, covariateNames: options.covariates?.names, weights: [...weights] };
}

/** A loss for ranking starts: a failed start (NaN, ∞) ranks last. */
const finite = (l: number) => (Number.isFinite(l) ? l : Infinity);

/**
 * The covariate map of the prior: x_pk ≈ c_k0 + Σ_j c_kj·cov_pj by ridge regression over the
 * patients (λ = 0.1 on the slopes), sd_k = the residual sd, floored at 0.1 (a factor e^{0.1} ≈ 1.1).
 */
function covariatePrior(x: Float64Array, K: number, ids: string[], cov: Covariates): NonNullable<CalibrationCheckpoint['prior']> {
  const rows = ids.map((id) => {
    const v = cov.values.get(id);
    if (!v) throw new InputError(`patient ${id} has no row in the covariates table`);
    return [1, ...v];
  });
  const m = rows[0]!.length;
  // Standardise covariates so λ acts evenly.
  const mu = Array.from({ length: m }, (_, j) => (j === 0 ? 0 : rows.reduce((a, r) => a + r[j]!, 0) / rows.length));
  const sd = Array.from({ length: m }, (_, j) => (j === 0 ? 1 : Math.sqrt(rows.reduce((a, r) => a + (r[j]! - mu[j]!) ** 2, 0) / rows.length) || 1));
  const Z = rows.map((r) => r.map((v, j) => (j === 0 ? 1 : (v - mu[j]!) / sd[j]!)));
  const coef: number[][] = [], mean: number[][] = ids.map(() => []), sdOut: number[] = [];
  for (let k = 0; k < K; k++) {
    const y = ids.map((_, p) => x[p * K + k]!);
    // Normal equations (ZᵀZ + λI')c = Zᵀy, λ on the slopes only.
    const A = Array.from({ length: m * m }, (_, e) => { const i = Math.floor(e / m), j = e % m; return Z.reduce((a, z) => a + z[i]! * z[j]!, 0) + (i === j && i > 0 ? 0.1 : 0); });
    const b = Array.from({ length: m }, (_, i) => Z.reduce((a, z, p) => a + z[i]! * y[p]!, 0));
    const c = [...solveDense(A, b, m)];
    coef.push(c);
    const fitted = Z.map((z) => z.reduce((a, v, j) => a + v * c[j]!, 0));
    fitted.forEach((f, p) => mean[p]!.push(f));
    const resid = Math.sqrt(y.reduce((a, v, p) => a + (v - fitted[p]!) ** 2, 0) / Math.max(1, y.length - 1));
    sdOut.push(Math.max(0.1, resid));
  }
  return { mean, sd: sdOut, coef };
}
