/**
 * Problem → solve → Solution (STYLE.md §1–2). The batch is the problem: every trajectory has its
 * own parameters and initial state; the model and time span are shared.
 */
import type { Model } from '../physics/model.js';
import { evaluateExpr } from '../physics/expr.js';
import { defaultWeights, neuralWeightCount } from '../codegen/compile.js';
import type { Method } from '../methods/tableaus.js';

export interface EnsembleProblem {
  model: Model;
  batch: number;
  t0: number;
  t1: number;
  /** Save times, strictly increasing, within [t0, t1]. */
  saveat: Float64Array;
  /** batch × P, row per trajectory, parameters in model order. */
  params: Float64Array;
  /** batch × N, row per trajectory, states in model order. */
  initial: Float64Array;
  /** Weights θ of the model's neural term, shared by the whole batch (empty without one). */
  weights: Float64Array;
}

export interface ProblemInput {
  t0?: number;
  t1: number;
  /** Save times; default: 101 evenly spaced points over [t0, t1]. */
  saveat?: ArrayLike<number>;
  /** Number of trajectories; default: rows of `params`/`initial`, else 1. */
  batch?: number;
  /** batch × P values (model order); default: the model's defaults. */
  params?: Float64Array;
  /** batch × N values (model order); default: the model's initial values. */
  initial?: Float64Array;
  /** Neural weights θ shared by the batch; default: the seeded initial weights of the model's spec. */
  weights?: Float64Array;
}

/** Thrown for a problem that cannot be solved as stated (bad span, save times, sizes). */
export class ProblemError extends Error {
  override name = 'ProblemError';
}

/** Builds and checks an ensemble problem; defaults come from the model.
 * @example
 * const cohort = makeProblem(condensateModel(), { t1: 3600, batch: 64, saveat: linspace(0, 3600, 61) });
 */
export function makeProblem(model: Model, input: ProblemInput): EnsembleProblem {
  const t0 = input.t0 ?? 0;
  const { t1 } = input;
  if (!Number.isFinite(t0) || !Number.isFinite(t1)) throw new ProblemError(`t0 and t1 must be finite numbers (got ${t0}, ${t1})`);
  if (!(t1 > t0)) throw new ProblemError(`t1 (${t1}) must be greater than t0 (${t0})`);
  const N = model.states.length, P = model.params.length;
  const rowsOf = (a: Float64Array | undefined, width: number) => (a && width > 0 ? a.length / width : undefined);
  const batch = input.batch ?? rowsOf(input.params, P) ?? rowsOf(input.initial, N) ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new ProblemError(`batch must be a positive integer (got ${batch})`);

  const fill = (given: Float64Array | undefined, width: number, defaults: number[], what: string) => {
    if (given) {
      if (given.length !== batch * width) throw new ProblemError(`${what} has ${given.length} values; expected batch × ${width} = ${batch * width}`);
      return given;
    }
    const out = new Float64Array(batch * width);
    for (let b = 0; b < batch; b++) out.set(defaults, b * width);
    return out;
  };
  const params = fill(input.params, P, model.params.map((p) => p.value), 'params');
  const initial = fill(input.initial, N, model.states.map((s) => s.value), 'initial');
  // States whose initial value is an expression of the parameters (model `initial` section):
  // evaluated with each trajectory's own parameters, unless initial values were given.
  if (!input.initial && model.initial) {
    for (let b = 0; b < batch; b++) {
      model.initial.forEach((e, i) => {
        if (e) initial[b * N + i] = evaluateExpr(e, (r) => (r.kind === 'param' ? params[b * P + r.index]! : NaN));
      });
    }
  }

  const saveat = input.saveat ? Float64Array.from(input.saveat) : linspace(t0, t1, 101);
  if (saveat.length === 0) throw new ProblemError('saveat is empty: give at least one save time');
  for (let i = 0; i < saveat.length; i++) {
    const s = saveat[i]!;
    if (!Number.isFinite(s) || s < t0 || s > t1) throw new ProblemError(`save time ${s} lies outside [t0, t1] = [${t0}, ${t1}]`);
    if (i > 0 && !(s > saveat[i - 1]!)) throw new ProblemError(`save times must increase strictly (${saveat[i - 1]} then ${s})`);
  }
  const nW = neuralWeightCount(model);
  const weights = input.weights ?? defaultWeights(model);
  if (weights.length !== nW) throw new ProblemError(`weights has ${weights.length} values; the model's neural term needs ${nW}`);
  if (!weights.every(Number.isFinite)) throw new ProblemError('weights contains a non-finite value');
  return { model, batch, t0, t1, saveat, params, initial, weights };
}

