/**
 * The PEtab objective (petab.readthedocs.io, "Objective function"): every simulation condition
 * simulated (after pre-equilibration where a measurement asks for it), every measurement's
 * observable and noise formula evaluated with its own placeholder values, and the log-likelihood
 *
 *   normal:  ℓ = −½ log(2πσ²) − ½ ((ỹ − h̃)/σ)²        laplace:  ℓ = −log(2σ) − |ỹ − h̃|/σ
 *
 * where ˜ is the observable's transformation (lin, log, log10) of the measurement y and of the
 * simulated h, plus the Jacobian of that transformation, −log y (log) or −log(y·ln 10) (log10), so
 * that likelihoods of transformed observables are densities of y. χ² = Σ ((ỹ − h̃)/σ)². This is
 * the log-likelihood AMICI reports (tests compare with its published values).
 *
 * Conditions (PEtab "Condition table"): a model parameter or compartment column overrides its
 * value (a number, or a parameter whose value is used); a species column sets its initial value
 * (NaN: keep the pre-equilibrated value). Initial assignments are evaluated with the condition's
 * parameters (the model's `initial` section). Switches in time (piecewise in t, e.g. a stimulus
 * that stops at t_end) are integrated as separate segments, so the solver never steps across one.
 */
import { mathjs } from '../physics/mathjs.js';
import { derivative, evaluateExpr, substitute, type Expr, type SymbolRef } from '../physics/expr.js';
import type { Model } from '../physics/model.js';
import { makeProblem } from '../solvers/problem.js';
import { solve } from '../solvers/solve.js';
import { STATUS, statusName } from '../methods/status.js';
import type { MethodName } from '../methods/tableaus.js';
import { InputError } from '../io/csv.js';
import type { PetabMeasurement, PetabProblem, Scale, Transformation } from '../io/petab/petab.js';

export interface PetabOptions {
  /** PEtab parameter values on linear scale, by id (default: the table's nominal values). */
  values?: Record<string, number>;
  /** cpu (f64, default) or gpu (f32: tolerances no tighter than rtol 1e-6). */
  backend?: 'cpu' | 'gpu';
  method?: MethodName;
  rtol?: number;
  atol?: number;
}

export interface PetabEvaluation {
  llh: number;
  chi2: number;
  /** Simulated conditions (pre-equilibration + simulation pairs). */
  conditions: number;
  measurements: number;
  /** Per measurement (table order): the simulated observable h (untransformed), σ, and ℓ. */
  simulated: Float64Array;
  sigma: Float64Array;
  llhPerMeasurement: Float64Array;
  /**
   * Σ log prior density of the parameters that have an objectivePriorType, at these values;
   * reported apart from llh (the log-posterior is llh + logPrior). 0 when no parameter has one.
   */
  logPrior: number;
  /** How many parameters have a prior. */
  priors: number;
}

/** What sets a value in a condition: a PEtab parameter (`id`; its value is the caller's) or a constant. */
export interface Source { id?: string; value: number }

/** A PEtab scale's transform of a linear value, and back. */
export const toScale = (s: Scale, v: number) => (s === 'lin' ? v : s === 'log' ? Math.log(v) : Math.log10(v));
export const fromScale = (s: Scale, x: number) => (s === 'lin' ? x : s === 'log' ? Math.exp(x) : 10 ** x);
/** An observable's transformation, and log of its Jacobian d(transformed y)/dy up to sign (0, log y, log(y ln 10)). */
export const transform = (t: Transformation) => (t === 'lin' ? (x: number) => x : t === 'log' ? Math.log : Math.log10);
export const transformJacobian = (t: Transformation, y: number) => (t === 'lin' ? 0 : t === 'log' ? Math.log(y) : Math.log(y * Math.LN10));

/**
 * A cell of a condition or measurement table: empty or NaN (nothing set: keep the value), a number,
 * a PEtab parameter, or a model parameter (its model value).
 */
export function sourceOf(problem: PetabProblem, v: string): Source | undefined {
  if (v === '' || /^nan$/i.test(v)) return undefined;
  const x = Number(v);
  if (!Number.isNaN(x)) return { value: x };
  if (problem.parameters.some((p) => p.id === v)) return { id: v, value: NaN };
  const q = problem.model.params.find((p) => p.name === problem.modelName(v));
  if (q) return { value: q.value };
  throw new InputError(`"${v}" is neither a number nor a parameter`);
}

