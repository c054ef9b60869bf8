/**
 * Methods are data (issue #10): a tableau object works wherever a method name does, its
 * capabilities come from its entries, and a malformed one is refused with the entry at fault.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeProblem, parseModel, solve, ProblemError, METHOD_NAMES, methodByName, type ExplicitTableau } from '../src/index.js';
import { capabilities, resolveMethod } from '../src/methods/tableaus.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { itOnBackends } from './helpers/gpu.js';

afterAll(releaseGpu);

const oscillator = parseModel({ name: 'oscillator', states: { x: 1, v: 0 }, params: {}, equations: { x: 'v', v: '-x' } });

/** Heun–Euler 2(1): Heun's method with explicit Euler as the embedded solution; not a built-in. */
const heunEuler: ExplicitTableau = {
  kind: 'explicit', name: 'heun_euler', order: 2, errorOrder: 2, fsal: false,
  c: [0, 1], a: [[], [1]], b: [1 / 2, 1 / 2], btilde: [-1 / 2, 1 / 2],
};
/** Ralston's 3rd-order method (fixed step); not a built-in. */
const ralston3: ExplicitTableau = {
  kind: 'explicit', name: 'ralston3', order: 3, fsal: false,
  c: [0, 1 / 2, 3 / 4], a: [[], [1 / 2], [0, 3 / 4]], b: [2 / 9, 1 / 3, 4 / 9],
};

const slope = (x: number[], y: number[]) => {
  const lx = x.map(Math.log), ly = y.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / lx.length, my = ly.reduce((a, b) => a + b) / ly.length;
  let n = 0, d = 0;
  lx.forEach((v, i) => { n += (v - mx) * (ly[i]! - my); d += (v - mx) ** 2; });
  return n / d;
};

