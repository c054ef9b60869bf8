/**
 * Interior save points against analytic solutions, for every method on both backends (issue #9):
 * the continuous extensions (DOPRI5's, Tsit5's, Rosenbrock23's) are checked against the exact
 * solution between step ends, not against themselves. Methods without a dense output (rk4,
 * rodas4) must land on every save time and are checked the same way.
 *
 * Bounds are about 10× the error measured when they were set (printed by each test), so a wrong
 * dense-output coefficient — an O(h) or O(h²) error at θ ∉ {0, 1} — fails at once.
 */
import { afterAll, describe, expect } from 'vitest';
import { makeProblem, parseModel, solve, linspace, type MethodName } from '../src/index.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { itOnBackends, type TestBackend } from './helpers/gpu.js';

afterAll(releaseGpu);

const oscillator = parseModel({ name: 'oscillator', states: { x: 1, v: 0 }, params: {}, equations: { x: 'v', v: '-x' } });
/** Prothero–Robinson: y' = λ(y − sin t) + cos t, y(0) = 0, exact y = sin t; λ = −1e4 is stiff. */
const proRob = parseModel({ name: 'prothero_robinson', states: { y: 0 }, params: { lam: -1e4 }, equations: { y: 'lam*(y - sin(t)) + cos(t)' } });

interface Case { rtol: number; atol: number; dt?: number; bound: Record<TestBackend, number> }
/**
 * Per method: tolerances (or the fixed step of rk4) and the bound on the worst absolute error over
 * the saves. Measured worst errors are in the comments (CPU f64 / GPU f32 on llvmpipe).
 */
const OSCILLATOR: Record<MethodName, Case> = {
  rk4: { rtol: 0, atol: 0, dt: 0.05, bound: { cpu: 1e-8, gpu: 3e-6 } }, // 7.9e-10 / 2.9e-7
  bs3: { rtol: 1e-6, atol: 1e-8, bound: { cpu: 8e-5, gpu: 8e-5 } }, // 8.1e-6 / 8.2e-6
  dopri5: { rtol: 1e-6, atol: 1e-8, bound: { cpu: 1e-5, gpu: 1.2e-5 } }, // 9.0e-7 / 1.2e-6
  tsit5: { rtol: 1e-6, atol: 1e-8, bound: { cpu: 5e-6, gpu: 1.5e-5 } }, // 4.4e-7 / 1.4e-6
  // vern6 in f32: its interpolant's coefficients reach 1.2e5 and cancel (b₇(θ) ≈ −b₈(θ)), so f32
  // rounding of the weights, not the method, sets the GPU error.
  vern6: { rtol: 1e-6, atol: 1e-8, bound: { cpu: 2e-6, gpu: 3.5e-3 } }, // 2.0e-7 / 3.4e-4
  rosenbrock23: { rtol: 1e-6, atol: 1e-8, bound: { cpu: 1.8e-3, gpu: 1.8e-3 } }, // 1.8e-4 / 1.8e-4 (global error of an order-2 method)
  rodas4: { rtol: 1e-6, atol: 1e-8, bound: { cpu: 1e-9, gpu: 1.3e-5 } }, // 6.9e-11 / 1.3e-6
};
/**
 * Prothero–Robinson, saves every 0.05 on [0, 10]. On the GPU atol is 1e-7: near t = 3π the
 * solution crosses 0 and sin(t) of an f32 time is uncertain by ~5e-7, which λ = −1e4 turns into
 * noise the error estimate cannot get below 1e-8 (measured: rodas4 stalls at t ≈ 9.4 with atol
 * 1e-8 and succeeds with 1e-7).
 */
const PROTHERO: Record<MethodName, Case> = {
  rk4: { rtol: 0, atol: 0, dt: 1e-4, bound: { cpu: 2e-9, gpu: 5e-6 } }, // 1.7e-10 / 5.1e-7
  bs3: { rtol: 1e-6, atol: 1e-7, bound: { cpu: 2e-5, gpu: 2.5e-5 } }, // 1.9e-6 / 2.4e-6
  dopri5: { rtol: 1e-6, atol: 1e-7, bound: { cpu: 6e-6, gpu: 1.2e-5 } }, // 5.6e-7 / 1.2e-6
  tsit5: { rtol: 1e-6, atol: 1e-7, bound: { cpu: 8e-6, gpu: 2.5e-5 } }, // 7.8e-7 / 2.5e-6
  vern6: { rtol: 1e-6, atol: 1e-7, bound: { cpu: 6e-5, gpu: 4e-5 } }, // 5.9e-6 / 3.6e-6
  rosenbrock23: { rtol: 1e-4, atol: 1e-7, bound: { cpu: 2.4e-4, gpu: 2.4e-4 } }, // 2.4e-5 / 2.4e-5
  rodas4: { rtol: 1e-6, atol: 1e-7, bound: { cpu: 1e-6, gpu: 6e-6 } }, // 1.0e-7 / 5.8e-7 (1.6e-3 / 9.1e-4 before rodas4 stepped onto saves)
};

async function worstError(problem: ReturnType<typeof makeProblem>, method: MethodName, c: Case, backend: TestBackend, exact: (t: number) => number[]) {
  const sol = await solve(problem, method, { backend, ...(c.dt ? { dt: c.dt } : { rtol: c.rtol, atol: c.atol }), maxSteps: 1e6 });
  expect(sol.status[0], 'status').toBe(1);
  const N = problem.model.states.length;
  let worst = 0;
  sol.t.forEach((t, j) => exact(t).forEach((v, k) => { worst = Math.max(worst, Math.abs(sol.y[j * N + k]! - v)); }));
  return { worst, steps: sol.stats.steps[0]! };
}

describe.each(Object.keys(OSCILLATOR) as MethodName[])('%s: interior save points', (method) => {
  itOnBackends('harmonic oscillator saved every 0.01 on [0, 10] against (cos t, −sin t)', async (backend) => {
    const c = OSCILLATOR[method];
    const { worst, steps } = await worstError(makeProblem(oscillator, { t1: 10, saveat: linspace(0, 10, 1001) }), method, c, backend, (t) => [Math.cos(t), -Math.sin(t)]);
    console.log(`dense ${method} oscillator ${backend}: worst ${worst.toExponential(2)} over 1001 saves, ${steps} steps (bound ${c.bound[backend].toExponential(0)})`);
    expect(worst).toBeLessThan(c.bound[backend]);
  });

  itOnBackends('Prothero–Robinson (λ = −1e4) saved every 0.05 on [0, 10] against sin t', async (backend) => {
    const c = PROTHERO[method];
    const { worst, steps } = await worstError(makeProblem(proRob, { t1: 10, saveat: linspace(0, 10, 201) }), method, c, backend, (t) => [Math.sin(t)]);
    console.log(`dense ${method} prothero ${backend}: worst ${worst.toExponential(2)} over 201 saves, ${steps} steps (bound ${c.bound[backend].toExponential(0)})`);
    expect(worst).toBeLessThan(c.bound[backend]);
  });
});
