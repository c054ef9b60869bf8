/**
 * GPU dispatch helpers shared by the solver (src/solvers/gpu.ts) and the adjoint
 * (src/training/gpu-adjoint.ts): run-time configuration, parameter packing, the grid of
 * workgroups, and the forward pass of one chunk of trajectories dispatched in rounds until every
 * invocation has a final status. Each dispatch lets an invocation take at most STEP_BUDGET step
 * attempts, so a stiff straggler costs its own time only and the host can report progress.
 */
import { bufferPool, checked, readBuffer } from './runtime.js';
import { COUNTER_STRIDE, WORKGROUP_SIZE, stateStride } from '../codegen/kernel.js';
import { CONTROLLER_REGISTERS } from '../methods/controller.js';
import { SOLVER_CONFIG, SOLVER_PROGRAM, uniformBytes } from '../codegen/programs.js';
import { bindGroupFor, uniformData } from './program.js';
import type { EnsembleProblem, ResolvedOptions } from '../solvers/problem.js';

/** Step attempts one invocation may take per dispatch: long enough to amortise a dispatch. */
const STEP_BUDGET = 256;
/** Dispatches encoded per round trip to read the active count. */
const DISPATCHES_PER_ROUND = 4;

/** x as an unevaluated f32 sum hi + lo (time on the GPU is carried this way). */
export const hiLo = (x: number): [number, number] => { const hi = Math.fround(x); return [hi, Math.fround(x - hi)]; };

/**
 * What the adjoint's forward pass stores in `buffer`: checkpoints of the controller state every
 * `every` accepted steps, at most `capacity` per trajectory; or, with `stageTape`, every accepted
 * step's stage points for the first `capacity` steps (bound as `tape`, not `ckpt`).
 */
export interface CheckpointPlan { every: number; capacity: number; buffer: GPUBuffer; stageTape?: boolean }

/** What one chunk of trajectories left: saves (count × S × N, f32), the six counters and the final controller state of each. */
export interface ForwardChunk { out: Float32Array; counters: Uint32Array; state: Float32Array }

/**
 * Integrates trajectories [start, start + count) of the problem with a compiled solver pipeline:
 * uploads, dispatches rounds until none is running, reads back. With `checkpoints` the pipeline
 * must be built with them (buildSolverKernel(…, true)) and writes them into `checkpoints.buffer`.
 * With `weightsCompiledIn` the pipeline holds the network's weights (withWeightsCompiledIn) and
 * binds no weight buffer.
 */