describe('tableaus as data', () => {
  it('every built-in passes the checks; capabilities come from the entries', () => {
    for (const name of METHOD_NAMES) expect(resolveMethod(methodByName(name)), name).toBe(methodByName(name));
    expect(capabilities(methodByName('dopri5'))).toMatchObject({ adaptive: true, dense: true, stiff: false, fsal: true, order: 5, stages: 7 });
    expect(capabilities(methodByName('rk4'))).toMatchObject({ adaptive: false, dense: false, stiff: false });
    expect(capabilities(methodByName('rodas4'))).toMatchObject({ adaptive: true, dense: false, stiff: true, order: 4 });
    expect(capabilities(methodByName('vern6'))).toMatchObject({ adaptive: true, dense: true, stiff: false, fsal: true, order: 6, stages: 12 });
    expect(capabilities(heunEuler)).toMatchObject({ adaptive: true, dense: false, stiff: false, fsal: false, order: 2, stages: 2 });
  });

  it('vern6: b meets the quadrature conditions of order 6 and b̂ = b + btilde those of order 5, but not one more', () => {
    const m = methodByName('vern6') as ExplicitTableau;
    const quad = (w: number[], q: number) => w.reduce((acc, wi, i) => acc + wi * m.c[i]! ** (q - 1), 0) - 1 / q;
    const bhat = m.b.map((b, i) => b + m.btilde![i]!);
    for (let q = 1; q <= 6; q++) expect(Math.abs(quad(m.b, q)), `Σ b c^${q - 1}`).toBeLessThan(1e-12);
    for (let q = 1; q <= 5; q++) expect(Math.abs(quad(bhat, q)), `Σ b̂ c^${q - 1}`).toBeLessThan(1e-12);
    expect(Math.abs(quad(m.b, 7))).toBeGreaterThan(1e-8);
    expect(Math.abs(quad(bhat, 6))).toBeGreaterThan(1e-5);
  });

  itOnBackends('a user tableau with fixed steps (Ralston 3) converges with its order', async (backend) => {
    const dts = backend === 'cpu' ? [0.1, 0.05, 0.025, 0.0125] : [0.2, 0.1, 0.05];
    const e: number[] = [];
    for (const dt of dts) {
      const sol = await solve(makeProblem(oscillator, { t1: 16, saveat: [16] }), ralston3, { dt, backend });
      expect(sol.method).toBe('ralston3');
      e.push(Math.hypot(sol.y[0]! - Math.cos(16), sol.y[1]! + Math.sin(16)));
    }
    const s = slope(dts, e);
    console.log(`user tableau ralston3 ${backend}: slope ${s.toFixed(3)}; errors ${e.map((x) => x.toExponential(2)).join(' ')}`);
    expect(Math.abs(s - 3)).toBeLessThanOrEqual(0.3);
  });

  itOnBackends('a user tableau with an embedded pair (Heun–Euler 2(1)) adapts its step and lands on every save', async (backend) => {
    const saveat = [0.3, 1, 2.5, 4];
    const run = (rtol: number) => solve(makeProblem(oscillator, { t1: 4, saveat }), heunEuler, { rtol, atol: rtol * 1e-2, backend, maxSteps: 1e6 });
    const [loose, tight] = [await run(1e-3), await run(1e-5)];
    const err = (sol: Awaited<ReturnType<typeof run>>) => Math.max(...saveat.map((t, j) => Math.abs(sol.y[2 * j]! - Math.cos(t))));
    console.log(`user tableau heun_euler ${backend}: rtol 1e-3 → ${err(loose).toExponential(2)} in ${loose.stats.steps[0]} steps; 1e-5 → ${err(tight).toExponential(2)} in ${tight.stats.steps[0]} steps`);
    expect(loose.status[0]).toBe(1);
    expect(tight.status[0]).toBe(1);
    expect(tight.stats.steps[0]).toBeGreaterThan(3 * loose.stats.steps[0]!);
    // A 2nd-order method under error-per-step control on a 2nd-order estimate: global error ∝ rtol.
    expect(err(tight)).toBeLessThan(err(loose) / 30);
    expect(err(tight)).toBeLessThan(1e-3);
  });

  it('a user tableau travels to the CPU worker threads: 256 trajectories, same numbers as on one thread', async () => {
    const problem = makeProblem(oscillator, { t1: 2, saveat: [1, 2], batch: 256 });
    const [threads, single] = [await solve(problem, heunEuler, { rtol: 1e-6, backend: 'cpu', workers: 2 }), await solve(problem, heunEuler, { rtol: 1e-6, backend: 'cpu', workers: 1 })];
    expect(Array.from(threads.y)).toEqual(Array.from(single.y));
    expect(threads.status.every((x) => x === 1)).toBe(true);
  });

  it.for([
    ['a row of a that does not sum to c', { ...ralston3, a: [[], [0.5], [0.1, 0.75]] }, /row 2 of a sums to 0\.85, not c\[2\] = 0\.75/],
    ['weights that do not sum to 1', { ...ralston3, b: [0.25, 1 / 3, 4 / 9] }, /b sums to 1\.02\d*, not 1/],
    ['a non-triangular a', { ...ralston3, a: [[], [0.5, 0], [0, 0.75]] }, /a\[1\] must have 1 entries \(strictly lower triangular\)/],
    ['an error estimate without its order', { ...heunEuler, errorOrder: undefined }, /an adaptive tableau needs errorOrder/],
    ['btilde that does not sum to 0', { ...heunEuler, btilde: [-0.5, 0.75] }, /btilde \(b − b̂\) sums to 0\.25, not 0/],
    ['a dense output inconsistent with b', { ...ralston3, dense: [[2 / 9], [1 / 3], [0.5]] }, /dense\[2\] gives b_2\(1\) = 0\.5, not b\[2\]/],
    ['fsal without a last stage equal to b', { ...ralston3, fsal: true }, /fsal needs a last stage at c = 1/],
    ['interpolation stages without a dense output', { ...ralston3, interpolationStages: 1 }, /interpolationStages serve the dense output/],
    ['an interpolation stage inside the step', { ...ralston3, dense: [[2 / 9], [1 / 3], [4 / 9]], interpolationStages: 1 }, /stage 2 is an interpolation stage, so b\[2\] and btilde\[2\] must be 0/],
    ['an unknown name', 'euler', /unknown method "euler" \(choose rk4, bs3, dopri5, tsit5, vern6, rosenbrock23, rodas4, or pass a tableau object\)/],
  ] as Array<[string, unknown, RegExp]>)('refuses %s with the entry at fault', async ([, method, message]) => {
    const problem = makeProblem(oscillator, { t1: 1 });
    await expect(solve(problem, method as ExplicitTableau, { dt: 0.1, backend: 'cpu' })).rejects.toThrow(ProblemError);
    await expect(solve(problem, method as ExplicitTableau, { dt: 0.1, backend: 'cpu' })).rejects.toThrow(message);
  });
});
