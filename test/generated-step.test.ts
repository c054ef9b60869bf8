/**
 * The generated step code (src/codegen/step.ts, printed as f64 JS for the CPU and as f32 WGSL for
 * the GPU) against a textbook Runge–Kutta step written independently in a few lines
 * (test/helpers/textbook-rk.ts): every explicit built-in and a user-supplied tableau, fixed steps
 * on a nonlinear problem. The CPU must agree to rounding (it only adds compensated sums), the GPU
 * to f32 accuracy.
 */
import { afterAll, describe, expect } from 'vitest';
import { makeProblem, solve, METHOD_NAMES, methodByName, type ExplicitTableau } from '../src/index.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { itOnBackends } from './helpers/gpu.js';
import { lotkaVolterra } from './helpers/problems.js';
import { textbookSolve } from './helpers/textbook-rk.js';

afterAll(releaseGpu);

/** Ralston's third-order method (Ralston 1962), as a user would pass it. */
const RALSTON3: ExplicitTableau = {
  kind: 'explicit', name: 'ralston3', order: 3, fsal: false,
  c: [0, 1 / 2, 3 / 4], a: [[], [1 / 2], [0, 3 / 4]], b: [2 / 9, 1 / 3, 4 / 9],
};
const explicitMethods: ExplicitTableau[] = [
  ...METHOD_NAMES.map(methodByName).filter((m): m is ExplicitTableau => m.kind === 'explicit'),
  RALSTON3,
];

// Lotka–Volterra with the parameters of test/helpers/problems.ts (alpha, beta, gamma, delta).
const P = { alpha: 1.5, beta: 1, gamma: 3, delta: 1 };
const lv = (_t: number, [x, y]: number[]) => [P.alpha * x! - P.beta * x! * y!, -P.gamma * y! + P.delta * x! * y!];

/**
 * About 40× the worst relative difference measured when the bounds were set: CPU 2.3e-15, GPU
 * 3.5e-7; vern6 CPU 8.5e-13, GPU 1.9e-5 (its coefficients reach 3.8e3 and b₇ ≈ −b₈ ≈ 175 cancel,
 * so rounding, in either order of summation, is amplified ~400×).
 */
const bound = (name: string) => (name === 'vern6' ? { cpu: 1e-11, gpu: 2e-4 } : { cpu: 1e-13, gpu: 1.5e-5 });

describe('generated step code vs a textbook Runge–Kutta step', () => {
  for (const tab of explicitMethods) {
    itOnBackends(`${tab.name}: 300 fixed steps of Lotka–Volterra`, async (backend) => {
      const h = 0.01, n = 300, y0 = [1, 1];
      const ref = textbookSolve(lv, tab, 0, y0, h, n);
      const saveat = Float64Array.from({ length: n }, (_, m) => (m + 1) * h);
      const problem = makeProblem(lotkaVolterra, {
        t1: n * h, saveat, params: Float64Array.of(P.alpha, P.beta, P.gamma, P.delta), initial: Float64Array.from(y0),
      });
      const sol = await solve(problem, tab, { adaptive: false, dt: h, backend, workers: 1 });
      expect(sol.status[0]).toBe(1);
      let worst = 0;
      ref.forEach((yr, m) => yr.forEach((v, i) => { worst = Math.max(worst, Math.abs(sol.y[m * 2 + i]! - v) / Math.abs(v)); }));
      console.log(`${tab.name} [${backend}]: worst relative difference to the textbook step ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(bound(tab.name)[backend]);
    }, 120_000);
  }
});