/** A cell's value at the PEtab parameter values `values` (NaN where the cell sets nothing). */
function cellValue(problem: PetabProblem, values: Record<string, number>, v: string): number {
  const src = sourceOf(problem, v);
  return !src ? NaN : src.id !== undefined ? values[src.id]! : src.value;
}

/**
 * What a condition sets: model parameters and compartments (by index into the model's
 * parameters) and initial species (by state index). The rest keep the model's values, or the
 * PEtab parameter of the same id.
 */
export function conditionSources(problem: PetabProblem, conditionId: string): { params: Map<number, Source>; species: Map<number, Source> } {
  const { model } = problem;
  const params = new Map<number, Source>(), species = new Map<number, Source>();
  for (const [col, v] of problem.conditions.get(conditionId) ?? []) {
    const src = sourceOf(problem, v);
    if (!src) continue;
    const i = model.params.findIndex((q) => q.name === problem.modelName(col));
    if (i >= 0) { params.set(i, src); continue; }
    const s = model.states.findIndex((q) => q.name === problem.modelName(col));
    if (s >= 0) species.set(s, src);
  }
  return { params, species };
}

/** Parameter vector and initial-state overrides of one condition at the PEtab parameter values. */
function conditionSetup(problem: PetabProblem, values: Record<string, number>, conditionId: string) {
  const { model } = problem;
  const at = (src: Source) => (src.id !== undefined ? values[src.id]! : src.value);
  const params = Float64Array.from(model.params.map((q) => q.value));
  for (const [id, v] of Object.entries(values)) { const i = model.params.findIndex((q) => q.name === problem.modelName(id)); if (i >= 0) params[i] = v; }
  const sources = conditionSources(problem, conditionId);
  for (const [i, src] of sources.params) params[i] = at(src);
  const speciesOverrides = new Map([...sources.species].map(([s, src]) => [s, at(src)] as const));
  return { params, speciesOverrides };
}

/**
 * Times at which a conditional of the model switches, for these parameters: every comparison
 * a ≶ b whose difference is affine in t with parameter-only coefficients, a − b = α·t + β (t < c,
 * t − c < 0, 2·t ≥ t_on + d, …), switches at t = −β/α.
 */
function switchTimes(model: Model, params: Float64Array): number[] {
  const out = new Set<number>();
  const time: SymbolRef = { kind: 'time' };
  const reads = (e: Expr, kinds: string[]): boolean => {
    let hit = false;
    substitute(e, (r) => { if (kinds.includes(r.kind)) hit = true; return undefined; });
    return hit;
  };
  const value = (e: Expr, t: number) => evaluateExpr(e, (r) => (r.kind === 'param' ? params[r.index]! : r.kind === 'time' ? t : NaN));
  const visit = (e: Expr) => {
    switch (e.k) {
      case 'num': case 'sym': return;
      case 'neg': case 'fn1': visit(e.a); return;
      case 'cond': {
        const d: Expr = { k: 'sub', a: e.a, b: e.b };
        if (reads(d, ['time']) && !reads(d, ['state', 'nn', 'expr'])) {
          const slope = derivative(d, time);
          if (!reads(slope, ['time', 'state', 'nn', 'expr'])) {
            const alpha = value(slope, 0), beta = value(d, 0);
            if (alpha !== 0 && Number.isFinite(alpha) && Number.isFinite(beta)) out.add(-beta / alpha);
          }
        }
        visit(e.a); visit(e.b); visit(e.then); visit(e.else);
        return;
      }
      default: visit(e.a); visit(e.b);
    }
  };
  model.equations.forEach(visit);
  // Roots computed two ways (t < c and t − c < 0) differ in the last bits: one switch, not two
  // segments a few ulps apart (the solver cannot step across an interval that short).
  const sorted = [...out].filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.filter((t, i) => i === 0 || t - sorted[i - 1]! > 1e-9 * Math.max(1, Math.abs(t)));
}

/**
 * States at `times` (sorted, ≥ 0) from t = 0, integrating piecewise between switch times: each
 * segment ends a hair (1e-13 relative) before a switch and the next starts a hair after it, so
 * every stage of every step sees one branch of each conditional. The state is continuous across a
 * switch; a measurement exactly at one reads the state there.
 */
