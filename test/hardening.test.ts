/**
 * Engine rules found missing by the issue #9 review, each with the defect it guards against.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeProblem, parseModel, solve, statusName, ProblemError, type MethodName } from '../src/index.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { gradientGpu } from '../src/training/gpu-adjoint.js';
import { F32_MIN_RTOL } from '../src/solvers/solve.js';
import { itOnBackends } from './helpers/gpu.js';
import { decay } from './helpers/problems.js';

afterAll(releaseGpu);

describe('tolerances below f32 resolution (defect 6)', () => {
  const problem = makeProblem(decay, { t1: 1, saveat: [1] });

  it('backend "gpu" refuses rtol below 1e-6 and names the CPU backend', async () => {
    expect(F32_MIN_RTOL).toBe(1e-6);
    await expect(solve(problem, { backend: 'gpu', rtol: 1e-9 })).rejects.toThrow(ProblemError);
    await expect(solve(problem, { backend: 'gpu', rtol: 1e-9 })).rejects.toThrow(/rtol 1e-9 is finer than the GPU's f32 arithmetic resolves .* use backend "cpu"/);
    await expect(gradientGpu(problem, { observables: [{ name: 'x', noise: 'normal', sigma: 1, scale: 1, offset: 0 }], data: [{ traj: 0, t: 1, observable: 0, value: 0.5 }] }, {}, { rtol: 1e-9 }))
      .rejects.toThrow(/finer than the GPU's f32 .*backend "cpu"/);
  });

  it('backend "auto" runs such a request on the CPU (f64) and says so', async () => {
    const sol = await solve(problem, { rtol: 1e-10, atol: 1e-12 });
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
      const sol = await solve(problem, { method, dt: 0.5, adaptive: false, backend });
      expect(statusName(sol.status[0]!)).toBe('non_finite');
      expect(sol.rejected[0]).toBe(0);
      // Every accepted step was a whole dt: the trajectory stopped at steps × dt, before t = 2.5.
      expect(sol.tEnd[0]).toBeCloseTo(sol.steps[0]! * 0.5, 6);
      expect(sol.tEnd[0]).toBeLessThanOrEqual(2);
    });
  }
});
