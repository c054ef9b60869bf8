/**
 * `gradient()`: the one gradient entry point over the backends — the f32 GPU adjoint
 * (./gpu-adjoint.ts) or the f64 CPU adjoint (./adjoint.ts) spread over the worker threads.
 * Kept apart from both so that neither imports the other (no import cycle).
 */
import { cpus } from 'node:os';
import { remake, type EnsembleProblem } from '../solvers/problem.js';
import { fanOut, workerScript } from '../solvers/cpu/pool.js';
import { emptyResult, finishResult, gradientCpu, type GradientOptions, type GradientResult } from './adjoint.js';
import { gradientGpu } from './gpu-adjoint.js';
import type { LossTerms, Observations } from './loss.js';
import type { GradientWorkerApi } from './worker.js';

/** os.cpus().length, read once (it reads /proc on every call, and a fit's line search calls `gradient` a thousand times). */
let coreCount: number | undefined;

/**
 * The gradient on the backend `options.backend` names: 'gpu' runs the f32 adjoint of
 * src/training/gpu-adjoint.ts; otherwise `gradientCpu` spread over the machine's cores: the batch is split into contiguous chunks, one
 * per pooled worker thread, and the results joined (shared-weight and observation gradients are
 * summed; the L2 term on θ is added once). Same numbers as `gradientCpu`, which it falls back to
 * for small batches or when the compiled worker is missing.
 * @example
 * const g = await gradient(problem, observations, { l2Weights: 1e-3 }, { method: 'dopri5', backend: 'gpu' });
 * g.loss; g.params; // batch × P
 */
export async function gradient(problem: EnsembleProblem, obs: Observations, terms: LossTerms = {}, options: GradientOptions = {}, workers?: number): Promise<GradientResult> {
  // The f32 GPU adjoint only when asked for: the f64 CPU path is the reference, and it also covers
  // the Rosenbrock methods.
  if (options.backend === 'gpu') return gradientGpu(problem, obs, terms, options);
  const B = problem.batch;
  if (options.steps) return gradientCpu(problem, obs, terms, options);
  const { onProgress: _p, ...plain } = options;
  const N = problem.model.states.length, P = problem.model.params.length;
  const fanned = await fanOut<GradientWorkerApi, GradientResult>(workerScript(import.meta.url, 'worker.js'), B, workers ?? (coreCount ??= cpus().length), (api, start, end) => {
    const sub = remake(problem, { batch: end - start, params: problem.params.slice(start * P, end * P), initial: problem.initial.slice(start * N, end * N) });
    const data = obs.data.filter((d) => d.traj >= start && d.traj < end).map((d) => ({ ...d, traj: d.traj - start }));
    return api.gradient(sub, { observables: obs.observables, data }, { ...terms, l2Weights: 0 }, plain);
  });
  if (!fanned) return gradientCpu(problem, obs, terms, options);
  const { starts, parts } = fanned;
  const out = emptyResult(B, N, P, problem.weights.length, obs);
  if (options.recordSteps) out.stepSizes = [];
  parts.forEach((r, w) => {
    const start = starts[w]!;
    out.lossPerTrajectory.set(r.lossPerTrajectory, start);
    out.params.set(r.params, start * P);
    out.initial.set(r.initial, start * N);
    out.status.set(r.status, start);
    out.steps.set(r.steps, start);
    r.weights.forEach((v, k) => { out.weights[k]! += v; });
    r.observation.forEach((g, k) => { out.observation[k]!.scale += g.scale; out.observation[k]!.offset += g.offset; });
    // The worker saw its trajectories' data in their order: back to the data's own indices.
    let j = 0;
    obs.data.forEach((d, i) => { if (d.traj >= start && d.traj < start + r.status.length) out.sigma[i] = r.sigma[j++]!; });
    if (out.stepSizes) out.stepSizes.push(...r.stepSizes!);
  });
  return finishResult(out, problem.weights, terms);
}
