/**
 * Gradients of the loss (src/training/loss.ts) by the discrete adjoint of the integrator, on the
 * CPU in f64 (the reference path).
 *
 * Method: the *discrete* adjoint ("differentiate the solver, then backpropagate"; Sandu 2006 for
 * Runge–Kutta, Sandu 2008 for Rosenbrock methods): the accepted step
 * sizes are treated as constants, and each step y_{n+1} = Φ_h(y_n, p, θ) is differentiated exactly,
 * stage by stage, including the dense output that produced each observation. Why this rather than
 * the continuous adjoint λ' = −Jᵀλ: the gradient is the exact gradient of the numbers the forward
 * pass computed, so it agrees with finite differences to rounding (not merely to the tolerance),
 * an optimizer sees a consistent loss and gradient, and it needs no backward ODE solve whose own
 * step control would have to track a stiff adjoint. For the Rosenbrock methods the stage matrix
 * W = I/(hγ) − J(y_n) depends on y_n and p, which brings in second derivatives of the model
 * (∇⟨J̄, J⟩); they are generated symbolically (src/codegen/compile.ts, compileSensitivityF64), which
 * is available for mechanistic models (not through a neural term).
 *
 * Memory: the forward pass keeps per accepted step three scalars (start time, size, save counter)
 * and the state only every `checkpointEvery` steps. The backward pass replays one segment between
 * checkpoints at a time from its checkpoint, so memory grows with the number of checkpoints plus
 * one segment, not with the number of steps times the stages. On the CPU, where one trajectory's
 * steps × stages fit in `adjoint.stageTapeBytes` (explicit methods whose stages are all step
 * stages), the forward pass keeps them instead and the backward pass replays nothing.
 */
import { withConservationTracking } from '../physics/conservation.js';
import { compileExprF64, compileF64, compileSensitivityF64, type ModelF64, type SensitivityF64 } from '../codegen/compile.js';
import { compileMlpF64, type MlpF64 } from '../codegen/neural.js';
import type { ExplicitTableau, Method, MethodName, RosenbrockTableau } from '../methods/tableaus.js';
import { STATUS } from '../methods/status.js';
import { ProblemError, type EnsembleProblem, type SolveOptions } from '../solvers/problem.js';
import { resolveOptions } from '../solvers/options.js';
import { StageTape, StepTrace, integrateTrajectory } from '../solvers/cpu/integrate.js';
import { acceptedStageNames, compileJs, explicitRecordNames, explicitStages, explicitStepAdjoint, jsTarget, lincomb, luSolve, luSolveTransposed, range, readByLaterStage, rosenbrockStages, rosenbrockStepAdjoint } from '../codegen/step.js';
import { compileObservable, priorLoss, residualLossInto, type LossTerms, type Observations } from './loss.js';
import type { Model } from '../physics/model.js';

/**
 * How the discrete adjoint trades memory for recomputation (compare diffrax's adjoint strategies
 * and SciMLSensitivity's checkpointing): both backends store the state every `checkpointEvery`
 * accepted steps and replay one segment at a time in the backward sweep, or keep every step's
 * stages instead while they fit in `stageTapeBytes`.
 */
export interface AdjointStrategy {
  /** Accepted steps between stored states (default 32): smaller stores more and replays less. */
  checkpointEvery?: number;
  /**
   * GPU: the bytes of device memory one chunk of trajectories may take (checkpoints, tape, saves,
   * network signals); the batch is split into chunks that fit. Default: one storage binding (≤ 256 MiB).
   */
  memoryBudgetBytes?: number;
  /**
   * The bytes per trajectory for keeping every accepted step's state and stages as the forward
   * pass computed them, so the backward sweep needs no replay (explicit methods whose stages are
   * all step stages). A trajectory that needs more replays from the checkpoints (on the GPU, its
   * chunk does; there the tape also takes no more than one storage binding and
   * `memoryBudgetBytes` leave); 0 always replays. Default 32 MiB (about 100 000 steps of a
   * 3-state dopri5 model).
   */
  stageTapeBytes?: number;
}

