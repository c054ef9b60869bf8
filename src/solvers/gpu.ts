/**
 * GPU backend (f32): one invocation per trajectory, re-dispatched in rounds until every trajectory
 * has a final status. Each dispatch lets an invocation take at most `stepBudget` step attempts, so a
 * stiff straggler costs its own time only and the host can report progress between rounds.
 */
import { acquireGpu, bufferPool, checked, computePipeline, readBuffer } from '../gpu/runtime.js';
import { COUNTER_STRIDE, WORKGROUP_SIZE, buildSolverKernel, stateStride } from '../shaders/kernel.js';
import { methodByName, STATUS } from './methods.js';
import type { EnsembleProblem, ResolvedOptions } from './problem.js';
import type { ChunkOutput } from './cpu/chunk.js';

/** Step attempts one invocation may take per dispatch: long enough to amortise a dispatch. */
const STEP_BUDGET = 256;
/** Dispatches encoded per round trip to read the active count. */
const DISPATCHES_PER_ROUND = 4;
/** Upper bound on bytes of one storage binding we plan for (limits may allow more). */
const MAX_CHUNK_BYTES = 256 * 1024 * 1024;

export interface GpuSolveResult extends ChunkOutput {
  compileMs: number;
}

const hiLo = (x: number): [number, number] => { const hi = Math.fround(x); return [hi, Math.fround(x - hi)]; };

