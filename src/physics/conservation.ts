/**
 * Conservation laws along trajectories (DESIGN.md: "the law behind the mass-conservation penalty").
 *
 * A law says that a quantity Q(y) of the state follows its own rate law, dQ/dt = r(Q, t, p) — total
 * TF with synthesis and decay, dT/dt = k_syn − k_deg·T. A mechanistic model built from fluxes obeys
 * it by construction; a learned (neural) correction need not. Three tools:
 *  - the residual  ρ(t, y) = ∇Q(y)·f(t, y) + ∂Q/∂t − r(Q(y)),  zero along a conserving model;
 *  - tracking: extra states integrate the reference Q_ref' = r(Q_ref) from Q(y₀) and the penalty
 *    Π' = λ·ρ² alongside the model, so drift |Q(y(t)) − Q_ref(t)| and λ∫ρ² dt come out of any solve,
 *    on either backend, differentiable like every other state (the adjoint sees them for free);
 *  - an optional projection after every accepted step onto Q(y) = Q_ref (one Newton step along
 *    ∇Q, i.e. the orthogonal projection to first order; Hairer, Lubich & Wanner, GNI §IV.4), off by
 *    default because it changes the dynamics a fit sees.
 */
import { add, derivative, div, mul, num, sub, substitute, type Expr } from './expr.js';
import { rateAt, type ConservedLaw, type Model } from './model.js';

const sym = (index: number, name: string): Expr => ({ k: 'sym', ref: { kind: 'state', index, name } });

/** dQ/dt along the model's vector field: Σ_k ∂Q/∂y_k f_k + ∂Q/∂t (neural terms included). */
export function quantityRate(model: Model, law: ConservedLaw): Expr {
  let rate = derivative(law.expr, { kind: 'time' });
  model.states.forEach((s, k) => {
    rate = add(rate, mul(derivative(law.expr, { kind: 'state', index: k, name: s.name }), model.equations[k]!));
  });
  return rate;
}

/** ρ = dQ/dt − r(Q): what the penalty squares. */
export const conservationResidual = (model: Model, law: ConservedLaw): Expr =>
  sub(quantityRate(model, law), rateAt(law, law.expr));

export interface TrackingOptions {
  /** Weight λ of the penalty λ∫ρ² dt (default 1). */
  lambda?: number;
  /** Project onto Q(y) = Q_ref after every accepted step (default false). */
  project?: boolean;
}

/** Where the tracking states of one law sit in the augmented model. */
export interface TrackedLaw {
  law: ConservedLaw;
  /** Index of Q_ref and of the penalty integral Π among the augmented states. */
  refIndex: number;
  penaltyIndex: number;
}

/**
 * The model plus, per conserved law, a state `_ref_<name>` (Q_ref' = r(Q_ref)) and `_penalty_<name>`
 * (Π' = λρ²). Their initial values are set by `trackConservation` in src/solvers (Q_ref(t₀) = Q(y₀)).
 */
export function withConservationTracking(model: Model, opts: TrackingOptions = {}): { model: Model; tracked: TrackedLaw[] } {
  if (model.conserved.length === 0) throw new Error(`model "${model.name}" declares no "conserved" quantity to track`);
  const lambda = opts.lambda ?? 1;
  if (!(lambda >= 0)) throw new RangeError(`the penalty weight λ must be ≥ 0 (got ${lambda})`);
  const states = [...model.states];
  const equations = [...model.equations];
  const tracked: TrackedLaw[] = [];
  for (const law of model.conserved) {
    const refIndex = states.length;
    states.push({ name: `_ref_${law.name}`, value: 0, unit: law.unit });
    equations.push(rateAt(law, sym(refIndex, `_ref_${law.name}`)));
    const penaltyIndex = states.length;
    states.push({ name: `_penalty_${law.name}`, value: 0 });
    const rho = conservationResidual(model, law);
    equations.push(mul(num(lambda), mul(rho, rho)));
    tracked.push({ law, refIndex, penaltyIndex });
  }
  let projection: Expr[] | undefined;
  if (opts.project) {
    // y ← y − (Q(y) − Q_ref)·∇Q/|∇Q|², law after law; the tracking states themselves stay as they are.
    projection = states.map((s, k) => sym(k, s.name)) as Expr[];
    for (const { law, refIndex } of tracked) {
      // Evaluated at the state the previous laws' projections produced.
      const current: Expr[] = projection;
      const at = (e: Expr) => substitute(e, (r) => (r.kind === 'state' ? current[r.index] : undefined));
      const grad = model.states.map((s, k) => at(derivative(law.expr, { kind: 'state', index: k, name: s.name })));
      const norm2 = grad.reduce<Expr>((acc, g) => add(acc, mul(g, g)), num(0));
      const excess = div(sub(at(law.expr), sym(refIndex, states[refIndex]!.name)), norm2);
      projection = current.map((e, k) => (k < grad.length ? sub(e, mul(excess, grad[k]!)) : e));
    }
  }
  return { model: { ...model, name: `${model.name}+conservation`, states, equations, projection }, tracked };
}