export interface GradientOptions extends SolveOptions {
  /** The method: a built-in by name (default 'dopri5') or a tableau object. */
  method?: MethodName | Method;
  /** The adjoint's memory/recomputation strategy (checkpoint interval, GPU memory budget). */
  adjoint?: AdjointStrategy;
  /** Return each trajectory's accepted step sizes (for finite-difference checks at frozen steps). */
  recordSteps?: boolean;
  /** Compute the loss only (no backward sweep; the gradient fields stay 0), e.g. for line searches and finite differences. */
  lossOnly?: boolean;
}

export interface GradientResult {
  /** The total loss (Infinity if a trajectory failed or a prior is violated). */
  loss: number;
  /** Per trajectory: its data term plus its priors (and its share of the penalty). */
  lossPerTrajectory: Float64Array;
  /** ∂L/∂p, batch × P (model order). */
  params: Float64Array;
  /** ∂L/∂y₀, batch × N (model order). */
  initial: Float64Array;
  /** ∂L/∂θ of the neural weights (shared by the batch). */
  weights: Float64Array;
  /** ∂L/∂scale and ∂L/∂offset per observable (in `Observations.observables` order). */
  observation: Array<{ name: string; scale: number; offset: number }>;
  /** ∂L/∂σ of each datum that carries its own σ (`Datum.sigma`), in `Observations.data` order; 0 for the others. */
  sigma: Float64Array;
  status: Uint8Array;
  /** Forward steps per trajectory (for cost reports). */
  steps: Uint32Array;
  /** With `recordSteps`: the accepted step sizes of each trajectory. */
  stepSizes?: Float64Array[];
  /** GPU: how many chunks the batch was split into (device limits, `adjoint.memoryBudgetBytes`). */
  chunks?: number;
  /** GPU: how many of the chunks replayed from checkpoints (no stage tape for the method, or their steps outran it). */
  replayedChunks?: number;
}

/** `adjoint.stageTapeBytes`, checked (default 32 MiB per trajectory); both backends read it. */
export function stageTapeBytes(options: GradientOptions): number {
  const bytes = options.adjoint?.stageTapeBytes ?? 32 * 1024 * 1024;
  if (!(bytes >= 0)) throw new ProblemError(`adjoint.stageTapeBytes must be a number of bytes ≥ 0 (got ${bytes})`);
  return bytes;
}

/** The checkpoint interval of `options.adjoint` (default 32), checked. */
export function checkpointInterval(options: GradientOptions): number {
  const every = options.adjoint?.checkpointEvery ?? 32;
  if (!Number.isInteger(every) || every < 1) throw new ProblemError(`adjoint.checkpointEvery must be a positive integer (got ${every})`);
  return every;
}

/** A zero gradient for B trajectories of N states and P parameters, θ of length W. */
export function emptyResult(B: number, N: number, P: number, W: number, obs: Observations): GradientResult {
  return {
    loss: 0, lossPerTrajectory: new Float64Array(B), params: new Float64Array(B * P), initial: new Float64Array(B * N),
    weights: new Float64Array(W), observation: obs.observables.map((o) => ({ name: o.name, scale: 0, offset: 0 })),
    sigma: new Float64Array(obs.data.length), status: new Uint8Array(B), steps: new Uint32Array(B),
  };
}

/**
 * The solve's save times (every measurement time, sorted and unique, and t1 when a penalty is read
 * there) and each datum's index among them. Data come grouped by time far more often than not, so
 * the distinct times are collected first (a map, the last time remembered) and only those sorted:
 * sorting every datum's time took 7 ms of a 1024 × 50 loss (issue 15).
 */
function saveTimes(obs: Observations, t0: number, t1: number, needEnd: boolean): { saveat: Float64Array; saveOf: Int32Array } {
  const seen = new Map<number, number>(), distinct: number[] = [];
  const saveOf = new Int32Array(obs.data.length);
  const indexOf = (t: number) => {
    let j = seen.get(t);
    if (j === undefined) { j = distinct.length; seen.set(t, j); distinct.push(t); }
    return j;
  };
  let lastT = NaN, last = -1;
  obs.data.forEach((d, i) => {
    if (d.t !== lastT) {
      if (!(d.t >= t0 && d.t <= t1)) throw new ProblemError(`a measurement at t = ${d.t} lies outside [t0, t1] = [${t0}, ${t1}]`);
      lastT = d.t; last = indexOf(d.t);
    }
    saveOf[i] = last;
  });
  if (needEnd) indexOf(t1);
  const order = distinct.map((_, j) => j).sort((a, b) => distinct[a]! - distinct[b]!);
  const rank = new Int32Array(distinct.length);
  order.forEach((j, r) => { rank[j] = r; });
  for (let i = 0; i < saveOf.length; i++) saveOf[i] = rank[saveOf[i]!]!;
  return { saveat: Float64Array.from(order, (j) => distinct[j]!), saveOf };
}