async function simulateCondition(model: Model, params: Float64Array, initial: Float64Array, times: number[], options: PetabOptions): Promise<Float64Array> {
  const N = model.states.length;
  const out = new Float64Array(times.length * N);
  const end = times.length ? times[times.length - 1]! : 0;
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  // A switch at the last measurement time still ends the integration a hair before it.
  const switches = switchTimes(model, params).filter((s) => s > 0 && !near(s, 0) && (s < end || near(s, end)));
  const bounds = [0, ...switches, end];
  let y = Float64Array.from(initial), k = 0;
  // Measurements at t = 0 read the initial state.
  while (k < times.length && times[k] === 0) { out.set(y, k * N); k++; }
  for (let s = 0; s + 1 < bounds.length && k < times.length; s++) {
    // Segments stop a hair before a switch and start a hair after it, so no step of the solver
    // ever evaluates the model on the other side (a condition t − c < 0 flips exactly at c).
    const last = s + 2 === bounds.length;
    const a = s === 0 ? bounds[0]! : bounds[s]! * (1 + 1e-13) + 1e-300, b = last ? bounds[s + 1]! : bounds[s + 1]! * (1 - 1e-13);
    if (!(b > a)) continue;
    const inside = times.slice(k).filter((t) => t > a && (t <= b || (!last && t <= bounds[s + 1]!)));
    const saveat = [...new Set([...inside.map((t) => Math.min(t, b)), b])];
    const gpu = options.backend === 'gpu';
    const sol = await solve(makeProblem(model, { t0: a, t1: b, saveat, params, initial: y }), options.method ?? 'rodas4', {
      backend: gpu ? 'gpu' : 'cpu', rtol: options.rtol ?? (gpu ? 1e-6 : 1e-10), atol: options.atol ?? (gpu ? 1e-10 : 1e-14), maxSteps: 1_000_000,
    });
    if (sol.status[0] !== STATUS.success) throw new InputError(`the simulation stopped at t = ${sol.tEnd[0]} (${statusName(sol.status[0]!)})`);
    for (const t of inside) { const i = saveat.indexOf(Math.min(t, b)); out.set(sol.y.subarray(i * N, (i + 1) * N), k * N); k++; }
    y = Float64Array.from(sol.y.subarray((saveat.length - 1) * N));
  }
  return out;
}

/** Integrates to steady state: until the state stops changing (relative 1e-9) between t and 10t. */
async function steadyState(model: Model, params: Float64Array, initial: Float64Array, options: PetabOptions): Promise<Float64Array> {
  let y = Float64Array.from(initial);
  for (let t = 1e2; t <= 1e12; t *= 10) {
    const next = (await simulateCondition(model, params, y, [t], options)).slice();
    const still = next.every((v, i) => Math.abs(v - y[i]!) <= 1e-12 + 1e-9 * Math.abs(v));
    y = next;
    if (still) return y;
  }
  throw new InputError('pre-equilibration did not reach a steady state by t = 1e12');
}

/**
 * The PEtab log-likelihood at the given (default: nominal) parameters.
 * @example
 * const problem = await readPetab('Boehm_JProteomeRes2014/Boehm_JProteomeRes2014.yaml');
 * const { llh, chi2 } = await petabLikelihood(problem); // llh ≈ −138.222 (AMICI's published value)
 */
