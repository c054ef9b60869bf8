/**
 * Solves a contiguous range of trajectories on the CPU (f64). Runs in the main thread or inside
 * a worker (./worker.ts); everything it needs is structured-cloneable.
 */
import { compileF64 } from '../../codegen/compile.js';
import type { EnsembleProblem, ResolvedOptions } from '../problem.js';
import { integrateTrajectory } from './integrate.js';

/**
 * A contiguous range of a problem's trajectories, as sent to a worker (structured-cloneable):
 * the problem's fields with `params`/`initial` sliced to `count` rows.
 */
export type ChunkInput = Pick<EnsembleProblem, 'model' | 't0' | 't1' | 'saveat' | 'params' | 'initial' | 'weights'> & {
  opts: ResolvedOptions;
  count: number;
};

export interface ChunkOutput {
  y: Float64Array;
  status: Uint8Array;
  steps: Uint32Array;
  rejected: Uint32Array;
  rhsEvals: Uint32Array;
  /** The time each trajectory reached (t1 on success). */
  tEnd: Float64Array;
}

export function solveChunk(input: ChunkInput, onTrajectory?: (done: number) => void): ChunkOutput {
  const { model, opts, count, saveat } = input;
  const N = model.states.length, P = model.params.length, S = saveat.length;
  const method = opts.method;
  const fns = compileF64(model, input.weights);
  const out: ChunkOutput = {
    y: new Float64Array(count * S * N),
    status: new Uint8Array(count),
    steps: new Uint32Array(count),
    rejected: new Uint32Array(count),
    rhsEvals: new Uint32Array(count),
    tEnd: new Float64Array(count),
  };
  for (let b = 0; b < count; b++) {
    const r = integrateTrajectory(
      method, fns, input.initial.subarray(b * N, (b + 1) * N), input.params.subarray(b * P, (b + 1) * P),
      input.t0, input.t1, saveat, opts, out.y, b * S * N);
    out.status[b] = r.status;
    out.steps[b] = r.steps;
    out.rejected[b] = r.rejected;
    out.rhsEvals[b] = r.rhsEvals;
    out.tEnd[b] = r.t;
    onTrajectory?.(b + 1);
  }
  return out;
}
