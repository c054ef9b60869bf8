/** Fitting: parameter recovery with an identifiability report, transforms, determinism. */
import { describe, expect, it } from 'vitest';
import { condensateModel, makeProblem, solve } from '../src/index.js';
import { backtrack, fit, transformFor } from '../src/training/optimize.js';
import { pooledSize } from '../src/gpu/runtime.js';
import { fisherInformation } from '../src/training/identifiability.js';
import { compileObservable, type Observations } from '../src/training/loss.js';

/** Data from the model at its default parameters, every 90 s for 30 min, 5 % log-normal noise (seeded). */
async function syntheticData(names: string[]) {
  const model = condensateModel({ rna: false });
  const times = Array.from({ length: 20 }, (_, i) => 90 * (i + 1));
  const sol = await solve(makeProblem(model, { t1: 1800, saveat: times }), 'dopri5', { backend: 'cpu', rtol: 1e-10, atol: 1e-12 });
  let seed = 7;
  const u = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed + 0.5) / 2 ** 32; };
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const h = names.map((n) => compileObservable(model, n));
  const p = Float64Array.from(model.params.map((q) => q.value));
  const obs: Observations = {
    observables: names.map((name) => ({ name, noise: 'lognormal' as const, sigma: 0.05, scale: 1, offset: 0 })),
    data: times.flatMap((t, s) => names.map((_, o) => ({ traj: 0, t, observable: o, value: h[o]!.value(t, sol.y.subarray(s * 3, s * 3 + 3), p) * Math.exp(0.05 * gauss()) }))),
  };
  return { model, obs, truth: p };
}

describe('fitting', () => {
  it('recovers the identifiable parameters within 10 % and reports the others', async () => {
    const { model, obs, truth } = await syntheticData(['phi', 'J']);
    const estimate = ['c_sat', 'k_phi', 'k_rec', 'k_esc', 'K_phi', 'k_term'];
    const solver = { method: 'rodas4' as const, rtol: 1e-8, atol: 1e-12 };
    const problem = makeProblem(model, { t1: 1800 });
    const r = await fit(problem, obs, { estimate, starts: 8, seed: 3, optimizer: 'lbfgs', maxIterations: 100, solver });
    const idf = await fisherInformation({ ...problem, params: r.best.params }, obs, estimate, { ...solver, rtol: 1e-10 });
    const report = estimate.map((n, k) => {
      const i = model.params.findIndex((q) => q.name === n);
      return { n, truth: truth[i]!, fit: r.best.params[i]!, se: idf.relativeSE[k]!, ok: idf.identifiable[k]! };
    });
    for (const x of report) console.log(`${x.n}: truth ${x.truth}, fit ${x.fit.toPrecision(4)} (${(100 * (x.fit / x.truth - 1)).toFixed(1)} %), relative SE ${x.se.toPrecision(2)} → ${x.ok ? 'identifiable' : 'NOT identifiable from φ and J every 90 s'}`);
    console.log(`best loss ${r.best.loss.toFixed(3)} after ${r.best.iterations} L-BFGS iterations; start losses ${r.starts.map((s) => s.loss.toFixed(2)).join(', ')}`);
    const identifiable = report.filter((x) => x.ok);
    expect(identifiable.map((x) => x.n)).toEqual(expect.arrayContaining(['c_sat', 'k_phi']));
    for (const x of identifiable) expect(Math.abs(x.fit / x.truth - 1), x.n).toBeLessThan(0.1);
    expect(report.some((x) => !x.ok)).toBe(true);
    // Reproducible: the same seed gives the same fit, bit for bit.
    const again = await fit(problem, obs, { estimate, starts: 8, seed: 3, optimizer: 'lbfgs', maxIterations: 100, solver });
    expect(Array.from(again.best.params)).toEqual(Array.from(r.best.params));
  });

  it('Adam reduces the loss from a poor start and keeps bounded parameters inside their bounds', async () => {
    const { model, obs } = await syntheticData(['phi']);
    const params = Float64Array.from(model.params.map((q) => (q.name === 'c_sat' ? 0.3 : q.name === 'k_phi' ? 0.01 : q.value)));
    const r = await fit(makeProblem(model, { t1: 1800, params }), obs, { estimate: ['c_sat', 'k_phi'], starts: 1, optimizer: 'adam', learningRate: 0.2, maxIterations: 150, solver: { rtol: 1e-7 } });
    console.log(`Adam: loss ${r.history[0]!.toFixed(1)} → ${r.history[r.history.length - 1]!.toFixed(2)} in ${r.history.length} iterations`);
    expect(r.history[r.history.length - 1]!).toBeLessThan(0.05 * r.history[0]!);
    const i = model.params.findIndex((q) => q.name === 'c_sat');
    expect(r.best.params[i]).toBeGreaterThan(model.params[i]!.min!);
    expect(r.best.params[i]).toBeLessThan(model.params[i]!.max!);
  });

  it('transforms map the real line into the bounds and back', () => {
    const t = transformFor({ name: 'k', scale: 'log', min: 1e-3, max: 10 });
    for (const p of [1e-3 * 1.0001, 0.05, 9.99]) expect(t.toP(t.toX(p))).toBeCloseTo(p, 10);
    for (const x of [-50, 0, 50]) { const p = t.toP(x); expect(p).toBeGreaterThanOrEqual(1e-3); expect(p).toBeLessThanOrEqual(10); }
    const h = 1e-6, x = 0.3;
    expect(t.dpdx(x)).toBeCloseTo((t.toP(x + h) - t.toP(x - h)) / (2 * h), 6);
    expect(() => transformFor({ name: 'q', scale: 'log', min: 0, max: 1 })).toThrow(/log scale but its min is 0/);
  });

  it('the line search interpolates: the exact minimiser of a quadratic (from one trial) and of a cubic (from two), kept in [0.1α, 0.5α]', () => {
    // φ(α) = 10 − 2α + 4α²: minimiser 0.25, a quarter of the failed trial α = 1.
    const quad = (a: number) => 10 - 2 * a + 4 * a * a;
    expect(backtrack(10, -2, 1, quad(1), 0, 0)).toBeCloseTo(0.25, 14);
    // φ(α) = 5 − 3α + α² + 8α³: φ'(α) = −3 + 2α + 24α² = 0 at α = (−2 + √292)/48 ≈ 0.31434, from trials 1 and 0.7.
    const cubic = (a: number) => 5 - 3 * a + a * a + 8 * a ** 3;
    expect(backtrack(5, -3, 0.7, cubic(0.7), 1, cubic(1))).toBeCloseTo((-2 + Math.sqrt(292)) / 48, 12);
    // Safeguards: a minimiser far below the trial is raised to 0.1α; a flat loss (φ(α) ≈ φ(0) + α·φ'(0)) lowered to 0.5α.
    expect(backtrack(10, -1, 1, 1e6, 0, 0)).toBe(0.1);
    expect(backtrack(10, -1, 1, 10 - 1 + 1e-12, 0, 0)).toBe(0.5);
  });

  it('the GPU buffer pool rounds a size up by at most 25 %, to one of four sizes per octave', () => {
    for (const size of [1, 255, 4096, 4097, 5000, 65_536, 1_000_001, 2 ** 28 - 3]) {
      const p = pooledSize(size);
      expect(p).toBeGreaterThanOrEqual(size);
      expect(p % 256).toBe(0);
      if (size > 4096) expect(p / size).toBeLessThanOrEqual(1.25);
    }
    // Neighbouring batch sizes share a buffer.
    expect(pooledSize(950_000)).toBe(pooledSize(1_000_000));
  });
});