/**
 * What the CPU and GPU gradients share besides the integrator: the model integrated (with the
 * conservation-tracking states when λ > 0), the save times, each trajectory's y₀, and the loss of
 * one trajectory from its saved states together with its cotangents.
 */
export interface GradientSetup {
  /** The model integrated: the problem's, or with tracking states. */
  model: Model;
  /** States of the problem's model, of the integrated one; parameters; trajectories. */
  N0: number; N: number; P: number; B: number;
  saveat: Float64Array;
  /** y₀ of trajectory b (N values; tracking states start at their conserved quantity). */
  initialState(b: number, y0: Float64Array): void;
  /**
   * The loss of trajectory b (data, penalty, priors) from its saved states `out` (S × N); adds
   * ∂L/∂y at each save into `ybarSaves` (S × N), ∂L/∂p into `pbar`, and ∂L/∂(scale, offset) and
   * the data's ∂L/∂σ into `result.observation` and `result.sigma`.
   */
  lossAt(b: number, out: Float64Array, ybarSaves: Float64Array, pbar: Float64Array, result: Pick<GradientResult, 'observation' | 'sigma'>): number;
}

/** With `lossOnly`, `lossAt` returns the loss alone and leaves the cotangents and observation gradients at 0 (line searches ask for many losses). */
export function gradientSetup(problem: EnsembleProblem, obs: Observations, terms: LossTerms, method: Method, lossOnly = false): GradientSetup & { compiled: Compiled } {
  const base = problem.model;
  if (base.projection) throw new ProblemError('gradients through a projection are not supported; fit without `project`');
  if (method.kind === 'rosenbrock' && base.neural) {
    throw new ProblemError(`gradients with ${method.name} through a neural term need its second derivatives, which are not generated; use dopri5 or tsit5`);
  }
  const compiled = compiledFor(base, terms.conservation ?? 0, problem.weights, method.kind === 'rosenbrock');
  const { model, tracking, observable, quantityOf } = compiled;
  if (method.kind === 'rosenbrock' && !compiled.sens.secondOrder) throw new ProblemError(`${method.name} gradients need second derivatives of the model, which are unavailable`);
  const N0 = base.states.length, N = model.states.length, P = base.params.length, B = problem.batch;
  const { saveat, saveOf } = saveTimes(obs, problem.t0, problem.t1, tracking !== undefined);
  const S = saveat.length;
  const observables = obs.observables.map((o) => observable(o.name));
  // The derivatives of h that are not identically 0 (an observable reads few of the states and parameters).
  const dyUsed = observables.map((h) => h.dyNonzero), dpUsed = observables.map((h) => h.dpNonzero);
  // One datum's saved state, copied into this array (not a subarray view allocated per datum).
  const y = new Float64Array(N0);
  const quantity = tracking?.tracked.map((t) => quantityOf(t.law.name));
  const priors = Object.entries(terms.priors ?? {}).map(([name, prior]) => {
    const q = base.params.findIndex((x) => x.name === name);
    if (q < 0) throw new ProblemError(`a prior names "${name}", which is not a parameter of the model`);
    return { q, prior };
  });
  // Each trajectory's data (indices into obs.data), as one array in trajectory order: trajectory b's
  // are order[first[b] … first[b + 1]) (a counting sort; an array per trajectory was garbage per call).
  const first = new Int32Array(B + 1), order = new Int32Array(obs.data.length);
  obs.data.forEach((d) => {
    if (d.traj >= B) throw new ProblemError(`a measurement refers to trajectory ${d.traj}, but the batch has ${B}`);
    first[d.traj + 1]!++;
  });
  for (let b = 0; b < B; b++) first[b + 1]! += first[b]!;
  const next = first.slice(0, B);
  obs.data.forEach((d, i) => { order[next[d.traj]!++] = i; });
  const slope = new Float64Array(1);
  const param = (b: number) => problem.params.subarray(b * P, (b + 1) * P);
  return {
    compiled, model, N0, N, P, B, saveat,
    initialState(b, y0) {
      y0.fill(0);
      y0.set(problem.initial.subarray(b * N0, (b + 1) * N0));
      tracking?.tracked.forEach((t, l) => { y0[t.refIndex] = quantity![l]!(problem.t0, y0, param(b)); });
    },
    lossAt(b, out, ybarSaves, pbar, { observation, sigma }) {
      const p = param(b);
      let loss = 0;
      for (let j = first[b]!; j < first[b + 1]!; j++) {
        const i = order[j]!, d = obs.data[i]!, o = obs.observables[d.observable]!, h = observables[d.observable]!;
        const s = saveOf[i]!;
        for (let k = 0; k < N0; k++) y[k] = out[s * N + k]!;
        const hv = h.value(d.t, y, p);
        const scale = d.scale ?? o.scale, offset = d.offset ?? o.offset;
        const l = residualLossInto(o.noise, d.sigma ?? o.sigma, scale * hv + offset, d.value, slope), dz = slope[0]!;
        loss += l;
        if (lossOnly) continue;
        // l = ½r² with r ∝ 1/σ: ∂l/∂σ = −2l/σ.
        if (d.sigma !== undefined) sigma[i] = (-2 * l) / d.sigma;
        const g = observation[d.observable]!;
        if (d.scale === undefined) g.scale += dz * hv;
        if (d.offset === undefined) g.offset += dz;
        for (const k of dyUsed[d.observable]!) ybarSaves[s * N + k]! += dz * scale * h.dy[k]!(d.t, y, p);
        for (const q of dpUsed[d.observable]!) pbar[q]! += dz * scale * h.dp[q]!(d.t, y, p);
      }
      for (const t of tracking?.tracked ?? []) {
        loss += out[(S - 1) * N + t.penaltyIndex]!;
        ybarSaves[(S - 1) * N + t.penaltyIndex]! += 1;
      }
      for (const { q, prior } of priors) {
        const [l, dl] = priorLoss(prior, p[q]!);
        loss += l;
        if (!lossOnly) pbar[q]! += dl;
      }
      return loss;
    },
  };
}

