/**
 * CPU backend (f64): splits the batch into contiguous chunks, one per worker thread (comlink),
 * so both cores of a small machine work. Results do not depend on the split: every trajectory is
 * integrated independently with the same code.
 */
import { cpus } from 'node:os';
import { fanOut, workerScript } from './pool.js';
import type { EnsembleProblem, ResolvedOptions } from '../problem.js';
import { solveChunk, type ChunkInput, type ChunkOutput } from './chunk.js';
import type { WorkerApi } from './worker.js';


/** The compiled worker script (see workerScript). */
const workerPath = () => workerScript(import.meta.url, 'worker.js');

function slice(problem: EnsembleProblem, opts: ResolvedOptions, start: number, count: number): ChunkInput {
  const N = problem.model.states.length, P = problem.model.params.length;
  return {
    model: problem.model, opts, t0: problem.t0, t1: problem.t1, saveat: problem.saveat, count, weights: problem.weights,
    params: problem.params.slice(start * P, (start + count) * P),
    initial: problem.initial.slice(start * N, (start + count) * N),
  };
}

export async function solveOnCpu(
  problem: EnsembleProblem, opts: ResolvedOptions, workers = cpus().length,
  onProgress?: (finished: number, total: number) => void,
): Promise<ChunkOutput> {
  const B = problem.batch;
  let finished = 0;
  const fanned = await fanOut<WorkerApi, ChunkOutput>(workerPath(), B, workers, async (api, start, end) => {
    const out = await api.solve(slice(problem, opts, start, end - start));
    finished += end - start;
    onProgress?.(finished, B);
    return out;
  });
  if (fanned) return concat(fanned.parts, problem.saveat.length * problem.model.states.length);
  const step = Math.max(1, Math.floor(B / 100));
  return solveChunk(slice(problem, opts, 0, B), (done) => { if (done % step === 0 || done === B) onProgress?.(done, B); });
}

function concat(parts: ChunkOutput[], perTrajectory: number): ChunkOutput {
  const B = parts.reduce((n, p) => n + p.status.length, 0);
  const out: ChunkOutput = {
    y: new Float64Array(B * perTrajectory), status: new Uint8Array(B), steps: new Uint32Array(B),
    rejected: new Uint32Array(B), rhsEvals: new Uint32Array(B), tEnd: new Float64Array(B),
  };
  let at = 0;
  for (const p of parts) {
    out.y.set(p.y, at * perTrajectory);
    out.status.set(p.status, at);
    out.steps.set(p.steps, at);
    out.rejected.set(p.rejected, at);
    out.rhsEvals.set(p.rhsEvals, at);
    out.tEnd.set(p.tEnd, at);
    at += p.status.length;
  }
  return out;
}

export { releaseCpuWorkers } from './pool.js';
