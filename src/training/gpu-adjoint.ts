/**
 * The discrete adjoint on the GPU (f32): the same gradient as `gradientCpu` (src/training/adjoint.ts)
 * for every method (explicit Runge–Kutta and Rosenbrock), with the forward and backward sweeps as
 * WGSL kernels over the batch.
 *
 *  1. Forward: the ordinary solver kernel, also storing the controller state every K accepted steps
 *     (src/codegen/kernel.ts, writeCheckpoint).
 *  2. Host (f64): the loss at the saves and its cotangents ȳ_s, ∂L/∂p of the observation model and
 *     priors (gradientSetup — the same code as the CPU path); O(data), not O(steps).
 *  3. Backward: one segment between checkpoints per trajectory per dispatch, last first: replay,
 *     then the stage-wise reverse sweep (src/codegen/adjoint.ts).
 *  4. θ̄ = Σ_b θ̄_b by the deterministic tree reduction (src/gpu/reduce.ts).
 *
 * Memory per trajectory: (2N + 6)·4 bytes per checkpoint, one segment's tape K·(N + 4)·4 bytes, and
 * ȳ, p̄, θ̄ — independent of the number of steps except through the number of checkpoints.
 */
import { acquireGpu, bufferPool, checked, computePipeline, failIfLost, readBuffer } from '../gpu/runtime.js';
import { bindGroupFor } from '../gpu/program.js';
import { ADJOINT_PROGRAM, WEIGHT_GRADIENT_PROGRAM } from '../codegen/programs.js';
import { sumRowsOnGpu } from '../gpu/reduce.js';
import { ADJOINT_COUNTER_STRIDE, buildAdjointKernel, buildWeightGradientKernel, signalScratch, tapeStride } from '../codegen/adjoint.js';
import { COUNTER_STRIDE, WORKGROUP_SIZE, buildSolverKernel, checkpointStride, stateStride } from '../codegen/kernel.js';
import { CONFIG_BYTES, dispatchGrid, dispatchUntilDone, forwardChunk, hiLo, packParams, solverConfig, storageUsage, type Pass } from '../gpu/dispatch.js';
import { STATUS } from '../methods/status.js';
import { ProblemError, remake, type EnsembleProblem } from '../solvers/problem.js';
import { f32ToleranceProblem, resolveOptions } from '../solvers/options.js';
import { checkpointInterval, emptyResult, finishResult, gradientSetup, type GradientOptions, type GradientResult } from './adjoint.js';
import type { LossTerms, Observations } from './loss.js';

/** Checkpoints per trajectory planned for at first; a trajectory that needs more makes the chunk run again with room for them. */
const INITIAL_CAPACITY = 64;
/** Upper bound on the bytes of one storage binding we plan for (as the forward solver). */
const MAX_BINDING_BYTES = 256 * 1024 * 1024;

/**
 * Bytes of GPU memory the adjoint keeps per trajectory (for bench/ and docs): per checkpoint of the
 * controller state, and for the tape of one segment of `every` steps. (Besides: ȳ and p̄, and with
 * a network θ̄ and `signalScratch` floats.)
 */
export function gpuAdjointBytes(N: number, every: number) {
  return { perCheckpoint: checkpointStride(N) * 4, tape: every * tapeStride(N) * 4 };
}