export async function forwardChunk(
  device: GPUDevice, pipeline: GPUComputePipeline, label: string, problem: EnsembleProblem, opts: ResolvedOptions,
  start: number, count: number, checkpoints?: CheckpointPlan, onProgress?: (finishedInChunk: number) => void,
  weightsCompiledIn = false,
): Promise<ForwardChunk> {
  const { model, saveat } = problem;
  const N = model.states.length, S = saveat.length;
  const saveT = new Float32Array(2 * S);
  saveat.forEach((s, j) => { const [hi, lo] = hiLo(s); saveT[2 * j] = hi; saveT[2 * j + 1] = lo; });
  const state = initialState(problem, start, count);
  const params = packParams(problem, start, count);
  const { gx, gy } = dispatchGrid(device, count);
  const cfg = solverConfig({ t1: problem.t1, opts, batch: count, nSave: S, rowWidth: gx * WORKGROUP_SIZE, checkpoints });

  const pool = bufferPool(device);
  const STORAGE = storageUsage();
  const buf = {
    cfg: pool.acquire(device, CONFIG_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${label} config`),
    params: pool.acquire(device, params.byteLength, STORAGE, `${label} params`),
    state: pool.acquire(device, state.byteLength, STORAGE, `${label} state`),
    counters: pool.acquire(device, count * COUNTER_STRIDE * 4, STORAGE, `${label} counters`),
    saveT: pool.acquire(device, Math.max(4, saveT.byteLength), STORAGE, `${label} save times`),
    out: pool.acquire(device, Math.max(4, count * S * N * 4), STORAGE, `${label} output`),
    active: pool.acquire(device, 4, STORAGE, `${label} active count`),
    // Neural weights θ, shared by every trajectory (unless the kernel has them as a constant: withWeightsCompiledIn).
    ...(model.neural && !weightsCompiledIn ? { weights: pool.acquire(device, Math.max(4, problem.weights.length * 4), STORAGE, `${label} neural weights`) } : {}),
  };
  try {
    const bindGroup = await checked(device, `bind group ${label}`, () => {
      device.queue.writeBuffer(buf.cfg, 0, cfg);
      device.queue.writeBuffer(buf.params, 0, params);
      device.queue.writeBuffer(buf.state, 0, state);
      device.queue.writeBuffer(buf.counters, 0, new Uint32Array(count * COUNTER_STRIDE));
      if (saveT.byteLength) device.queue.writeBuffer(buf.saveT, 0, saveT);
      if (buf.weights) device.queue.writeBuffer(buf.weights, 0, Float32Array.from(problem.weights));
      return bindGroupFor(device, pipeline, SOLVER_PROGRAM, {
        cfg: buf.cfg, params: buf.params, state: buf.state, counters: buf.counters, save_t: buf.saveT, out: buf.out,
        n_running: buf.active, nn_w: buf.weights, [checkpoints?.stageTape ? 'tape' : 'ckpt']: checkpoints?.buffer,
      }, label);
    });
    await dispatchUntilDone(device, [{ pipeline, bindGroup, gx, gy }], buf.active, label, (active) => onProgress?.(count - active));
    const [out, counters, final] = await Promise.all([
      readBuffer(device, buf.out, count * S * N * 4, `${label} output`),
      readBuffer(device, buf.counters, count * COUNTER_STRIDE * 4, `${label} counters`),
      readBuffer(device, buf.state, state.byteLength, `${label} state`),
    ]);
    return { out: new Float32Array(out), counters: new Uint32Array(counters), state: new Float32Array(final) };
  } finally {
    for (const b of Object.values(buf)) pool.release(b);
  }
}

/**
 * Parameters of trajectories [start, start + count) as the kernels read them: rows of
 * max(P, 1) f32 (WGSL has no zero-length arrays, see `wgslSizes`), the padding zero-filled. A model
 * without parameters still gets a written row, so its kernel never reads a pooled buffer's stale
 * contents (a NaN left there by an earlier solve marked such trajectories non_finite).
 */
export function packParams(problem: EnsembleProblem, start: number, count: number): Float32Array {
  const P = problem.model.params.length, Pw = Math.max(P, 1);
  const out = new Float32Array(count * Pw);
  // Rows of P values are the problem's own layout: one native f64 → f32 copy.
  if (P > 0) out.set(problem.params.subarray(start * P, (start + count) * P));
  return out;
}

/**
 * The state buffer's rows for trajectories [start, start + count) (layout of `stateStride`): y₀,
 * a zero compensation, t0 as hi + lo, the controller registers' initial values. The constant part
 * is written once and copied by doubling (copyWithin), the initial states in one loop: at
 * B = 1e5 the row-by-row version took ~25 ms of the main thread per solve.
 */
function initialState(problem: EnsembleProblem, start: number, count: number): Float32Array {
  const N = problem.model.states.length, SS = stateStride(N);
  const state = new Float32Array(count * SS);
  if (count === 0) return state;
  [state[2 * N], state[2 * N + 1]] = hiLo(problem.t0);
  CONTROLLER_REGISTERS.forEach((r, j) => { state[2 * N + 2 + j] = r.initial; });
  for (let filled = SS; filled < state.length; filled *= 2) state.copyWithin(filled, 0, Math.min(filled, state.length - filled));
  const y0 = problem.initial;
  for (let b = 0, o = 0, g = start * N; b < count; b++, o += SS) for (let k = 0; k < N; k++, g++) state[o + k] = y0[g]!;
  return state;
}

/** Usage of a storage buffer we write and read back (GPUBufferUsage exists once the GPU is loaded). */
export const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
/** Bytes of the uniform `Config` (SOLVER_CONFIG in src/codegen/programs.ts). */
export const CONFIG_BYTES = uniformBytes(SOLVER_CONFIG);

/** The uniform `Config` of the solver-like kernels, written by field name from SOLVER_CONFIG. */
export function solverConfig(c: {
  t1: number; opts: ResolvedOptions; batch: number; nSave: number; rowWidth: number;
  checkpoints?: { every: number; capacity: number };
}): ArrayBuffer {
  const [t1_hi, t1_lo] = hiLo(c.t1);
  return uniformData(SOLVER_CONFIG, {
    t1_hi, t1_lo, rtol: c.opts.rtol, atol: c.opts.atol, dt: c.opts.dt,
    max_steps: Math.min(c.opts.maxSteps, 0xffffffff), step_budget: STEP_BUDGET, batch: c.batch, n_save: c.nSave, row_width: c.rowWidth,
    one: 1, ckpt_every: c.checkpoints?.every ?? 0, ckpt_capacity: c.checkpoints?.capacity ?? 0,
  });
}

/** A 2-D grid of workgroups covering `count` invocations (one dimension is capped by the device). */
export function dispatchGrid(device: GPUDevice, count: number): { gx: number; gy: number } {
  const groups = Math.ceil(count / WORKGROUP_SIZE);
  const gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
  return { gx, gy: Math.ceil(groups / gx) };
}

/** One compute pass of a dispatch: a pipeline, its bindings and its grid of workgroups. */
export interface Pass { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; gx: number; gy: number }

/**
 * Dispatches the passes (in order) in rounds of DISPATCHES_PER_ROUND until the kernels report no
 * invocation still running (each running invocation of the first pass adds 1 to `active` at its end).
 */
export async function dispatchUntilDone(device: GPUDevice, passes: Pass[], active: GPUBuffer, label: string, onRound?: (active: number) => void): Promise<void> {
  for (let round = 0; ; round++) {
    await checked(device, `dispatch ${label}`, () => {
      const enc = device.createCommandEncoder({ label: `${label} round ${round}` });
      for (let d = 0; d < DISPATCHES_PER_ROUND; d++) {
        // Only the last dispatch of a round counts the trajectories still running.
        if (d === DISPATCHES_PER_ROUND - 1) enc.clearBuffer(active, 0, 4);
        for (const p of passes) {
          const pass = enc.beginComputePass({ label });
          pass.setPipeline(p.pipeline);
          pass.setBindGroup(0, p.bindGroup);
          pass.dispatchWorkgroups(p.gx, p.gy);
          pass.end();
        }
      }
      device.queue.submit([enc.finish()]);
    });
    const n = new Uint32Array(await readBuffer(device, active, 4, `${label} active count`))[0]!;
    onRound?.(n);
    if (n === 0) return;
  }
}