export async function solveOnGpu(
  problem: EnsembleProblem, opts: ResolvedOptions, onProgress?: (finished: number, total: number) => void,
): Promise<GpuSolveResult> {
  const { device } = await acquireGpu();
  const { model, batch: B, saveat } = problem;
  const N = model.states.length, P = model.params.length, S = saveat.length;
  const method = methodByName(opts.method);
  const code = buildSolverKernel(model, method, opts.fixedStep);
  const label = `${model.name}/${method.name}`;
  const { pipeline, compileMs } = await computePipeline(device, label, code);

  // Split the batch so that no binding exceeds the device's limits.
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, MAX_CHUNK_BYTES);
  const perTraj = Math.max(S * N, stateStride(N), Math.max(P, 1)) * 4;
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  const chunk = Math.max(1, Math.min(B, Math.floor(limit / perTraj), maxGroups * maxGroups * WORKGROUP_SIZE));

  const result: GpuSolveResult = {
    y: new Float64Array(B * S * N), status: new Uint8Array(B), steps: new Uint32Array(B),
    rejected: new Uint32Array(B), rhsEvals: new Uint32Array(B), compileMs,
  };
  const saveT = new Float32Array(2 * S);
  saveat.forEach((s, j) => { const [hi, lo] = hiLo(s); saveT[2 * j] = hi; saveT[2 * j + 1] = lo; });
  const [t0hi, t0lo] = hiLo(problem.t0);
  const [t1hi, t1lo] = hiLo(problem.t1);

  let finishedBefore = 0;
  for (let start = 0; start < B; start += chunk) {
    const count = Math.min(chunk, B - start);
    const SS = stateStride(N);
    const state = new Float32Array(count * SS);
    for (let b = 0; b < count; b++) {
      const o = b * SS;
      for (let k = 0; k < N; k++) state[o + k] = problem.initial[(start + b) * N + k]!;
      state[o + 2 * N] = t0hi;
      state[o + 2 * N + 1] = t0lo;
      state[o + 2 * N + 2] = 0; // h = 0: the kernel picks the first step (or cfg.dt for rk4)
      state[o + 2 * N + 3] = 1e-4; // err_prev
    }
    const params = Float32Array.from(problem.params.subarray(start * P, (start + count) * P));
    const groups = Math.ceil(count / WORKGROUP_SIZE);
    const gx = Math.min(groups, maxGroups), gy = Math.ceil(groups / gx);
    const cfg = new ArrayBuffer(48);
    const f = new Float32Array(cfg), u = new Uint32Array(cfg);
    f[0] = t1hi; f[1] = t1lo; f[2] = opts.rtol; f[3] = opts.atol; f[4] = opts.dt;
    u[5] = Math.min(opts.maxSteps, 0xffffffff); u[6] = STEP_BUDGET; u[7] = count; u[8] = S; u[9] = gx * WORKGROUP_SIZE; f[10] = 1;

    const pool = bufferPool(device);
    const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const buf = {
      cfg: pool.acquire(device, 48, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${label} config`),
      params: pool.acquire(device, Math.max(4, params.byteLength), STORAGE, `${label} params`),
      state: pool.acquire(device, state.byteLength, STORAGE, `${label} state`),
      counters: pool.acquire(device, count * COUNTER_STRIDE * 4, STORAGE, `${label} counters`),
      saveT: pool.acquire(device, saveT.byteLength, STORAGE, `${label} save times`),
      out: pool.acquire(device, count * S * N * 4, STORAGE, `${label} output`),
      active: pool.acquire(device, 4, STORAGE, `${label} active count`),
      // Neural weights θ, shared by every trajectory (read-only storage, binding 7).
      ...(model.neural ? { weights: pool.acquire(device, Math.max(4, problem.weights.length * 4), STORAGE, `${label} neural weights`) } : {}),
    };
    try {
      const bindGroup = await checked(device, `bind group ${label}`, () => {
        device.queue.writeBuffer(buf.cfg, 0, cfg);
        if (params.byteLength) device.queue.writeBuffer(buf.params, 0, params);
        device.queue.writeBuffer(buf.state, 0, state);
        device.queue.writeBuffer(buf.counters, 0, new Uint32Array(count * COUNTER_STRIDE));
        device.queue.writeBuffer(buf.saveT, 0, saveT);
        if (buf.weights) device.queue.writeBuffer(buf.weights, 0, Float32Array.from(problem.weights));
        return device.createBindGroup({
          label: `${label} bindings`, layout: pipeline.getBindGroupLayout(0),
          entries: [buf.cfg, buf.params, buf.state, buf.counters, buf.saveT, buf.out, buf.active, ...(buf.weights ? [buf.weights] : [])]
            .map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
      });
      for (let round = 0; ; round++) {
        await checked(device, `dispatch ${label}`, () => {
          const enc = device.createCommandEncoder({ label: `${label} round ${round}` });
          for (let d = 0; d < DISPATCHES_PER_ROUND; d++) {
            // Only the last dispatch of a round counts the trajectories still running.
            if (d === DISPATCHES_PER_ROUND - 1) enc.clearBuffer(buf.active, 0, 4);
            const pass = enc.beginComputePass({ label: `${label} step` });
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, bindGroup);
            pass.dispatchWorkgroups(gx, gy);
            pass.end();
          }
          device.queue.submit([enc.finish()]);
        });
        const active = new Uint32Array(await readBuffer(device, buf.active, 4, `${label} active count`))[0]!;
        onProgress?.(finishedBefore + count - active, B);
        if (active === 0) break;
      }
      const [out, counters] = await Promise.all([
        readBuffer(device, buf.out, count * S * N * 4, `${label} output`),
        readBuffer(device, buf.counters, count * COUNTER_STRIDE * 4, `${label} counters`),
      ]);
      const y32 = new Float32Array(out), c = new Uint32Array(counters);
      for (let b = 0; b < count; b++) {
        const g = start + b;
        result.status[g] = c[b * COUNTER_STRIDE]!;
        result.steps[g] = c[b * COUNTER_STRIDE + 1]!;
        result.rejected[g] = c[b * COUNTER_STRIDE + 2]!;
        result.rhsEvals[g] = c[b * COUNTER_STRIDE + 3]!;
        const reached = c[b * COUNTER_STRIDE + 4]! * N; // save times never reached stay NaN
        const src = b * S * N, dst = g * S * N;
        for (let k = 0; k < S * N; k++) result.y[dst + k] = k < reached ? y32[src + k]! : NaN;
      }
      if (result.status.subarray(start, start + count).some((s) => s === STATUS.running)) {
        throw new Error('internal: a trajectory finished the GPU loop still running');
      }
    } finally {
      for (const b of Object.values(buf)) pool.release(b);
    }
    finishedBefore += count;
  }
  return result;
}
