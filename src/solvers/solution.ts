/**
 * The result of `solve` (STYLE.md §1; SciMLBase's ODESolution, diffrax's Solution): save times,
 * states, a status and the time reached per trajectory, solver statistics, and views by
 * trajectory, state or observable name.
 */
import { compileExprF64 } from '../codegen/compile.js';
import { statusName, type StatusName } from '../methods/status.js';
import { ProblemError, type EnsembleProblem } from './problem.js';

/** Per-trajectory solver statistics. */
export interface SolveStats {
  /** Accepted steps. */
  steps: Uint32Array;
  /** Rejected step attempts (error too large, or a non-finite trial). */
  rejected: Uint32Array;
  /** Right-hand-side evaluations. */
  rhsEvals: Uint32Array;
  /** Jacobian evaluations, each with one LU factorisation of W: one per step attempt for the Rosenbrock methods, 0 for explicit ones. */
  jacobians: Uint32Array;
}

/** One trajectory of a Solution. */
export interface TrajectoryView {
  t: Float64Array;
  /** saves × N, states in model order (a view into `Solution.y`). */
  y: Float64Array;
  status: StatusName | 'unknown';
  /** The time reached (t1 on success). */
  tEnd: number;
}

export class Solution {
  /** The save times. */
  readonly t: Float64Array;
  /** batch × saves × N, states in model order; NaN where a failed trajectory never reached a save time. */
  readonly y: Float64Array;
  /** Per-trajectory status code (see `STATUS`; `statusName` gives its name). */
  readonly status: Uint8Array;
  /** The time each trajectory reached: t1 on success, where it stopped otherwise. */
  readonly tEnd: Float64Array;
  readonly stats: SolveStats;
  readonly backend: 'gpu' | 'cpu';
  /** The method's name (a built-in's MethodName, or the name of the caller's tableau). */
  readonly method: string;
  /** Wall time in ms, and the part spent compiling pipelines (GPU). */
  readonly timing: { totalMs: number; compileMs: number };
  /** Set when the requested backend was not used (no WebGPU adapter, a lost device, an rtol f32 cannot honour). */
  readonly notice?: string;
  /** The problem this solves (for the views by name). */
  readonly problem: EnsembleProblem;

  constructor(fields: Omit<Solution, 'state' | 'trajectory' | 'observable' | 'batch'>) {
    this.t = fields.t; this.y = fields.y; this.status = fields.status; this.tEnd = fields.tEnd; this.stats = fields.stats;
    this.backend = fields.backend; this.method = fields.method; this.timing = fields.timing; this.problem = fields.problem;
    if (fields.notice !== undefined) this.notice = fields.notice;
  }

  /** Number of trajectories. */
  get batch(): number { return this.status.length; }

  /**
   * One state over every trajectory and save time: batch × saves, row per trajectory.
   * @example
   * const phi = sol.state('phi'); // phi[b * sol.t.length + s]
   */
  state(name: string): Float64Array {
    const states = this.problem.model.states;
    const k = states.findIndex((s) => s.name === name);
    if (k < 0) throw new ProblemError(`"${name}" is not a state of model "${this.problem.model.name}" (states: ${states.map((s) => s.name).join(', ')})`);
    const N = states.length, S = this.t.length, out = new Float64Array(this.batch * S);
    for (let i = 0; i < out.length; i++) out[i] = this.y[i * N + k]!;
    return out;
  }

  /**
   * One observable of the model (its `observables` section) over every trajectory and save time,
   * evaluated in f64 from the saved states and each trajectory's parameters: batch × saves.
   * @example
   * const J = sol.observable('J'); // transcriptional output k_esc·P
   */
  observable(name: string): Float64Array {
    const { model, params } = this.problem;
    const o = model.observables.find((x) => x.name === name);
    if (!o) throw new ProblemError(`"${name}" is not an observable of model "${model.name}" (observables: ${model.observables.map((x) => x.name).join(', ') || 'none'})`);
    const f = compileExprF64(model, o.expr);
    const N = model.states.length, P = model.params.length, S = this.t.length, out = new Float64Array(this.batch * S);
    for (let b = 0; b < this.batch; b++) {
      const p = params.subarray(b * P, (b + 1) * P);
      for (let s = 0; s < S; s++) out[b * S + s] = f(this.t[s]!, this.y.subarray((b * S + s) * N, (b * S + s + 1) * N), p);
    }
    return out;
  }

  /**
   * Trajectory `b`: its save times, states (a view), status and the time it reached.
   * @example
   * const { y, status, tEnd } = sol.trajectory(12);
   */
  trajectory(b: number): TrajectoryView {
    if (!(Number.isInteger(b) && b >= 0 && b < this.batch)) throw new ProblemError(`trajectory ${b} does not exist (the batch has ${this.batch}: 0…${this.batch - 1})`);
    const N = this.problem.model.states.length, S = this.t.length;
    return { t: this.t, y: this.y.subarray(b * S * N, (b + 1) * S * N), status: statusName(this.status[b]!), tEnd: this.tEnd[b]! };
  }
}
