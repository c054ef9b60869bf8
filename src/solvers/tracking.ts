/**
 * Conservation tracking for a problem: the augmented model of src/physics/conservation.ts with its
 * initial values (Q_ref(t₀) = Q(y₀) per trajectory, Π(t₀) = 0), and a report of drift and penalty
 * computed from the solution.
 */
import { withConservationTracking, type TrackedLaw, type TrackingOptions } from '../physics/conservation.js';
import { compileExprF64 } from '../codegen/compile.js';
import { STATUS } from '../methods/status.js';
import { remake, type EnsembleProblem } from './problem.js';
import type { Solution } from './solution.js';

export interface LawReport {
  name: string;
  /** Per trajectory: max over save times of |Q(y(t)) − Q_ref(t)| / |Q_ref(t)|. */
  drift: Float64Array;
  /** Per trajectory: λ∫ρ² dt over [t₀, last save time] (the penalty a loss adds). */
  penalty: Float64Array;
  /** Largest drift and summed penalty over the trajectories that finished (status success). */
  maxDrift: number;
  totalPenalty: number;
  /** Trajectories that did not finish (their drift and penalty are NaN and left out above). */
  failed: number;
}

export interface TrackedProblem {
  problem: EnsembleProblem;
  tracked: TrackedLaw[];
  /** Drift and penalty per conserved law, from a solution of `problem`. */
  report(sol: Solution): LawReport[];
}

/**
 * Adds, for every conserved law of the model, a state that integrates its reference Q_ref(t) from the rate law and one for the penalty λ∫ρ² dt; `report` gives drift and penalty per trajectory.
 * @example
 * const tracked = trackConservation(problem, { lambda: 10 });
 * const [law] = tracked.report(await solve(tracked.problem));
 * console.log(law!.maxDrift, law!.totalPenalty);
 */
export function trackConservation(problem: EnsembleProblem, opts: TrackingOptions = {}): TrackedProblem {
  const base = problem.model;
  const { model, tracked } = withConservationTracking(base, opts);
  const N0 = base.states.length, N = model.states.length, P = base.params.length, B = problem.batch;
  const quantity = tracked.map((t) => compileExprF64(base, t.law.expr));
  const initial = new Float64Array(B * N);
  for (let b = 0; b < B; b++) {
    const y0 = problem.initial.subarray(b * N0, (b + 1) * N0), p = problem.params.subarray(b * P, (b + 1) * P);
    initial.set(y0, b * N);
    tracked.forEach((t, l) => { initial[b * N + t.refIndex] = quantity[l]!(problem.t0, y0, p); });
  }
  return {
    problem: remake(problem, { model, initial }),
    tracked,
    report(sol) {
      const S = sol.t.length;
      return tracked.map((t, l) => {
        const drift = new Float64Array(B), penalty = new Float64Array(B);
        for (let b = 0; b < B; b++) {
          const p = problem.params.subarray(b * P, (b + 1) * P);
          let worst = 0;
          for (let s = 0; s < S; s++) {
            const y = sol.y.subarray((b * S + s) * N, (b * S + s + 1) * N);
            const ref = y[t.refIndex]!;
            worst = Math.max(worst, Math.abs(quantity[l]!(sol.t[s]!, y, p) - ref) / Math.abs(ref));
          }
          drift[b] = worst;
          penalty[b] = sol.y[(b * S + S - 1) * N + t.penaltyIndex]!;
        }
        let maxDrift = 0, totalPenalty = 0, failed = 0;
        for (let b = 0; b < B; b++) {
          if (sol.status[b] !== STATUS.success) { drift[b] = NaN; penalty[b] = NaN; failed++; continue; }
          maxDrift = Math.max(maxDrift, drift[b]!);
          totalPenalty += penalty[b]!;
        }
        return { name: t.law.name, drift, penalty, maxDrift, totalPenalty, failed };
      });
    },
  };
}
