/**
 * The discrete adjoint on the GPU (f32): the same gradient as `gradientCpu` (src/training/adjoint.ts)
 * for every method (explicit Runge–Kutta and Rosenbrock), with the forward and backward sweeps as
 * WGSL kernels over the batch.
 *
 *  1. Forward: the ordinary solver kernel, also storing every accepted step's stage points (the
 *     stage tape, src/codegen/kernel.ts, stageTapePoints: explicit methods whose stages are all
 *     step stages, while they fit) or else the controller state every K accepted steps
 *     (writeCheckpoint).
 *  2. Host (f64): the loss at the saves and its cotangents ȳ_s, ∂L/∂p of the observation model and
 *     priors (gradientSetup — the same code as the CPU path); O(data), not O(steps).
 *  3. Backward: one segment of K steps per trajectory per dispatch, last first: the stage adjoints
 *     straight from the tape, or after replaying the segment from its checkpoint
 *     (src/codegen/adjoint.ts).
 *  4. θ̄ = Σ_b θ̄_b by the deterministic tree reduction (src/gpu/reduce.ts).
 *
 * Memory per trajectory: with the tape, (N·s + 4)·4 bytes per accepted step (s stages; up to
 * `adjoint.stageTapeBytes`, one binding and `adjoint.memoryBudgetBytes`); replayed, (2N + 6)·4
 * bytes per checkpoint and one segment's tape K·(N + 4)·4 bytes; and ȳ, p̄, θ̄.
 */
import { acquireGpu, bufferPool, checked, computePipeline, failIfLost, readBuffer } from '../gpu/runtime.js';
import { bindGroupFor } from '../gpu/program.js';
import { ADJOINT_PROGRAM } from '../codegen/programs.js';
import { sumRowsOnGpu } from '../gpu/reduce.js';
import { ADJOINT_COUNTER_STRIDE, buildAdjointKernel, tapeStride } from '../codegen/adjoint.js';
import { COUNTER_STRIDE, WORKGROUP_SIZE, buildSolverKernel, cachedKernel, checkpointStride, stageTapePoints, stageTapeStride, stateStride } from '../codegen/kernel.js';
import { CONFIG_BYTES, dispatchGrid, dispatchUntilDone, forwardChunk, hiLo, packParams, solverConfig, storageUsage, type Pass } from '../gpu/dispatch.js';
import { STATUS } from '../methods/status.js';
import { ProblemError, remake, type EnsembleProblem } from '../solvers/problem.js';
import type { Method } from '../methods/tableaus.js';
import { f32ToleranceProblem, resolveOptions } from '../solvers/options.js';
import { checkpointInterval, emptyResult, finishResult, gradientSetup, stageTapeBytes, type GradientOptions, type GradientResult } from './adjoint.js';
import type { LossTerms, Observations } from './loss.js';

/** Checkpoints per trajectory planned for at first; a trajectory that needs more makes the chunk run again with room for them. */
const INITIAL_CAPACITY = 64;
/**
 * Accepted steps per trajectory the stage tape is planned for when the batch is split into chunks;
 * each chunk's tape then takes all the room its binding and the memory budget leave.
 */
const PLANNED_TAPE_STEPS = 256;
/** Upper bound on the bytes of one storage binding we plan for (as the forward solver). */
const MAX_BINDING_BYTES = 256 * 1024 * 1024;

/**
 * Bytes of GPU memory the adjoint keeps per trajectory (for bench/ and docs): per accepted step on
 * the stage tape (undefined for a method without one), or, replayed, per checkpoint of the
 * controller state and for the tape of one segment of `every` steps. (Besides: ȳ and p̄, and with
 * a network θ̄.)
 */
export function gpuAdjointBytes(N: number, every: number, method: Method) {
  return {
    stageTapePerStep: stageTapePoints(method) ? stageTapeStride(N, method) * 4 : undefined,
    perCheckpoint: checkpointStride(N) * 4, tape: every * tapeStride(N) * 4,
  };
}

