/**
 * `solve(problem, method, options)`: the one entry point over both backends (STYLE.md §1; SciML's
 * solve(prob, alg; kwargs), diffrax's diffeqsolve(terms, solver, …)). The GPU (f32)
 * path is used when an adapter exists; otherwise the CPU (f64) path, with a one-line notice.
 */
import { GpuDeviceLostError, GpuUnavailableError } from '../gpu/runtime.js';
import { solveOnCpu } from './cpu/backend.js';
import { solveOnGpu } from './gpu.js';
import { ProblemError, remake, type EnsembleProblem, type ResolvedOptions, type SolveOptions } from './problem.js';
import { Solution, type SolveStats } from './solution.js';
import type { Method, MethodName } from '../methods/tableaus.js';
import type { ChunkOutput } from './cpu/chunk.js';
import { f32ToleranceProblem, resolveOptions } from './options.js';

export { F32_MIN_RTOL, f32ToleranceProblem, resolveOptions } from './options.js';

/**
 * Integrates every trajectory of `problem`.
 * @example
 * const model = parseModel({ name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } });
 * const sol = await solve(makeProblem(model, { t1: 10, batch: 1000 }), 'tsit5', { rtol: 1e-6 });
 * sol.y; // batch × saves × states
 */
export async function solve(problem: EnsembleProblem, method: MethodName | Method = 'dopri5', options: SolveOptions = {}): Promise<Solution> {
  if (typeof method === 'object' && method !== null && !('kind' in method)) {
    throw new ProblemError('solve(problem, method, options): the method comes second and the options third, e.g. solve(problem, "tsit5", { rtol: 1e-6 })');
  }
  const opts = resolveOptions(method, options);
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
      return new Solution({
        problem, t: problem.saveat, y: r.y, status: r.status, tEnd: r.tEnd, stats: statsOf(r, opts),
        backend: 'gpu', method: opts.method.name, timing: { totalMs: performance.now() - start, compileMs: r.compileMs },
      });
    } catch (err) {
      if (backend === 'gpu') throw err;
      if (err instanceof GpuUnavailableError) notice = `no WebGPU adapter (${err.message}); using the CPU backend (f64)`;
      else if (err instanceof GpuDeviceLostError) notice = `the GPU device was lost during ${err.during} (${err.reason}); the run was done again on the CPU backend (f64)`;
      else throw err;
    }
  }
  const r = await solveOnCpu(problem, opts, options.workers, options.onProgress);
  return new Solution({
    problem, t: problem.saveat, y: r.y, status: r.status, tEnd: r.tEnd, stats: statsOf(r, opts),
    backend: 'cpu', method: opts.method.name, timing: { totalMs: performance.now() - start, compileMs: 0 }, ...(notice ? { notice } : {}),
  });
}

/** What `solveInChunks` returns for the whole batch: per-trajectory status, end times and counters, no states. */
export interface ChunkedSolveSummary {
  status: Uint8Array;
  tEnd: Float64Array;
  stats: SolveStats;
  backend: 'gpu' | 'cpu';
  method: string;
  /** Wall time of the whole run, and the sum of the chunks' solve times (which overlap `onChunk`). */
  timing: { totalMs: number; solveMs: number; compileMs: number };
  notice?: string;
  chunks: number;
}

/**
 * Integrates `problem` in chunks of `chunk` trajectories and hands each chunk's Solution to
 * `onChunk` (with the index of its first trajectory) while the next chunk integrates: memory is
 * bounded by two chunks, not by the batch, and writing overlaps the solve. The backend the first
 * chunk ran on is kept for the rest (so every chunk has the same precision). With a neural term
 * and more than one chunk, the GPU backend compiles the weights into its kernel unless
 * `options.bakeWeights` says otherwise.
 * @example
 * const sink = openTrajectories('traj.parquet', model, problem.saveat, 'f32');
 * await solveInChunks(problem, 'tsit5', { backend: 'gpu' }, 65536, (sol, start) => sink.write({ start, count: sol.batch, y: sol.y }));
 * await sink.close();
 */
export async function solveInChunks(
  problem: EnsembleProblem, method: MethodName | Method, options: SolveOptions, chunk: number,
  onChunk: (sol: Solution, start: number) => Promise<void> | void,
): Promise<ChunkedSolveSummary> {
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new ProblemError(`chunk must be a positive integer (got ${chunk})`);
  const start0 = performance.now();
  const B = problem.batch, N = problem.model.states.length, P = problem.model.params.length;
  let backend = options.backend;
  // Every chunk solves with the same weights: compiled into the kernel once, they pay for their
  // pipeline over the chunks that follow (SolveOptions.bakeWeights).
  const bakeWeights = options.bakeWeights ?? (problem.model.neural !== undefined && B > chunk);
  const run = (start: number) => {
    const count = Math.min(chunk, B - start);
    const part = count === B ? problem : remake(problem, {
      batch: count, params: problem.params.slice(start * P, (start + count) * P), initial: problem.initial.slice(start * N, (start + count) * N),
    });
    const onProgress = options.onProgress && ((done: number) => options.onProgress!(start + done, B));
    return solve(part, method, { ...options, backend, onProgress, bakeWeights });
  };
  let sol = await run(0);
  backend = sol.backend;
  const summary: ChunkedSolveSummary = {
    status: new Uint8Array(B), tEnd: new Float64Array(B),
    stats: { steps: new Uint32Array(B), rejected: new Uint32Array(B), rhsEvals: new Uint32Array(B), jacobians: new Uint32Array(B) },
    backend: sol.backend, method: sol.method, ...(sol.notice ? { notice: sol.notice } : {}),
    timing: { totalMs: 0, solveMs: 0, compileMs: 0 }, chunks: Math.ceil(B / chunk),
  };
  for (let start = 0; ; start += chunk) {
    summary.status.set(sol.status, start);
    summary.tEnd.set(sol.tEnd, start);
    for (const k of ['steps', 'rejected', 'rhsEvals', 'jacobians'] as const) summary.stats[k].set(sol.stats[k], start);
    summary.timing.solveMs += sol.timing.totalMs;
    summary.timing.compileMs += sol.timing.compileMs;
    const next = start + chunk < B ? run(start + chunk) : undefined;
    try {
      await onChunk(sol, start);
    } catch (err) {
      next?.catch(() => undefined);
      throw err;
    }
    if (!next) break;
    sol = await next;
  }
  summary.timing.totalMs = performance.now() - start0;
  return summary;
}

/** Statistics of a backend's counters; a Rosenbrock method evaluates J and factors W once per step attempt. */
function statsOf(r: ChunkOutput, opts: ResolvedOptions): SolveStats {
  const jacobians = new Uint32Array(r.steps.length);
  if (opts.method.kind === 'rosenbrock') for (let b = 0; b < jacobians.length; b++) jacobians[b] = r.steps[b]! + r.rejected[b]!;
  return { steps: r.steps, rejected: r.rejected, rhsEvals: r.rhsEvals, jacobians };
}
