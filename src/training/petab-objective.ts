/**
 * The PEtab negative log-likelihood as a function of the estimated parameters on their PEtab
 * scales (lin, log, log10), with its gradient from the discrete adjoint — for `ctwin petab fit`
 * and for anyone optimising a PEtab problem.
 *
 * Every start × every simulation condition is one trajectory of a single batched adjoint call
 * (CPU f64 workers, or the GPU with `backend: 'gpu'`). The problem is mapped onto the engine's loss
 * (src/training/loss.ts, ½r² per measurement):
 * - each (observable, observableParameters) pair becomes an observable of an augmented model whose
 *   parameters include the PEtab-only parameters (scalings, offsets), so their gradients come from
 *   the adjoint like any other parameter's;
 * - σ is evaluated per measurement (noise formula with its placeholders); log and log10
 *   observables are log-normal in the loss, with σ·ln 10 for log10 (the same residual);
 * - the terms the loss leaves out are added here: log σ + ½ log 2π and the transformation's
 *   Jacobian log y or log(y ln 10); and the σ-part of the gradient, Σ (1/σ − r²/σ)·∂σ/∂θ, with
 *   −r²/σ the adjoint's own ∂L/∂σ of each datum (`GradientResult.sigma`, no second solve) and
 *   ∂σ/∂θ from mathjs's symbolic derivative of the noise formula;
 * - ∂L/∂p of each trajectory flows to the PEtab parameter that sets p in that condition, and
 *   ∂L/∂y₀ through the model's initial assignments (symbolic derivatives) and species overrides.
 * Not yet: pre-equilibration and Laplace noise in gradients (refused with a message), measurements
 * at t = inf.
 */
import type { MathNode } from 'mathjs';
import { mathjs } from '../physics/mathjs.js';
import { derivative, evaluateExpr, type Expr } from '../physics/expr.js';
import { parseModel, type Model } from '../physics/model.js';
import { makeProblem } from '../solvers/problem.js';
import { InputError } from '../io/csv.js';
import type { MethodName } from '../methods/tableaus.js';
import type { PetabProblem, Scale } from '../io/petab/petab.js';
import { gradient } from './gradient.js';
import { conditionSources, fromScale, toScale, transformJacobian, type Source } from './petab.js';
import type { Observations } from './loss.js';

export interface PetabObjectiveOptions {
  backend?: 'cpu' | 'gpu';
  method?: MethodName;
  rtol?: number;
  atol?: number;
}

export interface PetabObjective {
  /** Estimated PEtab parameters (ids), their scales and bounds and nominal values on those scales. */
  names: string[];
  scales: Scale[];
  lower: Float64Array;
  upper: Float64Array;
  nominal: Float64Array;
  /** The simulation conditions (one trajectory each per start). */
  conditions: string[];
  /** −llh and its gradient (on the parameters' scales) for each row of `x` (rows × names.length). */
  evaluate(x: Float64Array, withGradient?: boolean): Promise<{ nllh: Float64Array; grad: Float64Array }>;
}

/** d(linear value)/d(scaled value). */
const dLinear = (s: Scale, v: number) => (s === 'lin' ? 1 : s === 'log' ? v : v * Math.LN10);

/** Replaces symbols of a formula: placeholders by their values, SBML ids by model names, time by t. */
function rewrite(text: string, replace: (name: string) => MathNode | undefined): string {
  return mathjs.parse(text).transform((node) => {
    if (!('isSymbolNode' in node) || !node.isSymbolNode) return node;
    return replace((node as unknown as { name: string }).name) ?? node;
  }).toString();
}

/**
 * The PEtab −log-likelihood of the estimated parameters (on their PEtab scales) with its gradient.
 * @example
 * const objective = petabObjective(await readPetab('Boehm_JProteomeRes2014/Boehm_JProteomeRes2014.yaml'));
 * const { nllh, grad } = await objective.evaluate(objective.nominal); // one row: the nominal point
 */
