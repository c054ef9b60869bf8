/**
 * Engine rules found missing by the issue #9 review, each with the defect it guards against.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fit, makeProblem, parseModel, solve, statusName, ProblemError, type MethodName, type Observations } from '../src/index.js';
import { acquireGpu, GpuDeviceLostError, readBuffer, releaseGpu, withdrawnMappingCount } from '../src/gpu/runtime.js';
import { gradientGpu } from '../src/training/gpu-adjoint.js';
import { F32_MIN_RTOL } from '../src/solvers/solve.js';
import { itOnBackends, requireGpu } from './helpers/gpu.js';
import { decay } from './helpers/problems.js';

afterAll(releaseGpu);

describe('tolerances below f32 resolution (defect 6)', () => {
  const problem = makeProblem(decay, { t1: 1, saveat: [1] });

  it('backend "gpu" refuses rtol below 1e-6 and names the CPU backend', async () => {
    expect(F32_MIN_RTOL).toBe(1e-6);
    await expect(solve(problem, 'dopri5', { backend: 'gpu', rtol: 1e-9 })).rejects.toThrow(ProblemError);
    await expect(solve(problem, 'dopri5', { backend: 'gpu', rtol: 1e-9 })).rejects.toThrow(/rtol 1e-9 is finer than the GPU's f32 arithmetic resolves .* use backend "cpu"/);
    await expect(gradientGpu(problem, { observables: [{ name: 'x', noise: 'normal', sigma: 1, scale: 1, offset: 0 }], data: [{ traj: 0, t: 1, observable: 0, value: 0.5 }] }, {}, { rtol: 1e-9 }))
      .rejects.toThrow(/finer than the GPU's f32 .*backend "cpu"/);
  });

  it('backend "auto" runs such a request on the CPU (f64) and says so', async () => {
    const sol = await solve(problem, 'dopri5', { rtol: 1e-10, atol: 1e-12 });
    expect(sol.backend).toBe('cpu');
    expect(sol.notice).toMatch(/rtol 1e-10 is finer than the GPU's f32 arithmetic resolves .*; using the CPU backend \(f64\)/);
    expect(Math.abs(sol.y[0]! - Math.exp(-0.7))).toBeLessThan(1e-9);
  });
});

describe('fixed steps and a non-finite trial: one rule for every method (defect 8)', () => {
  // x' = −√x from x = 1 reaches 0 at t = 2; steps of 0.5 overshoot into x < 0, where √x is NaN.
  const sqrtDecay = parseModel({ name: 'sqrt_decay', states: { x: 1 }, params: {}, equations: { x: '-sqrt(x)' } });
  const problem = makeProblem(sqrtDecay, { t1: 4, saveat: [1, 2, 3, 4] });
  for (const method of ['rk4', 'dopri5', 'rosenbrock23', 'rodas4'] as MethodName[]) {
    itOnBackends(`${method} with fixed steps stops as non_finite at the step that failed, without shrinking dt`, async (backend) => {
      const sol = await solve(problem, method, { dt: 0.5, adaptive: false, backend });
      expect(statusName(sol.status[0]!)).toBe('non_finite');
      expect(sol.stats.rejected[0]).toBe(0);
      // Every accepted step was a whole dt: the trajectory stopped at steps × dt, before t = 2.5.
      expect(sol.tEnd[0]).toBeCloseTo(sol.stats.steps[0]! * 0.5, 6);
      expect(sol.tEnd[0]).toBeLessThanOrEqual(2);
    });
  }
});

describe('fit statuses per start (defect 7)', () => {
  const obs = (value: number, t = 1): Observations => ({
    observables: [{ name: 'x', noise: 'normal', sigma: 0.1, scale: 1, offset: 0 }], data: [{ traj: 0, t, observable: 0, value }],
  });
  const fitOne = (spec: object, o: Observations, options: object = {}) =>
    fit(makeProblem(parseModel(spec), { t1: 1 }), o, { estimate: ['k'], starts: 1, solver: { backend: 'cpu', rtol: 1e-10, atol: 1e-12 }, ...options });

  it('a line search that finds no decrease where the gradient is not small is line_search_failed, not converged', async () => {
    // x(1) = k for k ≤ 1 and 10 above: the data (1.5) pull k up from k = 1, and every step up jumps.
    const r = await fitOne({ name: 'jump', states: { x: 0 }, params: { k: 1 }, equations: { x: 'k > 1 ? 10 : k' } }, obs(1.5));
    expect(r.best.status).toBe('line_search_failed');
    expect(r.best.converged).toBe(false);
    expect(r.best.params[0]).toBe(1);
  });

  it('a gradient that is NaN (√x at x = 0) is non_finite', async () => {
    const r = await fitOne({ name: 'sqrt0', states: { x: 0 }, params: { k: 1 }, equations: { x: '-k*sqrt(x)' } }, obs(0.2));
    expect(r.best.status).toBe('non_finite');
  });

  it('a fit still improving when the iterations run out is max_iterations; a clean fit is converged', async () => {
    const decaySpec = { name: 'decay', states: { x: 1 }, params: { k: 0.2 }, equations: { x: '-k*x' } };
    const short = await fitOne(decaySpec, obs(Math.exp(-0.7)), { maxIterations: 1 });
    expect(short.best.status).toBe('max_iterations');
    const full = await fitOne(decaySpec, obs(Math.exp(-0.7)));
    expect(full.best.status).toBe('converged');
    expect(full.best.params[0]).toBeCloseTo(0.7, 5);
  });
});

describe('the GPU device lost mid-run (defect 10)', () => {
  // Lorenz over a long span: several dispatch rounds, so onProgress runs while work is pending.
  const lorenz = parseModel({ name: 'lorenz', states: { x: 1, y: 0, z: 0 }, params: { sigma: 10, rho: 28, beta: 8 / 3 }, equations: { x: 'sigma*(y-x)', y: 'x*(rho-z)-y', z: 'x*y-beta*z' } });
  const problem = makeProblem(lorenz, { t1: 50, saveat: [10, 50], batch: 256 });
  const destroyOnFirstProgress = async () => {
    const { device } = await acquireGpu();
    let done = false;
    return () => { if (!done) { done = true; device.destroy(); } };
  };

  it('backend "auto" finishes on the CPU and says why', async (ctx) => {
    requireGpu(ctx);
    const sol = await solve(problem, 'dopri5', { backend: 'auto', onProgress: await destroyOnFirstProgress() });
    expect(sol.backend).toBe('cpu');
    expect(sol.notice).toMatch(/the GPU device was lost during the solve of lorenz \(destroyed.*\); the run was done again on the CPU backend/);
    const cpu = await solve(problem, 'dopri5', { backend: 'cpu' });
    expect(Array.from(sol.y)).toEqual(Array.from(cpu.y));
  });

  it('backend "gpu" fails with GpuDeviceLostError, and the next solve gets a new device', async (ctx) => {
    requireGpu(ctx);
    await expect(solve(problem, 'dopri5', { backend: 'gpu', onProgress: await destroyOnFirstProgress() })).rejects.toThrow(GpuDeviceLostError);
    const again = await solve(makeProblem(decay, { t1: 1, saveat: [1] }), 'dopri5', { backend: 'gpu' });
    expect(again.status[0]).toBe(1);
  });
});

describe('reading back long GPU work without polling (issue 15)', () => {
  it('returns the finished results; on a software device after mappings were withdrawn while the work ran', async (ctx) => {
    requireGpu(ctx);
    const { device, adapter } = await acquireGpu();
    // a ← 0.99·a + 0.02 converges to 2 from any start: 20 000 dependent FMAs per invocation
    // (~0.1 s on llvmpipe), so the first mapping is asked for long before the work is done.
    const code = `@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var a = f32(g.x) * 1e-3;
  for (var k = 0u; k < 20000u; k++) { a = fma(a, 0.99, 0.02); }
  o[g.x] = a;
}`;
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
    const n = 65536;
    const out = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    try {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
      pass.dispatchWorkgroups(n / 64);
      pass.end();
      const before = withdrawnMappingCount();
      device.queue.submit([enc.finish()]);
      const got = new Float32Array(await readBuffer(device, out, n * 4, 'long work'));
      // f32 rounding leaves a band of fixed points: |a − 2| ≲ ulp(2)/(1 − 0.99) ≈ 2.4e-5.
      expect(got.every((a) => Math.abs(a - 2) < 1e-4)).toBe(true);
      const software = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
      if (software) expect(withdrawnMappingCount()).toBeGreaterThan(before);
      else expect(withdrawnMappingCount()).toBe(before);
    } finally {
      out.destroy();
    }
  });
});