/** The total loss and the L2 term on θ (added once, after the per-trajectory terms). */
export function finishResult(result: GradientResult, weights: Float64Array, terms: LossTerms): GradientResult {
  result.loss = result.lossPerTrajectory.reduce((a, v) => a + v, 0);
  const alpha = terms.l2Weights ?? 0;
  if (alpha > 0) weights.forEach((w, k) => { result.loss += 0.5 * alpha * w * w; result.weights[k]! += alpha * w; });
  return result;
}

/**
 * L and its gradient with respect to every trajectory's parameters and initial state, the shared
 * neural weights and the observation parameters.
 */
export function gradientCpu(problem: EnsembleProblem, obs: Observations, terms: LossTerms = {}, options: GradientOptions = {}): GradientResult {
  const opts = resolveOptions(options.method, options);
  const method = opts.method;
  const setup = gradientSetup(problem, obs, terms, method, options.lossOnly);
  const { model, compiled: { fns, sens, mlp }, N0, N, P, B, saveat } = setup;
  const S = saveat.length;

  const result = emptyResult(B, N0, P, problem.weights.length, obs);
  const out = new Float64Array(S * N);
  const ybarSaves = new Float64Array(S * N);
  const y0 = new Float64Array(N);
  const every = checkpointInterval(options);
  // One stepper and one segment buffer for the whole batch; `pCur` holds the current
  // trajectory's parameters.
  const pCur = new Float64Array(P);
  const stepper = method.kind === 'rosenbrock' ? new RosenbrockAdjoint(method, model, fns, sens, pCur) : new ExplicitAdjoint(method, model, fns, sens, mlp, pCur);
  const states = new Float64Array(every * N);
  // One segment's states (views made once: the sweep runs per step and must not allocate) and stages.
  const segment = { states, views: Array.from({ length: every }, (_, j) => states.subarray(j * N, (j + 1) * N)), stages: new Float64Array(every * stepper.record.size) };
  // Where the forward step has all the stages the sweep needs (explicit methods without
  // interpolation-only stages), it keeps them with y_n up to `stageTapeBytes` per trajectory, and
  // the sweep needs no replay: one forward pass's worth of f less (the replay was most of the
  // difference between the gradient/forward ratio and its goal, issue 15).
  const tapeBytes = stageTapeBytes(options);
  const tape = acceptedStageNames(method) && !options.lossOnly && tapeBytes > 0 ? new StageTape(N + stepper.record.size, tapeBytes) : undefined;

  for (let b = 0; b < B; b++) {
    const p = problem.params.subarray(b * P, (b + 1) * P);
    setup.initialState(b, y0);
    tape?.reset();
    const trace = new StepTrace(every, tape);
    const r = integrateTrajectory(method, fns, y0, p, problem.t0, problem.t1, saveat, opts, out, 0, trace);
    result.status[b] = r.status;
    result.steps[b] = r.steps;
    if (options.recordSteps) (result.stepSizes ??= [])[b] = Float64Array.from(trace.h);
    if (r.status !== STATUS.success) { result.lossPerTrajectory[b] = Infinity; continue; }

    // Loss terms at the save points and their cotangents ȳ_s.
    ybarSaves.fill(0);
    const pbar = result.params.subarray(b * P, (b + 1) * P);
    result.lossPerTrajectory[b] = setup.lossAt(b, out, ybarSaves, pbar, result);
    if (options.lossOnly) continue;

    pCur.set(p);
    const ybar = backward(stepper, segment, N, trace, saveat, ybarSaves, pbar, result.weights);
    result.initial.set(ybar.subarray(0, N0), b * N0);
  }
  return finishResult(result, problem.weights, terms);
}

