/** Step-size control constants, read by both backends' step code (one source of truth). */
import type { Method } from './tableaus.js';

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
};
