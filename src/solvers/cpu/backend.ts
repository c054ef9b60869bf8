/**
 * CPU backend (f64): splits the batch into contiguous chunks, one per worker thread (comlink),
 * so both cores of a small machine work. Results do not depend on the split: every trajectory is
 * integrated independently with the same code.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { EnsembleProblem, ResolvedOptions } from '../problem.js';
import { solveChunk, type ChunkInput, type ChunkOutput } from './chunk.js';
import type { WorkerApi } from './worker.js';

/** Below this many trajectories × steps a worker's start-up (~30 ms) costs more than it saves. */
const MIN_TRAJECTORIES_PER_WORKER = 64;

/** The compiled worker script. Under vitest the sources are .ts, so use the build in dist/. */
function workerPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const js = here.endsWith('.ts')
    ? here.replace(/([\\/])src([\\/])/, '$1dist$2').replace(/backend\.ts$/, 'worker.js')
    : here.replace(/backend\.js$/, 'worker.js');
  return existsSync(js) ? js : undefined;
}

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
  const path = workerPath();
  const nWorkers = path ? Math.max(1, Math.min(workers, Math.floor(B / MIN_TRAJECTORIES_PER_WORKER))) : 1;
  if (nWorkers === 1) {
    const step = Math.max(1, Math.floor(B / 100));
    return solveChunk(slice(problem, opts, 0, B), (done) => { if (done % step === 0 || done === B) onProgress?.(done, B); });
  }
  const bounds = Array.from({ length: nWorkers + 1 }, (_, w) => Math.round((w * B) / nWorkers));
  let finished = 0;
  const pool = workerPool(path!, nWorkers);
  const parts = await Promise.all(bounds.slice(0, -1).map(async (start, w) => {
    const count = bounds[w + 1]! - start;
    const entry = pool[w]!;
    entry.worker.ref();
    try {
      const out = await entry.api.solve(slice(problem, opts, start, count));
      finished += count;
      onProgress?.(finished, B);
      return out;
    } finally {
      entry.worker.unref();
    }
  }));
  return concat(parts, problem.saveat.length * problem.model.states.length);
}

interface PooledWorker { worker: Worker; api: Comlink.Remote<WorkerApi> }
let pool: PooledWorker[] = [];

/**
 * Workers are kept between solves: starting one loads the compiler and mathjs (~0.5 s), which a
 * training loop or a dose grid calling `solve` hundreds of times must not pay each time. Idle
 * workers are unref'd, so they never keep the process alive.
 */
function workerPool(path: string, n: number): PooledWorker[] {
  while (pool.length < n) {
    const worker = new Worker(path);
    worker.unref();
    const entry = { worker, api: Comlink.wrap<WorkerApi>(nodeEndpoint(worker)) };
    worker.on('exit', () => { pool = pool.filter((p) => p !== entry); });
    worker.on('error', () => { pool = pool.filter((p) => p !== entry); });
    pool.push(entry);
  }
  return pool.slice(0, n);
}

/** Stops the CPU backend's worker threads (they are restarted on the next solve). */
export async function releaseCpuWorkers(): Promise<void> {
  const all = pool;
  pool = [];
  await Promise.all(all.map((p) => p.worker.terminate()));
}

function concat(parts: ChunkOutput[], perTrajectory: number): ChunkOutput {
  const B = parts.reduce((n, p) => n + p.status.length, 0);
  const out: ChunkOutput = {
    y: new Float64Array(B * perTrajectory), status: new Uint8Array(B), steps: new Uint32Array(B),
    rejected: new Uint32Array(B), rhsEvals: new Uint32Array(B),
  };
  let at = 0;
  for (const p of parts) {
    out.y.set(p.y, at * perTrajectory);
    out.status.set(p.status, at);
    out.steps.set(p.steps, at);
    out.rejected.set(p.rejected, at);
    out.rhsEvals.set(p.rhsEvals, at);
    at += p.status.length;
  }
  return out;
}
