/**
 * `solve(problem, options)`: the one entry point over both backends (STYLE.md §1). The GPU (f32)
 * path is used when an adapter exists; otherwise the CPU (f64) path, with a one-line notice.
 */
import { GpuDeviceLostError, GpuUnavailableError } from '../gpu/runtime.js';
import { solveOnCpu } from './cpu/backend.js';
import { solveOnGpu } from './gpu.js';
import { METHOD_NAMES, isAdaptive, methodByName, type MethodName } from './methods.js';
import { ProblemError, type EnsembleProblem, type ResolvedOptions, type Solution, type SolveOptions } from './problem.js';

export function resolveOptions(o: SolveOptions): ResolvedOptions {
  const method: MethodName = o.method ?? 'dopri5';
  if (!METHOD_NAMES.includes(method)) throw new ProblemError(`unknown method "${method}" (choose ${METHOD_NAMES.join(', ')})`);
  const rtol = o.rtol ?? 1e-6, atol = o.atol ?? 1e-8, maxSteps = o.maxSteps ?? 100_000;
  if (!(rtol > 0) || !(atol > 0)) throw new ProblemError(`rtol and atol must be positive (got ${rtol}, ${atol})`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new ProblemError(`maxSteps must be a positive integer (got ${maxSteps})`);
  const steps = o.steps ? Float64Array.from(o.steps) : undefined;
  if (steps && !steps.every((h) => h > 0 && Number.isFinite(h))) throw new ProblemError('steps must be positive finite step sizes');
  const fixedStep = !isAdaptive(methodByName(method)) || o.adaptive === false || steps !== undefined;
  if (fixedStep && o.dt === undefined && !steps) throw new ProblemError(`${method} with fixed steps needs dt (--dt)`);
  const dt = o.dt ?? steps?.[0] ?? 0;
  if (o.dt !== undefined && !(dt > 0 && Number.isFinite(dt))) throw new ProblemError(`dt must be a positive number (got ${o.dt})`);
  return { method, rtol, atol, dt, maxSteps, fixedStep, steps };
}

/**
 * The finest rtol the GPU (f32) path accepts: 1e-6 ≈ 8 f32 ulps (ε = 1.19e-7). Below it the error
 * estimate is rounding noise, steps are rejected until max_steps, and the failure looks like
 * stiffness. The CPU (f64) path takes any rtol.
 */
export const F32_MIN_RTOL = 1e-6;

/** Why the f32 GPU path cannot honour these options, or undefined when it can. */
export function f32ToleranceProblem(opts: ResolvedOptions): string | undefined {
  if (opts.fixedStep || opts.rtol >= F32_MIN_RTOL) return undefined;
  return `rtol ${opts.rtol} is finer than the GPU's f32 arithmetic resolves (rtol ≥ ${F32_MIN_RTOL.toExponential(0)}, about 8 f32 ulps)`;
}

/**
 * Integrates every trajectory of `problem`.
 * @example
 * const model = parseModel({ name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } });
 * const sol = await solve(makeProblem(model, { t1: 10, batch: 1000 }), { method: 'tsit5', rtol: 1e-6 });
 * sol.y; // batch × saves × states
 */
export async function solve(problem: EnsembleProblem, options: SolveOptions = {}): Promise<Solution> {
  const opts = resolveOptions(options);
  const backend = options.backend ?? 'auto';
  const start = performance.now();
  let notice: string | undefined;
  if (opts.steps && (backend !== 'cpu' || problem.batch !== 1)) throw new ProblemError('a replayed step sequence (steps) needs backend "cpu" and a batch of one');
  const f32Problem = f32ToleranceProblem(opts);
  if (f32Problem && backend === 'gpu') throw new ProblemError(`${f32Problem}: use backend "cpu" (f64, --backend cpu) for tighter tolerances, or raise rtol`);
  if (f32Problem) notice = `${f32Problem}; using the CPU backend (f64)`;
  if (backend !== 'cpu' && !f32Problem) {
    try {
      const r = await solveOnGpu(problem, opts, options.onProgress);
      return {
        t: problem.saveat, y: r.y, status: r.status, steps: r.steps, rejected: r.rejected, rhsEvals: r.rhsEvals, tEnd: r.tEnd,
        backend: 'gpu', method: opts.method, timing: { totalMs: performance.now() - start, compileMs: r.compileMs },
      };
    } catch (err) {
      if (backend === 'gpu') throw err;
      if (err instanceof GpuUnavailableError) notice = `no WebGPU adapter (${err.message}); using the CPU backend (f64)`;
      else if (err instanceof GpuDeviceLostError) notice = `${err.message.replace(/; nothing was written$/, '')}; the run was done again on the CPU backend (f64)`;
      else throw err;
    }
  }
  const r = await solveOnCpu(problem, opts, options.workers, options.onProgress);
  return {
    t: problem.saveat, y: r.y, status: r.status, steps: r.steps, rejected: r.rejected, rhsEvals: r.rhsEvals, tEnd: r.tEnd,
    backend: 'cpu', method: opts.method, timing: { totalMs: performance.now() - start, compileMs: 0 }, notice,
  };
}
