/**
 * Agreement with independent references, on both backends: analytic solutions, first integrals,
 * cross-method agreement and the published IVP-test-set values for the stiff problems.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProblem, solve, type Model, type MethodName } from '../src/index.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { gpuAvailable } from './helpers/gpu.js';
import * as P from './helpers/problems.js';

let haveGpu = false;
beforeAll(async () => { haveGpu = await gpuAvailable(); });
afterAll(releaseGpu);

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>, floor = 0) =>
  Math.max(...Array.from(b, (r, i) => Math.abs(a[i]! - r) / Math.max(Math.abs(r), floor)));

async function endState(model: Model, t1: number, method: MethodName, backend: 'cpu' | 'gpu', rtol: number, atol: number) {
  const sol = await solve(makeProblem(model, { t1, saveat: [t1] }), { method, rtol, atol, backend, maxSteps: 2_000_000 });
  expect(sol.status[0], `status of ${model.name} on ${backend}`).toBe(1);
  return sol.y;
}

describe.each(['dopri5', 'tsit5'] as const)('%s on non-stiff references', (method) => {
  it('exponential decay matches exp(−kt) (CPU 1e-8 at rtol 1e-10; GPU 1e-4 at rtol 1e-6)', async () => {
    const exact = [Math.exp(-0.7 * 5)];
    expect(maxRel(await endState(P.decay, 5, method, 'cpu', 1e-10, 1e-12), exact)).toBeLessThan(1e-8);
    if (haveGpu) expect(maxRel(await endState(P.decay, 5, method, 'gpu', 1e-6, 1e-8), exact)).toBeLessThan(1e-4);
  });

  it('Lotka–Volterra keeps its first integral V(x, y)', async () => {
    const v0 = P.lvInvariant(1, 1);
    const cpu = await endState(P.lotkaVolterra, 10, method, 'cpu', 1e-10, 1e-12);
    expect(Math.abs(P.lvInvariant(cpu[0]!, cpu[1]!) - v0) / Math.abs(v0)).toBeLessThan(1e-8);
    if (haveGpu) {
      const gpu = await endState(P.lotkaVolterra, 10, method, 'gpu', 1e-6, 1e-8);
      expect(Math.abs(P.lvInvariant(gpu[0]!, gpu[1]!) - v0) / Math.abs(v0)).toBeLessThan(1e-4);
    }
  });

  it('Van der Pol (μ = 5) and Lorenz (t ≤ 1) agree with an independent fine-step RK4 reference', async () => {
    for (const [model, t1] of [[P.vanDerPol, 10], [P.lorenz, 1]] as const) {
      // RK4 with h = 1e-4 has global error ~1e-13 here: a different method as the reference.
      const ref = (await solve(makeProblem(model, { t1, saveat: [t1] }), { method: 'rk4', dt: 1e-4, backend: 'cpu', maxSteps: 1e6 })).y;
      expect(maxRel(await endState(model, t1, method, 'cpu', 1e-10, 1e-12), ref, 1e-3), `${model.name} cpu`).toBeLessThan(1e-8);
      if (haveGpu) expect(maxRel(await endState(model, t1, method, 'gpu', 1e-6, 1e-8), ref, 1e-3), `${model.name} gpu`).toBeLessThan(1e-4);
    }
  });
});

describe('rosenbrock23 on the stiff IVP test set', () => {
  it('HIRES against the published reference (Mazzia & Magherini)', async () => {
    const cpu = await endState(P.hires, P.HIRES_T1, 'rosenbrock23', 'cpu', 1e-10, 1e-14);
    const errCpu = maxRel(cpu, P.HIRES_REF);
    console.log(`HIRES rosenbrock23 cpu rtol 1e-10: max rel err ${errCpu.toExponential(2)}`);
    expect(errCpu).toBeLessThan(2e-6);
    if (haveGpu) {
      const gpu = await endState(P.hires, P.HIRES_T1, 'rosenbrock23', 'gpu', 1e-6, 1e-9);
      const errGpu = maxRel(gpu, P.HIRES_REF);
      console.log(`HIRES rosenbrock23 gpu rtol 1e-6: max rel err ${errGpu.toExponential(2)}`);
      expect(errGpu).toBeLessThan(2e-3);
    }
  });

  it('Robertson to t = 1e11 against the published reference', async () => {
    const cpu = await endState(P.robertson, P.ROBERTSON_T1, 'rosenbrock23', 'cpu', 1e-8, 1e-20);
    const errCpu = maxRel(cpu, P.ROBERTSON_REF);
    console.log(`Robertson rosenbrock23 cpu rtol 1e-8: max rel err ${errCpu.toExponential(2)}`);
    expect(errCpu).toBeLessThan(1e-3);
    if (haveGpu) {
      const gpu = await endState(P.robertson, P.ROBERTSON_T1, 'rosenbrock23', 'gpu', 1e-5, 1e-20);
      const errGpu = maxRel(gpu, P.ROBERTSON_REF);
      console.log(`Robertson rosenbrock23 gpu rtol 1e-5: max rel err ${errGpu.toExponential(2)}`);
      expect(errGpu).toBeLessThan(5e-2);
    }
  });
});