export async function petabLikelihood(problem: PetabProblem, options: PetabOptions = {}): Promise<PetabEvaluation> {
  const { model } = problem;
  const values: Record<string, number> = Object.fromEntries(problem.parameters.map((p) => [p.id, p.nominal]));
  Object.assign(values, options.values ?? {});
  const N = model.states.length;
  const simulated = new Float64Array(problem.measurements.length), sigma = new Float64Array(problem.measurements.length);
  const llhPer = new Float64Array(problem.measurements.length);

  // One simulation per (pre-equilibration, simulation) pair.
  const groups = new Map<string, PetabMeasurement[]>();
  problem.measurements.forEach((m) => { const k = `${m.preequilibration ?? ''}\u0000${m.simulation}`; groups.set(k, [...(groups.get(k) ?? []), m]); });
  const stateAt = new Map<PetabMeasurement, { y: Float64Array; params: Float64Array }>();
  for (const ms of groups.values()) {
    const sim = conditionSetup(problem, values, ms[0]!.simulation);
    let initial = makeProblem(model, { t1: 1, params: sim.params }).initial;
    if (ms[0]!.preequilibration) {
      const pre = conditionSetup(problem, values, ms[0]!.preequilibration);
      const preInitial = makeProblem(model, { t1: 1, params: pre.params }).initial;
      for (const [s, v] of pre.speciesOverrides) if (!Number.isNaN(v)) preInitial[s] = v;
      initial = await steadyState(model, pre.params, preInitial, options);
    }
    initial = Float64Array.from(initial);
    for (const [s, v] of sim.speciesOverrides) if (!Number.isNaN(v)) initial[s] = v;
    const times = [...new Set(ms.map((m) => m.time))].sort((a, b) => a - b);
    if (times.some((t) => !Number.isFinite(t))) throw new InputError('measurements at time inf (steady state) are not supported yet');
    const ys = await simulateCondition(model, sim.params, initial, times, options);
    for (const m of ms) { const i = times.indexOf(m.time); stateAt.set(m, { y: ys.subarray(i * N, (i + 1) * N), params: sim.params }); }
  }

  // Observables: formulas of the model's symbols (by SBML id), the PEtab parameters and the row's placeholders.
  const renamed = Object.entries((problem.spec.sbml as { renamed: Record<string, string> }).renamed);
  const formulas = new Map(problem.observables.map((o) => [o.id, { h: mathjs.compile(o.formula), sigma: mathjs.compile(o.noiseFormula) }]));
  let llh = 0, chi2 = 0;
  problem.measurements.forEach((m, k) => {
    const o = problem.observables.find((x) => x.id === m.observable)!;
    const { y, params } = stateAt.get(m)!;
    const scope: Record<string, number> = { ...values };
    model.params.forEach((q, i) => { scope[q.name] = params[i]!; });
    model.states.forEach((q, i) => { scope[q.name] = y[i]!; });
    const ref = (r: { kind: string; index?: number }) => (r.kind === 'param' ? params[r.index!]! : r.kind === 'state' ? y[r.index!]! : r.kind === 'time' ? m.time : NaN);
    for (const e of model.expressions) scope[e.name] = evaluateExpr(e.expr, ref);
    for (const [id, name] of renamed) scope[id] = scope[name]!;
    scope.t = m.time; scope.time = m.time;
    m.observableParameters.forEach((v, i) => { scope[`observableParameter${i + 1}_${o.id}`] = cellValue(problem, values, v); });
    m.noiseParameters.forEach((v, i) => { scope[`noiseParameter${i + 1}_${o.id}`] = cellValue(problem, values, v); });
    const f = formulas.get(o.id)!;
    const h = Number(f.h.evaluate(scope)), s = Number(f.sigma.evaluate(scope));
    const tf = transform(o.transformation);
    const r = (tf(m.value) - tf(h)) / s;
    const jacobian = transformJacobian(o.transformation, m.value);
    const l = o.distribution === 'normal' ? -0.5 * Math.log(2 * Math.PI * s * s) - 0.5 * r * r - jacobian : -Math.log(2 * s) - Math.abs(r) - jacobian;
    simulated[k] = h; sigma[k] = s; llhPer[k] = l;
    llh += l; chi2 += r * r;
  });
  const { logPrior, priors } = petabLogPrior(problem, values);
  return { llh, chi2, conditions: groups.size, measurements: problem.measurements.length, simulated, sigma, llhPerMeasurement: llhPer, logPrior, priors };
}

/**
 * Σ log prior density over the parameters with an objectivePriorType (PEtab v1 prior types; the
 * parameterScale… ones on the parameter's scale, the others on linear scale).
 */
export function petabLogPrior(problem: PetabProblem, values: Record<string, number>): { logPrior: number; priors: number } {
  let logPrior = 0, priors = 0;
  for (const p of problem.parameters) {
    if (!p.prior) continue;
    priors++;
    const [a = NaN, b = NaN] = p.prior.parameters;
    const v = values[p.id]!;
    const onScale = toScale(p.scale, v);
    const normal = (x: number) => -0.5 * Math.log(2 * Math.PI * b * b) - 0.5 * ((x - a) / b) ** 2;
    const laplace = (x: number) => -Math.log(2 * b) - Math.abs(x - a) / b;
    const uniform = (x: number) => (x >= a && x <= b ? -Math.log(b - a) : -Infinity);
    switch (p.prior.type) {
      case 'uniform': logPrior += uniform(v); break;
      case 'normal': logPrior += normal(v); break;
      case 'laplace': logPrior += laplace(v); break;
      case 'logNormal': logPrior += normal(Math.log(v)) - Math.log(v); break;
      case 'logLaplace': logPrior += laplace(Math.log(v)) - Math.log(v); break;
      case 'parameterScaleUniform': logPrior += uniform(onScale); break;
      case 'parameterScaleNormal': logPrior += normal(onScale); break;
      case 'parameterScaleLaplace': logPrior += laplace(onScale); break;
      default: throw new InputError(`${problem.files.parameters}:${p.line}: objectivePriorType "${p.prior.type}" is not a PEtab prior type`);
    }
  }
  return { logPrior, priors };
}