export async function gradientGpu(problem: EnsembleProblem, obs: Observations, terms: LossTerms = {}, options: GradientOptions = {}): Promise<GradientResult> {
  const opts = resolveOptions(options.method, options);
  const method = opts.method;
  const f32Problem = f32ToleranceProblem(opts);
  if (f32Problem) throw new ProblemError(`${f32Problem}: compute these gradients on the CPU (backend "cpu", f64), or raise rtol`);
  const setup = gradientSetup(problem, obs, terms, method);
  const { model, N0, N, P, B, saveat } = setup;
  const S = saveat.length, Pw = Math.max(P, 1), W = problem.weights.length, TS = tapeStride(N), CK = checkpointStride(N);
  const every = checkpointInterval(options);
  const scratch = model.neural ? signalScratch(model.neural.inputs.length, model.neural.outputs.length, method.c.length, every) : 0;
  const result = emptyResult(B, N0, P, W, obs);
  const { device } = await acquireGpu();
  return failIfLost(device, `the GPU gradient of ${model.name}`, async () => {
  const label = `${model.name}/${method.name}`;
  const [fwd, bwd, wgrad] = await Promise.all([
    computePipeline(device, `${label} forward + checkpoints`, buildSolverKernel(model, method, opts.fixedStep, true)),
    options.lossOnly ? undefined : computePipeline(device, `${label} adjoint`, buildAdjointKernel(model, method, opts.fixedStep)),
    options.lossOnly || !model.neural ? undefined : computePipeline(device, `${label} θ̄`, buildWeightGradientKernel(model, method.c.length)),
  ]);

  // Every trajectory's y₀ (with tracking states) as one problem for the forward kernel.
  const y0 = new Float64Array(B * N);
  for (let b = 0; b < B; b++) setup.initialState(b, y0.subarray(b * N, (b + 1) * N));
  const integrated = remake(problem, { model, initial: y0, saveat });

  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, MAX_BINDING_BYTES);
  // The largest per-trajectory binding bounds a chunk by the binding limit; the sum of them by the memory budget.
  const perTraj = Math.max(INITIAL_CAPACITY * CK, N + Pw + every * TS, scratch, W, S * N + 2) * 4;
  const perTrajTotal = (INITIAL_CAPACITY * CK + N + Pw + every * TS + scratch + W + 2 * S * N + stateStride(N) + COUNTER_STRIDE + ADJOINT_COUNTER_STRIDE + Pw) * 4;
  const budget = options.adjoint?.memoryBudgetBytes;
  if (budget !== undefined && !(budget >= perTrajTotal)) {
    throw new ProblemError(`adjoint.memoryBudgetBytes ${budget} is less than one trajectory needs on the GPU (${perTrajTotal} bytes with checkpointEvery ${every})`);
  }
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  const chunk = Math.max(1, Math.min(B, Math.floor(limit / perTraj), maxGroups * maxGroups * WORKGROUP_SIZE, budget ? Math.floor(budget / perTrajTotal) : Infinity));
  const pool = bufferPool(device);
  const STORAGE = storageUsage();

  for (let start = 0; start < B; start += chunk) {
    const count = Math.min(chunk, B - start);
    // 1. Forward with checkpoints; again with more room if some trajectory outran them. The loss
    // alone needs none (capacity 0: the same kernel, so the same numbers, writing nothing).
    let capacity = options.lossOnly ? 0 : INITIAL_CAPACITY;
    let ckpt = pool.acquire(device, Math.max(4, count * capacity * CK * 4), STORAGE, `${label} checkpoints`);
    try {
      let run = await forwardChunk(device, fwd.pipeline, `${label} forward`, integrated, opts, start, count, { every, capacity, buffer: ckpt });
      let most = 0;
      for (let b = 0; b < count; b++) most = Math.max(most, run.counters[b * COUNTER_STRIDE + 1]!);
      if (!options.lossOnly && most > every * capacity) {
        pool.release(ckpt);
        capacity = Math.ceil(most / every);
        if (count * capacity * CK * 4 > limit) {
          throw new ProblemError(`${most} steps need ${capacity} checkpoints per trajectory, more than one storage binding holds for ${count} trajectories; raise adjoint.checkpointEvery (now ${every}) or lower adjoint.memoryBudgetBytes`);
        }
        ckpt = pool.acquire(device, count * capacity * CK * 4, STORAGE, `${label} checkpoints`);
        run = await forwardChunk(device, fwd.pipeline, `${label} forward`, integrated, opts, start, count, { every, capacity, buffer: ckpt });
      }

      // 2. The loss at the saves (f64, host) and the cotangents ȳ_s the backward sweep reads.
      const adjIn = new Float32Array(2 * S + count * S * N);
      saveat.forEach((t, s) => adjIn.set(hiLo(t), 2 * s));
      const adjCounters = new Uint32Array(count * ADJOINT_COUNTER_STRIDE);
      const out = new Float64Array(S * N), ybarSaves = new Float64Array(S * N);
      for (let b = 0; b < count; b++) {
        const g = start + b, c = b * COUNTER_STRIDE;
        const status = run.counters[c]!, steps = run.counters[c + 1]!;
        result.status[g] = status;
        result.steps[g] = steps;
        if (status !== STATUS.success) { result.lossPerTrajectory[g] = Infinity; continue; }
        for (let k = 0; k < S * N; k++) out[k] = run.out[b * S * N + k]!;
        ybarSaves.fill(0);
        result.lossPerTrajectory[g] = setup.lossAt(g, out, ybarSaves, result.params.subarray(g * P, (g + 1) * P), result);
        adjIn.set(ybarSaves, 2 * S + b * S * N);
        adjCounters.set([Math.ceil(steps / every), steps, run.counters[c + 4]!, 0, 0], b * ADJOINT_COUNTER_STRIDE);
      }
      if (options.lossOnly || !bwd) continue;

      // 3. Backward sweep, one segment per dispatch.
      const { gx, gy } = dispatchGrid(device, count);
      const cfgBytes = solverConfig({
        t1: problem.t1, opts, batch: count, nSave: S, rowWidth: gx * WORKGROUP_SIZE, checkpoints: { every, capacity },
      });
      const workFloats = (N + Pw + every * TS) * count;
      const buf = {
        cfg: pool.acquire(device, CONFIG_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${label} adjoint config`),
        params: pool.acquire(device, count * Pw * 4, STORAGE, `${label} adjoint params`),
        adj: pool.acquire(device, adjCounters.byteLength, STORAGE, `${label} adjoint counters`),
        adjIn: pool.acquire(device, adjIn.byteLength, STORAGE, `${label} save times and ȳ`),
        work: pool.acquire(device, workFloats * 4, STORAGE, `${label} ȳ, p̄ and tape`),
        active: pool.acquire(device, 4, STORAGE, `${label} adjoint active count`),
        ...(W ? {
          weights: pool.acquire(device, W * 4, STORAGE, `${label} neural weights`),
          wbar: pool.acquire(device, count * W * 4, STORAGE, `${label} θ̄ per trajectory`),
          signals: pool.acquire(device, count * scratch * 4, STORAGE, `${label} network inputs and cotangents`),
        } : {}),
      };
      try {
        const params = packParams(problem, start, count);
        const passes = await checked(device, `bind groups ${label} adjoint`, () => {
          device.queue.writeBuffer(buf.cfg, 0, cfgBytes);
          device.queue.writeBuffer(buf.params, 0, params);
          device.queue.writeBuffer(buf.adj, 0, adjCounters);
          device.queue.writeBuffer(buf.adjIn, 0, adjIn);
          const enc = device.createCommandEncoder({ label: `${label} adjoint clear` });
          enc.clearBuffer(buf.work, 0, (N + Pw) * count * 4);
          if (buf.wbar) enc.clearBuffer(buf.wbar);
          device.queue.submit([enc.finish()]);
          if (buf.weights) device.queue.writeBuffer(buf.weights, 0, Float32Array.from(problem.weights));
          const sweep: Pass = {
            pipeline: bwd.pipeline, gx, gy,
            bindGroup: bindGroupFor(device, bwd.pipeline, ADJOINT_PROGRAM, {
              cfg: buf.cfg, params: buf.params, ckpt, adj: buf.adj, save_t: buf.adjIn, work: buf.work, n_running: buf.active,
              nn_w: buf.weights, signals: buf.signals,
            }, `${label} adjoint`),
          };
          if (!wgrad || !buf.wbar) return [sweep];
          return [sweep, {
            pipeline: wgrad.pipeline, gx, gy,
            bindGroup: bindGroupFor(device, wgrad.pipeline, WEIGHT_GRADIENT_PROGRAM, {
              cfg: buf.cfg, adj: buf.adj, signals: buf.signals, nn_w: buf.weights, wbar: buf.wbar,
            }, `${label} θ̄`),
          }];
        });
        await dispatchUntilDone(device, passes, buf.active, `${label} adjoint`);
        const [cot, counters] = await Promise.all([
          readBuffer(device, buf.work, (N + Pw) * count * 4, `${label} ȳ and p̄`),
          readBuffer(device, buf.adj, adjCounters.byteLength, `${label} adjoint counters`),
        ]);
        const cv = new Float32Array(cot), ac = new Uint32Array(counters);
        for (let b = 0; b < count; b++) {
          const g = start + b;
          if (ac[b * ADJOINT_COUNTER_STRIDE + 3]) throw new Error(`internal: the adjoint's replay of trajectory ${g} did not retrace its forward steps`);
          if (result.status[g] !== STATUS.success) continue;
          for (let k = 0; k < N0; k++) result.initial[g * N0 + k] = cv[k * count + b]!;
          for (let q = 0; q < P; q++) result.params[g * P + q]! += cv[(N + q) * count + b]!;
        }
        // 4. θ̄ = Σ_b θ̄_b, as a tree (deterministic, pairwise accuracy).
        if (buf.wbar) {
          const summed = count > 1 ? await sumRowsOnGpu(device, buf.wbar, count, W, true) : buf.wbar;
          const wsum = new Float32Array(await readBuffer(device, summed, W * 4, `${label} θ̄`));
          if (summed !== buf.wbar) pool.release(summed);
          wsum.forEach((v, k) => { result.weights[k]! += v; });
        }
      } finally {
        for (const b of Object.values(buf)) pool.release(b);
      }
    } finally {
      pool.release(ckpt);
    }
  }
  result.chunks = Math.ceil(B / chunk);
  return finishResult(result, problem.weights, terms);
  });
}