interface Compiled {
  /** The model integrated: `base`, or with conservation tracking states when λ > 0. */
  model: Model;
  tracking?: ReturnType<typeof withConservationTracking>;
  weights: Float64Array;
  fns: ModelF64;
  sens: SensitivityF64;
  mlp?: MlpF64;
  observable(name: string): ReturnType<typeof compileObservable>;
  quantityOf(law: string): (t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number;
}
/** Compiled functions per model and λ (by content: workers receive copies), reused across calls. */
const compiledCache = new Map<string, { plain?: Compiled; second?: Compiled }>();
const CACHE_LIMIT = 16;

/**
 * The model's f64 functions (with the conservation-tracking states for a penalty λ > 0), built once
 * per model and kept: symbolic differentiation and code generation cost far more than one gradient
 * of a small batch, and an optimiser calls this hundreds of times. The functions read the weights
 * from one array that each call overwrites.
 */
function compiledFor(base: Model, lambda: number, weights: Float64Array, secondOrder: boolean): Compiled {
  const key = `${lambda}|${contentKey(base)}`;
  let entry = compiledCache.get(key);
  if (!entry) {
    if (compiledCache.size >= CACHE_LIMIT) compiledCache.delete(compiledCache.keys().next().value!);
    compiledCache.set(key, (entry = {}));
  }
  const slot = secondOrder ? 'second' : 'plain';
  let c = entry[slot];
  if (!c) {
    const tracking = lambda > 0 ? withConservationTracking(base, { lambda }) : undefined;
    const model = tracking?.model ?? base;
    const w = Float64Array.from(weights);
    const obsCache = new Map<string, ReturnType<typeof compileObservable>>();
    const qCache = new Map<string, (t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number>();
    c = entry[slot] = {
      model, tracking, weights: w, fns: compileF64(model, w), sens: compileSensitivityF64(model, w, secondOrder),
      mlp: model.neural ? compileMlpF64(model.neural, w) : undefined,
      observable: (name) => obsCache.get(name) ?? obsCache.set(name, compileObservable(base, name)).get(name)!,
      quantityOf: (law) => qCache.get(law) ?? qCache.set(law, compileExprF64(base, base.conserved.find((l) => l.name === law)!.expr)).get(law)!,
    };
  }
  c.weights.set(weights);
  return c;
}

/**
 * A model's content as a cache key, serialised once per model object (a fit asks for it on every
 * call, and serialising the expression trees each time took 0.2 ms a call); like the kernel cache
 * (src/codegen/kernel.ts, cachedKernel) this takes a model object as never changed in place.
 */
function contentKey(model: Model): string {
  let key = contentKeys.get(model);
  if (key === undefined) contentKeys.set(model, (key = JSON.stringify(model)));
  return key;
}
const contentKeys = new WeakMap<Model, string>();

/** Reverse sweep over the trajectory's steps; returns ȳ₀ and accumulates p̄ and θ̄. */
function backward(
  stepper: ExplicitAdjoint | RosenbrockAdjoint, segment: { states: Float64Array; views: Float64Array[]; stages: Float64Array }, N: number,
  trace: StepTrace, saveat: Float64Array, ybarSaves: Float64Array, pbar: Float64Array, wbar: Float64Array,
): Float64Array {
  const nSteps = trace.h.length;
  const ybar = new Float64Array(N);
  const { states, views, stages } = segment;
  const saves: Array<{ theta: number; bar: Float64Array }> = [];
  const savesOf = (n: number) => {
    const th = trace.th[n]!, tl = trace.tl[n]!, h = trace.h[n]!;
    const from = n === 0 ? trace.savesAtStart : trace.saveEnd[n - 1]!;
    saves.length = 0;
    for (let s = from; s < trace.saveEnd[n]!; s++) {
      saves.push({ theta: ((saveat[s]! - th) - tl) / h, bar: ybarSaves.subarray(s * N, (s + 1) * N) });
    }
  };
  const tape = trace.stages;
  if (tape && !tape.overflow && tape.count === nSteps) {
    // Every step's y_n and stages as the forward pass computed them: no replay.
    const yn = views[0]!;
    for (let n = nSteps - 1; n >= 0; n--) {
      const o = n * tape.stride;
      for (let k = 0; k < N; k++) yn[k] = tape.data[o + k]!;
      stepper.record.restore(tape.data, o + N);
      savesOf(n);
      stepper.backStep(trace.th[n]!, trace.h[n]!, yn, ybar, saves, pbar, wbar);
    }
  } else for (let c = trace.checkpoints.length - 1; c >= 0; c--) {
    // Segments between checkpoints, last first: replay the segment forward keeping each step's
    // stages (memory: one segment), then step backward through them.
    const first = c * trace.every, last = Math.min(nSteps, first + trace.every);
    states.set(trace.checkpoints[c]!, 0);
    for (let n = first; n < last; n++) {
      const j = n - first;
      stepper.replay(trace.th[n]!, trace.h[n]!, views[j]!);
      stepper.record.snapshot(stages, j * stepper.record.size);
      if (n + 1 < last) stepper.advance(trace.h[n]!, views[j]!, views[j + 1]!);
    }
    for (let n = last - 1; n >= first; n--) {
      savesOf(n);
      stepper.record.restore(stages, (n - first) * stepper.record.size);
      stepper.backStep(trace.th[n]!, trace.h[n]!, views[n - first]!, ybar, saves, pbar, wbar);
    }
  }
  // Save times at t0 read y₀ itself.
  for (let s = 0; s < trace.savesAtStart; s++) for (let k = 0; k < N; k++) ybar[k]! += ybarSaves[s * N + k]!;
  return ybar;
}

/**
 * f's VJP at one point: ȳ += Jᵀv, p̄ += (∂f/∂p)ᵀv, θ̄ += (∂f/∂θ)ᵀv. With a neural term, J and ∂f/∂p
 * are taken with the network held fixed and the network enters through its own VJP,
 * ū = (∂g/∂u)ᵀ ḡ with ḡ = (∂f/∂nn)ᵀv, then ȳ += (∂u/∂y)ᵀū, p̄ += (∂u/∂p)ᵀū — one network forward and
 * backward pass instead of its full Jacobian.
 */
class VjpAt {
  private readonly out: Float64Array;
  private readonly outIn: Float64Array;
  private readonly gu: Float64Array;
  constructor(readonly model: Model, readonly sens: SensitivityF64, readonly mlp: MlpF64 | undefined, readonly p: Float64Array) {
    this.out = new Float64Array(sens.vjp.length);
    this.outIn = new Float64Array(sens.inputVjp.length);
    this.gu = new Float64Array(model.neural?.inputs.length ?? 0);
  }
  apply(t: number, y: Float64Array, v: Float64Array, ybarOut: Float64Array, pbar: Float64Array, wbar: Float64Array) {
    const N = this.model.states.length, P = this.model.params.length, D = this.out;
    this.sens.vjp.v.set(v);
    this.sens.vjp.fn(t, y, this.p, D);
    for (let k = 0; k < N; k++) ybarOut[k]! += D[k]!;
    for (let q = 0; q < P; q++) pbar[q]! += D[N + q]!;
    if (!this.mlp) return;
    const nOut = this.model.neural!.outputs.length, nIn = this.gu.length;
    this.mlp.vjp(D.subarray(N + P + nOut, N + P + nOut + nIn), D.subarray(N + P, N + P + nOut), this.gu, wbar);
    this.sens.inputVjp.v.set(this.gu);
    this.sens.inputVjp.fn(t, y, this.p, this.outIn);
    for (let k = 0; k < N; k++) ybarOut[k]! += this.outIn[k]!;
    for (let q = 0; q < P; q++) pbar[q]! += this.outIn[N + q]!;
  }
}

/**
 * One replayed step's stage vectors (values and points, and for Rosenbrock W's factors and pivots)
 * as a flat record, so a segment's steps are kept without re-evaluating f.
 */
class StageRecord {
  readonly size: number;
  constructor(private readonly arrays: Array<Float64Array | Int32Array>) { this.size = arrays.reduce((n, a) => n + a.length, 0); }
  snapshot(into: Float64Array, at: number) { for (const a of this.arrays) { into.set(a, at); at += a.length; } }
  // Element by element: `a.set(from.subarray(…))` allocated a view per vector per step (a sixth of
  // the gradient's time went to restore and the collector).
  restore(from: Float64Array, at: number) {
    for (const a of this.arrays) { for (let i = 0; i < a.length; i++) a[i] = from[at + i]!; at += a.length; }
  }
}

/**
 * The explicit Runge–Kutta step and its adjoint (frozen h), printed as f64 JavaScript by the
 * generator that prints the GPU adjoint's (src/codegen/step.ts): the replayed stages and the
 * stage adjoint are the same code on both backends.
 */
class ExplicitAdjoint {
  /** The stages at (t, y) with step h into the stage vectors. */
  readonly replay: (t: number, h: number, y: Float64Array) => void;
  /** y_{n+1} = y + h Σ b_i k_i into out, from the stages last computed (the replay's next state). */
  readonly advance: (h: number, y: Float64Array, out: Float64Array) => void;
  /** ybar: in ȳ_{n+1}, out ȳ_n; the step's stages must be current (`replay` or `record.restore`). */
  readonly backStep: (t: number, h: number, y: Float64Array, ybar: Float64Array, saves: Array<{ theta: number; bar: Float64Array }>, pbar: Float64Array, wbar: Float64Array) => void;
  readonly record: StageRecord;
  constructor(tab: ExplicitTableau, model: Model, fns: ModelF64, sens: SensitivityF64, mlp: MlpF64 | undefined, p: Float64Array) {
    const N = model.states.length, nStages = tab.c.length;
    const T = jsTarget(N);
    for (const v of ['k0', 'yb']) T.vec(v);
    const k = range(nStages).map((s) => `k${s}`);
    // The replay needs k_s only where a later stage or y_{n+1} reads it (the points u_s always).
    const laterStage = readByLaterStage(tab);
    const needK = (s: number) => laterStage(s) || tab.b[s] !== 0;
    const adj = explicitStepAdjoint(T, tab);
    const body = `
function replay(t, hs, y) {
  rhs(t, y, p, k0);
${explicitStages(T, tab, 1, nStages, 'hs', 't', { needK })}
}
function advance(hs, y, out) {
${T.for('i', 0, N, (i) => `out[${i}] = y[${i}] + hs * (${lincomb(T, tab.b, k, i)});`)}
}
function backStep(t, hs, y, ybar, saves, pbar, wbar) {
${adj.initKbar}
  for (const sv of saves) {
    const theta = sv.theta, bar = sv.bar;
${adj.saveKbar}
  }
${adj.reverse((_s, point, t, v) => `yb.fill(0);\nvjp.apply(${t}, ${point}, ${v}, yb, pbar, wbar);`, 't', 'saves.length > 0')}
}
return { replay, advance, backStep };`;
    const vjp = new VjpAt(model, sens, mlp, p);
    const { value: f, vectors } = compileJs<Pick<ExplicitAdjoint, 'replay' | 'advance' | 'backStep'>>(T, { rhs: fns.rhs, p, vjp }, body);
    this.replay = f.replay;
    this.advance = f.advance;
    this.backStep = f.backStep;
    // In the order the forward integrator's stage tape writes them (src/solvers/cpu/integrate.ts).
    this.record = new StageRecord(explicitRecordNames(tab).map((n) => vectors[n]!));
  }
}

/**
 * The Rosenbrock step in the transformed form and its adjoint (frozen h, J and ∂f/∂t at y_n),
 * printed as f64 JavaScript by the generator that prints the GPU adjoint's (src/codegen/step.ts:
 * `rosenbrockStages`, `rosenbrockStepAdjoint`); J and ∂f/∂t close the chain through the model's
 * second derivatives (`SensitivityF64.secondOrder`).
 */
class RosenbrockAdjoint {
  /** The stages at (t, y) with step h: W's LU, U and u. */
  readonly replay: (t: number, h: number, y: Float64Array) => void;
  /** y_{n+1} = y + Σ m_j U_j into out, from the stages last computed. */
  readonly advance: (h: number, y: Float64Array, out: Float64Array) => void;
  /** As for the explicit step: the stages (W's factors, U, u) must be current. */
  readonly backStep: (t: number, h: number, y: Float64Array, ybar: Float64Array, saves: Array<{ theta: number; bar: Float64Array }>, pbar: Float64Array, wbar: Float64Array) => void;
  readonly record: StageRecord;
  constructor(tab: RosenbrockTableau, model: Model, fns: ModelF64, sens: SensitivityF64, p: Float64Array) {
    const N = model.states.length, nStages = tab.c.length;
    const T = jsTarget(N);
    for (const v of ['f0', 'yb']) T.vec(v);
    T.vec('g', N + model.params.length);
    const U = range(nStages).map((s) => `U${s}`);
    const adj = rosenbrockStepAdjoint(T, tab);
    const body = `
${luSolve(T)}
${luSolveTransposed(T)}
function replay(tx, hs, y) {
  rhs(tx, y, p, f0);
${rosenbrockStages(T, tab, false)}
}
function advance(hs, y, out) {
${T.for('i', 0, N, (i) => `out[${i}] = y[${i}] + ${lincomb(T, tab.m, U, i)};`)}
}
function backStep(tx, hs, y, ybar, saves, pbar, wbar) {
  const inv_h = 1.0 / hs;
${adj.initKbar}
  for (const sv of saves) {
    const theta = sv.theta, bar = sv.bar;
${adj.saveKbar}
  }
${adj.reverse((_s, point, t, v) => `yb.fill(0);\nvjp.apply(${t}, ${point}, ${v}, yb, pbar, wbar);`, 'tx')}
  // W and ∂f/∂t were evaluated at (t, y_n): their second derivatives close the chain.
${[['jacobianContract', 'Jb'], ['timeDerivativeContract', 'wdT']].map(([c, v]) => `second.${c}.v.set(${v});
second.${c}.fn(tx, y, p, g);
${T.for('i', 0, N, (i) => `ybar[${i}] += g[${i}];`)}
${T.for('q', 0, model.params.length, (q) => `pbar[${q}] += g[${N} + ${q}];`)}`).join('\n')}
}
return { replay, advance, backStep };`;
    const vjp = new VjpAt(model, sens, undefined, p);
    const { value: f, vectors } = compileJs<Pick<RosenbrockAdjoint, 'replay' | 'advance' | 'backStep'>>(T,
      { rhs: fns.rhs, jac: fns.jacobian, dfdt: fns.timeDerivative, p, vjp, second: sens.secondOrder! }, body);
    this.replay = f.replay;
    this.advance = f.advance;
    this.backStep = f.backStep;
    this.record = new StageRecord(Object.keys(vectors).filter((n) => /^(W|piv|[Uu]\d+)$/.test(n)).map((n) => vectors[n]!));
  }
}
