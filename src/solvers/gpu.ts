/**
 * GPU backend (f32): one invocation per trajectory, re-dispatched in rounds until every trajectory
 * has a final status (src/gpu/dispatch.ts), the batch split so no binding exceeds the device's limits.
 */
import { acquireGpu, computePipeline, failIfLost } from '../gpu/runtime.js';
import { COUNTER_STRIDE, WORKGROUP_SIZE, buildSolverKernel, cachedKernel, stateStride, withWeightsCompiledIn } from '../codegen/kernel.js';
import { forwardChunk } from '../gpu/dispatch.js';
import { STATUS } from '../methods/status.js';
import type { EnsembleProblem, ResolvedOptions } from './problem.js';
import type { ChunkOutput } from './cpu/chunk.js';

/** Upper bound on bytes of one storage binding we plan for (limits may allow more). */
const MAX_CHUNK_BYTES = 256 * 1024 * 1024;

export interface GpuSolveResult extends ChunkOutput {
  compileMs: number;
}

export async function solveOnGpu(
  problem: EnsembleProblem, opts: ResolvedOptions, onProgress?: (finished: number, total: number) => void,
): Promise<GpuSolveResult> {
  const { device } = await acquireGpu();
  return failIfLost(device, `the solve of ${problem.model.name}`, () => solveOnDevice(device, problem, opts, onProgress));
}

async function solveOnDevice(
  device: GPUDevice, problem: EnsembleProblem, opts: ResolvedOptions, onProgress?: (finished: number, total: number) => void,
): Promise<GpuSolveResult> {
  const { model, batch: B, saveat } = problem;
  const N = model.states.length, P = model.params.length, S = saveat.length;
  const method = opts.method;
  const plain = cachedKernel(model, method, `solve ${opts.fixedStep}`, () => buildSolverKernel(model, method, opts.fixedStep));
  const baked = model.neural !== undefined && opts.bakeWeights ? withWeightsCompiledIn(plain, problem.weights) : undefined;
  const code = baked ?? plain;
  const label = `${model.name}/${method.name}`;
  const { pipeline, compileMs } = await computePipeline(device, label, code);

  // Split the batch so that no binding exceeds the device's limits.
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, MAX_CHUNK_BYTES);
  const perTraj = Math.max(S * N, stateStride(N), Math.max(P, 1)) * 4;
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  const chunk = Math.max(1, Math.min(B, Math.floor(limit / perTraj), maxGroups * maxGroups * WORKGROUP_SIZE));

  const result: GpuSolveResult = {
    y: new Float64Array(B * S * N), status: new Uint8Array(B), steps: new Uint32Array(B),
    rejected: new Uint32Array(B), rhsEvals: new Uint32Array(B), tEnd: new Float64Array(B), compileMs,
  };
  for (let start = 0; start < B; start += chunk) {
    const count = Math.min(chunk, B - start);
    const { out: y32, counters: c, state: final } = await forwardChunk(device, pipeline, label, problem, opts, start, count, undefined,
      (done) => onProgress?.(start + done, B), baked !== undefined);
    // The chunk's saves widened in one TypedArray.set (a native loop; value by value this ran on
    // the main thread at ~8 ns per value), then the save times a trajectory never reached set to NaN.
    result.y.set(y32.subarray(0, count * S * N), start * S * N);
    const SS = stateStride(N);
    for (let b = 0; b < count; b++) {
      const g = start + b, cb = b * COUNTER_STRIDE;
      result.status[g] = c[cb]!;
      result.steps[g] = c[cb + 1]!;
      result.rejected[g] = c[cb + 2]!;
      result.rhsEvals[g] = c[cb + 3]!;
      const ts = b * SS + 2 * N; // t as hi + lo
      result.tEnd[g] = final[ts]! + final[ts + 1]!;
      const reached = c[cb + 4]! * N;
      if (reached < S * N) result.y.fill(NaN, g * S * N + reached, (g + 1) * S * N);
    }
    if (result.status.subarray(start, start + count).some((s) => s === STATUS.running)) {
      throw new Error('internal: a trajectory finished the GPU loop still running');
    }
  }
  return result;
}