export function petabObjective(problem: PetabProblem, options: PetabObjectiveOptions = {}): PetabObjective {
  if (problem.measurements.some((m) => m.preequilibration)) throw new InputError(`${problem.yaml}: gradients through pre-equilibration are not supported yet (petab llh and simulate are)`);
  if (problem.observables.some((o) => o.distribution === 'laplace')) throw new InputError(`${problem.yaml}: gradients with Laplace noise are not supported yet (petab llh and simulate are)`);
  if (problem.measurements.some((m) => !Number.isFinite(m.time))) throw new InputError(`${problem.yaml}: measurements at time inf (steady state) are not supported yet`);
  const spec = structuredClone(problem.spec) as Record<string, Record<string, unknown>>;
  const base = problem.model;
  const isModelParam = (id: string) => base.params.some((q) => q.name === problem.modelName(id));
  // PEtab-only parameters (observable and noise parameters) join the model as parameters.
  for (const p of problem.parameters) if (!isModelParam(p.id)) spec.params![p.id] = Number.isFinite(p.nominal) ? p.nominal : 1;
  const symbolFor = (v: string): MathNode => (Number.isNaN(Number(v)) ? mathjs.parse(isModelParam(v) ? problem.modelName(v) : v) : mathjs.parse(`(${Number(v)})`));
  const renameModelSymbols = (name: string) => (name === 'time' ? mathjs.parse('t') : problem.modelName(name) !== name ? mathjs.parse(problem.modelName(name)) : undefined);

  // One model observable per (observable, observableParameters) pair.
  const obsKey = new Map<string, number>();
  const observables: Record<string, string> = {};
  const measurementObs = problem.measurements.map((m) => {
    const key = `${m.observable}\u0000${m.observableParameters.join(';')}`;
    if (!obsKey.has(key)) {
      const o = problem.observables.find((x) => x.id === m.observable)!;
      const placeholder = new RegExp(`^observableParameter(\\d+)_${o.id}$`);
      const text = rewrite(o.formula, (name) => {
        const ph = placeholder.exec(name);
        if (ph) return symbolFor(m.observableParameters[Number(ph[1]) - 1]!);
        return renameModelSymbols(name);
      });
      obsKey.set(key, obsKey.size);
      observables[`petab_obs_${obsKey.size - 1}`] = text;
    }
    return obsKey.get(key)!;
  });
  spec.observables = { ...(spec.observables ?? {}), ...observables };
  const model: Model = parseModel(spec, problem.sbmlFile);
  const P = model.params.length, N = model.states.length;
  const paramIndex = (name: string) => model.params.findIndex((q) => q.name === name);

  const estimated = problem.parameters.filter((p) => p.estimate);
  const names = estimated.map((p) => p.id), scales = estimated.map((p) => p.scale), K = names.length;
  const column = new Map(names.map((n, j) => [n, j]));

  // Per condition: what sets each model parameter (a PEtab id, or a constant) and each species override.
  const conditions = [...new Set(problem.measurements.map((m) => m.simulation))];
  const setup = conditions.map((c) => {
    // Every parameter of the augmented model is set by its PEtab parameter of the same (SBML) id
    // where there is one, else a constant; then the condition's overrides (conditionSources).
    const feed: Source[] = model.params.map((q) => ({ value: q.value }));
    for (const p of problem.parameters) { const i = paramIndex(problem.modelName(p.id)); if (i >= 0) feed[i] = { id: p.id, value: NaN }; }
    const sources = conditionSources(problem, c);
    for (const [i, src] of sources.params) feed[i] = src;
    return { feed, species: sources.species };
  });
  const C = conditions.length;
  const conditionOf = problem.measurements.map((m) => conditions.indexOf(m.simulation));

  // ∂y₀/∂p of the initial assignments (symbolic), for the chain rule through initial values.
  const initialGrad: Array<Array<[number, Expr]>> = model.states.map((_, s) => {
    const e = model.initial?.[s];
    if (!e) return [];
    return model.params.map((q, i) => [i, derivative(e, { kind: 'param', index: i, name: q.name })] as [number, Expr]).filter(([, d]) => !(d.k === 'num' && d.v === 0));
  });

  // Noise: σ per measurement from its formula, and ∂σ/∂(PEtab parameter) for the estimated ones.
  const noise = problem.measurements.map((m) => {
    const o = problem.observables.find((x) => x.id === m.observable)!;
    const placeholder = new RegExp(`^noiseParameter(\\d+)_${o.id}$`);
    const text = rewrite(o.noiseFormula, (name) => {
      const ph = placeholder.exec(name);
      if (ph) { const v = m.noiseParameters[Number(ph[1]) - 1]!; return Number.isNaN(Number(v)) ? mathjs.parse(v) : mathjs.parse(`(${Number(v)})`); }
      if (model.states.some((q) => q.name === problem.modelName(name))) throw new InputError(`${problem.files.observables}:${o.line}: the noise formula of "${o.id}" depends on the model's state "${name}": not supported for fitting yet`);
      return undefined;
    });
    const node = mathjs.parse(text), f = node.compile();
    const symbols = new Set<string>();
    node.traverse((n) => { if ('isSymbolNode' in n && n.isSymbolNode) symbols.add((n as unknown as { name: string }).name); });
    const grads = [...symbols].filter((s) => column.has(s)).map((s) => [column.get(s)!, mathjs.derivative(text, s).compile()] as const);
    return { f, grads, transformation: o.transformation };
  });
  const observed: Observations['observables'] = [...obsKey.keys()].map((key, k) => {
    const o = problem.observables.find((x) => x.id === key.split('\u0000')[0])!;
    return { name: `petab_obs_${k}`, noise: o.transformation === 'lin' ? 'normal' : 'lognormal', sigma: 1, scale: 1, offset: 0 };
  });
  const defaultValues = Object.fromEntries(problem.parameters.map((p) => [p.id, p.nominal]));
  // rodas4 on both backends: the collection's models are stiff (rates up to 1e5), and the GPU
  // adjoint differentiates Rosenbrock methods too.
  const solverOptions = { method: options.method ?? 'rodas4', rtol: options.rtol ?? (options.backend === 'gpu' ? 1e-6 : 1e-8), atol: options.atol ?? (options.backend === 'gpu' ? 1e-8 : 1e-12), maxSteps: 1_000_000 } as const;
  const tEnd = Math.max(...problem.measurements.map((m) => m.time), 1e-9);

  const evaluate = async (x: Float64Array, withGradient = true) => {
    const B = x.length / K;
    const params = new Float64Array(B * C * P);
    const values: Array<Record<string, number>> = [];
    for (let b = 0; b < B; b++) {
      const v = { ...defaultValues };
      names.forEach((n, j) => { v[n] = fromScale(scales[j]!, x[b * K + j]!); });
      values.push(v);
      setup.forEach(({ feed }, c) => feed.forEach((f, i) => { params[(b * C + c) * P + i] = f.id ? v[f.id]! : f.value; }));
    }
    // makeProblem evaluates the initial assignments for every trajectory's parameters; then the
    // conditions' species overrides.
    const problemAll = makeProblem(model, { t1: tEnd, params });
    const initial = problemAll.initial;
    for (let b = 0; b < B; b++) setup.forEach(({ species }, c) => { for (const [s, f] of species) initial[(b * C + c) * N + s] = f.id ? values[b]![f.id]! : f.value; });
    const sigma = new Float64Array(B * problem.measurements.length);
    const data: Observations['data'] = [];
    for (let b = 0; b < B; b++) {
      problem.measurements.forEach((m, k) => {
        const s = Number(noise[k]!.f.evaluate(values[b]!));
        sigma[b * problem.measurements.length + k] = s;
        data.push({ traj: b * C + conditionOf[k]!, t: m.time, observable: measurementObs[k]!, value: m.value, sigma: noise[k]!.transformation === 'log10' ? s * Math.LN10 : s });
      });
    }
    const r = await gradient(problemAll, { observables: observed, data }, {}, { ...solverOptions, backend: options.backend ?? 'cpu', lossOnly: !withGradient });
    const nllh = new Float64Array(B), grad = new Float64Array(B * K);
    const M = problem.measurements.length;
    for (let b = 0; b < B; b++) {
      let v = 0;
      for (let c = 0; c < C; c++) v += r.lossPerTrajectory[b * C + c]!;
      problem.measurements.forEach((m, k) => {
        const s = sigma[b * M + k]!, t = noise[k]!.transformation;
        v += Math.log(s) + 0.5 * Math.log(2 * Math.PI) + transformJacobian(t, m.value);
      });
      nllh[b] = r.status.subarray(b * C, (b + 1) * C).every((st) => st === 1) ? v : Infinity;
    }
    if (!withGradient) return { nllh, grad };

    // ∂L/∂p and ∂L/∂y₀ of each trajectory → the PEtab parameters that set them.
    for (let b = 0; b < B; b++) {
      const g = grad.subarray(b * K, (b + 1) * K);
      setup.forEach(({ feed, species }, c) => {
        const tr = b * C + c, p = params.subarray(tr * P, (tr + 1) * P);
        feed.forEach((f, i) => { const j = f.id !== undefined ? column.get(f.id) : undefined; if (j !== undefined) g[j]! += r.params[tr * P + i]!; });
        model.states.forEach((_, s) => {
          const gy = r.initial[tr * N + s]!;
          if (gy === 0) return;
          const over = species.get(s);
          if (over) { const j = over.id !== undefined ? column.get(over.id) : undefined; if (j !== undefined) g[j]! += gy; return; }
          for (const [i, d] of initialGrad[s]!) {
            const j = feed[i]!.id !== undefined ? column.get(feed[i]!.id!) : undefined;
            if (j !== undefined) g[j]! += gy * evaluateExpr(d, (ref) => (ref.kind === 'param' ? p[ref.index]! : NaN));
          }
        });
      });
    }
    // The σ-part: (1/σ + ∂L/∂σ)·∂σ/∂θ, with ∂L/∂σ = −r²/σ of each datum from the adjoint's own loss
    // (its σ is s·ln 10 for log10 observables, so ∂L/∂s takes that factor).
    for (let b = 0; b < B; b++) {
      problem.measurements.forEach((_, k) => {
        const nz = noise[k]!;
        if (!nz.grads.length) return;
        const s = sigma[b * M + k]!;
        const dnll = 1 / s + r.sigma[b * M + k]! * (nz.transformation === 'log10' ? Math.LN10 : 1);
        for (const [j, d] of nz.grads) grad[b * K + j]! += dnll * Number(d.evaluate(values[b]!));
      });
    }
    // Linear → the parameters' scales.
    for (let b = 0; b < B; b++) names.forEach((n, j) => { grad[b * K + j]! *= dLinear(scales[j]!, values[b]![n]!); });
    return { nllh, grad };
  };

  return {
    names, scales, conditions,
    lower: Float64Array.from(estimated, (p) => toScale(p.scale, p.lower)),
    upper: Float64Array.from(estimated, (p) => toScale(p.scale, p.upper)),
    nominal: Float64Array.from(estimated, (p) => toScale(p.scale, p.nominal)),
    evaluate,
  };
}