export async function gradientGpu(problem: EnsembleProblem, obs: Observations, terms: LossTerms = {}, options: GradientOptions = {}): Promise<GradientResult> {
  const opts = resolveOptions(options.method, options);
  const method = opts.method;
  const f32Problem = f32ToleranceProblem(opts);
  if (f32Problem) throw new ProblemError(`${f32Problem}: compute these gradients on the CPU (backend "cpu", f64), or raise rtol`);
  const setup = gradientSetup(problem, obs, terms, method, options.lossOnly);
  const { model, N0, N, P, B, saveat } = setup;
  const S = saveat.length, Pw = Math.max(P, 1), W = problem.weights.length, TS = tapeStride(N), CK = checkpointStride(N);
  const every = checkpointInterval(options);
  const result = emptyResult(B, N0, P, W, obs);
  const { device } = await acquireGpu();
  return failIfLost(device, `the GPU gradient of ${model.name}`, async () => {
  const label = `${model.name}/${method.name}`;
  // The stage tape (no replay) where the method has one and a step fits the per-trajectory
  // budget; a chunk whose steps outrun its tape replays from checkpoints instead (kernels built
  // only then). The loss alone runs the same forward kernel, so it gives the same numbers.
  const RS = stageTapeStride(N, method);
  const tapeBytes = stageTapeBytes(options);
  const taped = stageTapePoints(method) !== undefined && tapeBytes >= RS * 4;
  const kernels = (stageTape: boolean) => Promise.all([
    computePipeline(device, `${label} forward + ${stageTape ? 'stage tape' : 'checkpoints'}`,
      cachedKernel(model, method, `forward ${opts.fixedStep} ${stageTape}`, () => buildSolverKernel(model, method, opts.fixedStep, true, { stageTape }))),
    options.lossOnly ? undefined : computePipeline(device, `${label} adjoint${stageTape ? ' (stage tape)' : ''}`,
      cachedKernel(model, method, `adjoint ${opts.fixedStep} ${stageTape}`, () => buildAdjointKernel(model, method, opts.fixedStep, { stageTape }))),
  ]);
  const [tapeFwd, tapeBwd] = await kernels(taped);

  // Every trajectory's y₀ (with tracking states) as one problem for the forward kernel.
  const y0 = new Float64Array(B * N);
  for (let b = 0; b < B; b++) setup.initialState(b, y0.subarray(b * N, (b + 1) * N));
  const integrated = remake(problem, { model, initial: y0, saveat });

  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, MAX_BINDING_BYTES);
  // The largest per-trajectory binding bounds a chunk by the binding limit; the sum of them by the memory budget.
  const stored = taped ? PLANNED_TAPE_STEPS * RS : INITIAL_CAPACITY * CK;
  const perTraj = Math.max(stored, N + Pw + every * TS, W, S * N + 2) * 4;
  // All but the checkpoints or tape (for the room a chunk's tape may take, below).
  const perTrajOther = (N + Pw + every * TS + W + 2 * S * N + stateStride(N) + COUNTER_STRIDE + ADJOINT_COUNTER_STRIDE + Pw) * 4;
  const perTrajTotal = stored * 4 + perTrajOther;
  // The least that works: the checkpoints planned at first (a tape with less room falls back to them).
  const perTrajLeast = INITIAL_CAPACITY * CK * 4 + perTrajOther;
  const budget = options.adjoint?.memoryBudgetBytes;
  if (budget !== undefined && !(budget >= perTrajLeast)) {
    throw new ProblemError(`adjoint.memoryBudgetBytes ${budget} is less than one trajectory needs on the GPU (${perTrajLeast} bytes with checkpointEvery ${every})`);
  }
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  const chunk = Math.max(1, Math.min(B, Math.floor(limit / perTraj), maxGroups * maxGroups * WORKGROUP_SIZE, budget ? Math.floor(budget / perTrajTotal) : Infinity));
  const pool = bufferPool(device);
  const STORAGE = storageUsage();

  let replayedChunks = taped ? 0 : Math.ceil(B / chunk);
  for (let start = 0; start < B; start += chunk) {
    const count = Math.min(chunk, B - start);
    // 1. Forward with the stage tape, as many steps as the room allows; or with checkpoints, again
    // with more room if some trajectory outran them. The loss alone stores nothing (capacity 0:
    // the same kernel, so the same numbers, writing nothing).
    let stageTape = taped;
    let [fwd, bwd] = [tapeFwd, tapeBwd];
    const tapeRoom = Math.max(0, Math.min(Math.floor(tapeBytes / (RS * 4)), Math.floor(limit / (count * RS * 4)),
      budget ? Math.floor((budget / count - perTrajOther) / (RS * 4)) : Infinity));
    let capacity = options.lossOnly ? 0 : stageTape ? tapeRoom : INITIAL_CAPACITY;
    const storedBytes = () => Math.max(16, count * capacity * (stageTape ? RS : CK) * 4);
    let ckpt = pool.acquire(device, storedBytes(), STORAGE, `${label} ${stageTape ? 'stage tape' : 'checkpoints'}`);
    try {
      let run = await forwardChunk(device, fwd.pipeline, `${label} forward`, integrated, opts, start, count, { every, capacity, buffer: ckpt, stageTape });
      let most = 0;
      for (let b = 0; b < count; b++) most = Math.max(most, run.counters[b * COUNTER_STRIDE + 1]!);
      if (!options.lossOnly && most > (stageTape ? capacity : every * capacity)) {
        pool.release(ckpt);
        if (stageTape) {
          [stageTape, [fwd, bwd]] = [false, await kernels(false)];
          replayedChunks += 1;
        }
        capacity = Math.ceil(most / every);
        if (count * capacity * CK * 4 > limit) {
          throw new ProblemError(`${most} steps need ${capacity} checkpoints per trajectory, more than one storage binding holds for ${count} trajectories; raise adjoint.checkpointEvery (now ${every}) or lower adjoint.memoryBudgetBytes`);
        }
        ckpt = pool.acquire(device, storedBytes(), STORAGE, `${label} checkpoints`);
        run = await forwardChunk(device, fwd.pipeline, `${label} forward`, integrated, opts, start, count, { every, capacity, buffer: ckpt, stageTape });
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
      const sweepPipeline = bwd.pipeline;

      // 3. Backward sweep, one segment per dispatch.
      const { gx, gy } = dispatchGrid(device, count);
      const cfgBytes = solverConfig({
        t1: problem.t1, opts, batch: count, nSave: S, rowWidth: gx * WORKGROUP_SIZE, checkpoints: { every, capacity },
      });
      const workFloats = (N + Pw + (stageTape ? 0 : every * TS)) * count;
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
            pipeline: sweepPipeline, gx, gy,
            bindGroup: bindGroupFor(device, sweepPipeline, ADJOINT_PROGRAM, {
              cfg: buf.cfg, params: buf.params, [stageTape ? 'tape' : 'ckpt']: ckpt, adj: buf.adj, save_t: buf.adjIn, work: buf.work, n_running: buf.active,
              nn_w: buf.weights, wbar: buf.wbar,
            }, `${label} adjoint`),
          };
          return [sweep];
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
  result.replayedChunks = replayedChunks;
  return finishResult(result, problem.weights, terms);
  });
}
