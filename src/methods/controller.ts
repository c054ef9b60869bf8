/** Step-size control constants, read by both backends' step code (one source of truth). */
import type { ExplicitTableau, Method } from './tableaus.js';

/**
 * Step-size control (Hairer, Nørsett & Wanner I, §II.4; DOPRI5's PI controller, Gustafsson 1991):
 *   fac = err^(1/q − 0.75β) / errₚᵣₑᵥ^β, h_new = h / clamp(fac/safety, 1/maxGrowth, 1/minShrink).
 */
export const CONTROLLER = {
  safety: 0.9,
  /** Smallest factor a step may shrink by in one go. */
  minShrink: 0.2,
  /** Largest factor a step may grow by in one go. */
  maxGrowth: 10,
  /** PI memory β for 5th-order pairs (DOPRI5 default 0.04); the 2(3) Rosenbrock uses pure I control. */
  betaFor: (m: Method) => (m.kind === 'explicit' && m.errorOrder === 5 ? 0.04 : 0),
  /**
   * With adaptive steps, a non-finite trial (NaN/Inf in the stages, the new state or the error
   * estimate) is rejected and the step shrinks by this factor. With fixed steps (rk4, or
   * `adaptive: false`) the step is the caller's, so every method ends the trajectory as `non_finite`.
   */
  nonFiniteShrink: 0.1,
  /** An explicit step is at most this fraction of the stability limit β/ρ (`stiffnessProbe`). */
  stabilitySafety: 0.9,
  /**
   * The stiffness estimate ρ is updated only where the two stage points differ by more than this
   * many ulps of the state (‖Δg‖ > ε_ulps·ε·‖y‖): below, their difference is rounding, not the
   * Jacobian's action, and ρ keeps its last value.
   */
  stiffnessUlps: 32,
};

/**
 * The controller's scalar registers, kept per trajectory between attempts (after y, its
 * compensation and t), with the values a trajectory starts from; both backends declare them from
 * here, and the GPU's state buffer and checkpoints hold them in this order.
 */
export const CONTROLLER_REGISTERS = [
  /** The next step; 0: the first attempt picks it (or takes the fixed dt). */
  { name: 'h', initial: 0 },
  /** The PI controller's memory of the last accepted error. */
  { name: 'err_prev', initial: 1e-4 },
  /** The stiffness estimate behind the stability cap; 0: none yet, no cap. */
  { name: 'rho', initial: 0 },
] as const;

/**
 * Why explicit steps need a stability cap besides the error estimate. Near a stable equilibrium
 * the stages agree to rounding, so the embedded error estimate is ~0 and the controller grows h
 * tenfold per step, far past the stability limit |hλ| ≤ β. The forward solution does not notice
 * (a perturbation below an ulp rounds away; in f32 the state often sits on an exact fixed point),
 * but the discrete adjoint is the derivative of that map: its cotangents grow by |R(hλ)| ≫ 1 per
 * step, and gradients came out as 1e15 instead of 4e4 (f32, the cohort bench). In f64 the
 * rounding noise is amplified and rejected instead, so the controller hovers at the limit.
 *
 * The estimate is Hairer's stiffness detection in DOPRI5 (HNW II §IV.2): for two stages g, ĝ at the
 * same time, ρ = ‖f(ĝ) − f(g)‖ / ‖ĝ − g‖ ≈ |λ_max| of ∂f/∂y. The next step is capped at
 * stabilitySafety·β/ρ, where β is the method's stability limit on the negative real axis
 * (|R(−β)| = 1, R(z) = 1 + z bᵀ(I − zA)⁻¹𝟙); at 0.9β, |R| ≈ 0.5 for dopri5 and tsit5, so an
 * equilibrium's perturbations (and the adjoint's cotangents) decay as the ODE's do.
 * Undefined for methods without two step stages at the same c (bs3, rk4): no cap.
 */
export function stiffnessProbe(tab: ExplicitTableau, stepStages: number): { stages: [number, number]; boundary: number } | undefined {
  let pair: [number, number] | undefined;
  for (let j = stepStages - 1; j > 0 && !pair; j--) for (let i = j - 1; i >= 0 && !pair; i--) if (tab.c[i] === tab.c[j]) pair = [i, j];
  if (!pair) return undefined;
  return { stages: pair, boundary: realStabilityBoundary(tab, stepStages) };
}

/** β = the first x > 0 with |R(−x)| > 1, to 1e-6 (scanned in steps of 1e-2, then bisected). */
export function realStabilityBoundary(tab: ExplicitTableau, stepStages: number): number {
  const R = (z: number) => {
    const g: number[] = [];
    for (let s = 0; s < stepStages; s++) {
      let acc = 1;
      for (let j = 0; j < s; j++) acc += z * (tab.a[s]![j] ?? 0) * g[j]!;
      g.push(acc);
    }
    return 1 + z * g.reduce((acc, v, s) => acc + (tab.b[s] ?? 0) * v, 0);
  };
  let lo = 0;
  while (Math.abs(R(-(lo + 1e-2))) <= 1) { lo += 1e-2; if (lo > 100) return Infinity; }
  let hi = lo + 1e-2;
  while (hi - lo > 1e-6) { const mid = (lo + hi) / 2; if (Math.abs(R(-mid)) <= 1) lo = mid; else hi = mid; }
  return lo;
}
