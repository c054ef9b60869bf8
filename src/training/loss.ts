/**
 * The loss a twin is fitted with:
 *   L = Σ_data ℓ(scale_o·h_o(t, y(t), p) + offset_o ; value, σ_o)     observation model, per observable o
 *     + Π                                                             mass-conservation penalty λ∫ρ² dt
 *     + (α/2)·|θ|²                                                    L2 on the neural weights
 *     + Σ_trajectories Σ_q −log prior(p_q)                           priors on mechanistic parameters
 * with ℓ = ½ r², r = (z − value)/σ (normal) or (log z − log value)/σ (log-normal): the negative log
 * likelihood up to terms that depend on the data only. Data may sit at any times, differ per
 * trajectory and have gaps (missing values are skipped).
 */
import { derivative, type Expr } from '../physics/expr.js';
import type { Model } from '../physics/model.js';
import { compileExprF64 } from '../codegen/compile.js';

export type Noise = 'normal' | 'lognormal';

/** How the model is observed: one entry per observable that data refer to. */
export interface ObservableModel {
  /** A state name or an observable of the model. */
  name: string;
  noise: Noise;
  sigma: number;
  /** z = scale·h + offset; both are observation parameters and get gradients. */
  scale: number;
  offset: number;
}

/** One measurement. */
export interface Datum {
  traj: number;
  t: number;
  /** Index into `Observations.observables`. */
  observable: number;
  value: number;
  /**
   * Per-measurement observation model, overriding the observable's (z = scale·h + offset, noise σ):
   * how per-cell scale, offset, drift and photobleaching reach the adjoint (src/twin/observation.ts).
   */
  scale?: number;
  offset?: number;
  sigma?: number;
}

export interface Observations {
  observables: ObservableModel[];
  data: Datum[];
}

export type Prior =
  | { kind: 'normal'; mean: number; sd: number }
  | { kind: 'lognormal'; meanLog: number; sdLog: number }
  | { kind: 'uniform'; min: number; max: number };

export interface LossTerms {
  /** Priors by parameter name (applied to every trajectory's value). */
  priors?: Record<string, Prior>;
  /** α of (α/2)|θ|². */
  l2Weights?: number;
  /** λ of the conservation penalty (needs a model with a "conserved" law); 0 or absent: off. */
  conservation?: number;
}

/** An observable h(t, y, p) with its gradients, compiled for the CPU (f64). */
export interface CompiledObservable {
  value: (t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number;
  dy: Array<(t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number>;
  dp: Array<(t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number>;
  /** The indices k (q) whose ∂h/∂y_k (∂h/∂p_q) is not identically 0, so that loops skip the rest. */
  dyNonzero: number[];
  dpNonzero: number[];
}

export function compileObservable(model: Model, name: string): CompiledObservable {
  const si = model.states.findIndex((s) => s.name === name);
  const expr: Expr = si >= 0
    ? { k: 'sym', ref: { kind: 'state', index: si, name } }
    : model.observables.find((o) => o.name === name)?.expr ?? (() => { throw new Error(`unknown observable "${name}"`); })();
  const dy = model.states.map((s, k) => derivative(expr, { kind: 'state', index: k, name: s.name }));
  const dp = model.params.map((q, k) => derivative(expr, { kind: 'param', index: k, name: q.name }));
  const nonzero = (ds: Expr[]) => ds.flatMap((d, k) => (d.k === 'num' && d.v === 0 ? [] : [k]));
  return {
    value: compileExprF64(model, expr),
    dy: dy.map((d) => compileExprF64(model, d)), dp: dp.map((d) => compileExprF64(model, d)),
    dyNonzero: nonzero(dy), dpNonzero: nonzero(dp),
  };
}

/** ℓ(z) and dℓ/dz for one measurement. */
export function residualLoss(o: Pick<ObservableModel, 'noise' | 'sigma'>, z: number, value: number): [number, number] {
  const slope = new Float64Array(1);
  const l = residualLossInto(o.noise, o.sigma, z, value, slope);
  return [l, slope[0]!];
}

/**
 * ℓ(z) for one measurement, dℓ/dz left in `slope[0]`: the form the gradients call once per datum
 * per solve, which must not allocate (a returned pair was 100 bytes a datum, 400 MB of garbage in a
 * cohort fit; issue 15).
 */
export function residualLossInto(noise: ObservableModel['noise'], sigma: number, z: number, value: number, slope: Float64Array): number {
  if (noise === 'normal') {
    const r = (z - value) / sigma;
    slope[0] = r / sigma;
    return 0.5 * r * r;
  }
  if (!(z > 0)) { slope[0] = NaN; return Infinity; }
  const r = (Math.log(z) - Math.log(value)) / sigma;
  slope[0] = r / (sigma * z);
  return 0.5 * r * r;
}

/** −log prior and its derivative at p (uniform: 0 inside the bounds, +∞ outside). */
export function priorLoss(prior: Prior, p: number): [number, number] {
  switch (prior.kind) {
    case 'normal': { const r = (p - prior.mean) / prior.sd; return [0.5 * r * r, r / prior.sd]; }
    case 'lognormal': {
      if (!(p > 0)) return [Infinity, NaN];
      const r = (Math.log(p) - prior.meanLog) / prior.sdLog;
      return [0.5 * r * r + Math.log(p), (r / prior.sdLog + 1) / p];
    }
    case 'uniform': return p >= prior.min && p <= prior.max ? [0, 0] : [Infinity, NaN];
  }
}