/** What `remake` may change; everything else is taken from the problem. */
export interface ProblemChanges {
  model?: Model;
  batch?: number;
  t0?: number;
  t1?: number;
  saveat?: ArrayLike<number>;
  params?: Float64Array;
  initial?: Float64Array;
  weights?: Float64Array;
}

/**
 * A variant of `problem` with some fields replaced, checked exactly as `makeProblem` checks a new
 * one (SciMLBase's `remake`): sizes against the batch and the model, save times inside the span,
 * finite weights. Fields not given are kept (save times included: give `saveat` when the span
 * moves past them).
 * @example
 * const treated = remake(problem, { params: withDrug, t1: 7200, saveat: linspace(0, 7200, 121) });
 */
export function remake(problem: EnsembleProblem, changes: ProblemChanges): EnsembleProblem {
  const model = changes.model ?? problem.model;
  const batch = changes.batch ?? problem.batch;
  const made = makeProblem(model, {
    batch, t0: changes.t0 ?? problem.t0, t1: changes.t1 ?? problem.t1, saveat: changes.saveat ?? problem.saveat,
    params: changes.params ?? problem.params, initial: changes.initial ?? problem.initial, weights: changes.weights ?? problem.weights,
  });
  // New parameters for a model whose `initial` section computes initial values from them: those
  // states follow the new parameters (the others keep the problem's values).
  if (changes.params && !changes.initial && model.initial && batch === problem.batch) {
    const fresh = makeProblem(model, { batch, t0: made.t0, t1: made.t1, saveat: made.saveat, params: made.params, weights: made.weights }).initial;
    const N = model.states.length;
    model.initial.forEach((e, i) => { if (e) for (let b = 0; b < batch; b++) made.initial[b * N + i] = fresh[b * N + i]!; });
  }
  return made;
}

/** n evenly spaced points from a to b inclusive (the last one is exactly b).
 * @example
 * const everyMinute = linspace(0, 3600, 61); // 0, 60, …, 3600 (the last is exactly 3600)
 */
export function linspace(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? b : a + ((b - a) * i) / (n - 1);
  if (n > 1) out[n - 1] = b;
  return out;
}

export type Backend = 'auto' | 'gpu' | 'cpu';

/** How `solve` integrates (the method is its own argument): tolerances, steps, backend, progress. */
export interface SolveOptions {
  /** Relative tolerance (adaptive methods); default 1e-6. */
  rtol?: number;
  /** Absolute tolerance (adaptive methods); default 1e-8. */
  atol?: number;
  /** Step for fixed-step methods (rk4), required there; with `adaptive: false`, the step of any method. */
  dt?: number;
  /** false: take fixed steps of `dt` even with an adaptive method (for convergence studies). Default true. */
  adaptive?: boolean;
  /** Step attempts (accepted + rejected) per trajectory before `max_steps`; default 100 000. */
  maxSteps?: number;
  backend?: Backend;
  /** Called now and then with the number of finished trajectories. */
  onProgress?: (finished: number, total: number) => void;
  /** CPU backend: worker threads to use (default: the machine's cores). */
  workers?: number;
  /**
   * CPU backend, one trajectory: take exactly these steps (a sequence recorded by `gradientCpu` with
   * `recordSteps`), with no step control: derivative checks by finite differences at frozen steps.
   */
  steps?: ArrayLike<number>;
  /**
   * GPU backend, a model with a neural term: compile the network's weights into the solver's kernel
   * as constants instead of reading them from a buffer. On llvmpipe the solve takes ~21 % less time,
   * but each new weight set costs a pipeline compile (2.6–3.1 s there), so it pays when the same
   * weights are solved again or the solve is long (bench/README.md, "Weights compiled into the
   * kernel"). Default off; `solveInChunks` turns it on when it runs more than one chunk.
   */
  bakeWeights?: boolean;
}

export interface ResolvedOptions {
  /** The method, resolved and checked (a built-in tableau or the caller's). */
  method: Method;
  rtol: number;
  atol: number;
  dt: number;
  maxSteps: number;
  /** Fixed steps of dt (rk4 always; other methods with `adaptive: false`). */
  fixedStep: boolean;
  /** A step sequence to replay (see SolveOptions.steps). */
  steps?: Float64Array;
  /** See SolveOptions.bakeWeights; undefined: the default. */
  bakeWeights?: boolean;
}

export { statusName } from '../methods/status.js';
