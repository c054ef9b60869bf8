/** Fitting: parameter recovery with an identifiability report, transforms, determinism. */
import { describe, expect, it } from 'vitest';
import { condensateModel, makeProblem, solve } from '../src/index.js';
import { backtrack, finishInF64, fit, minimizeBatch, transformFor, type BatchObjective } from '../src/training/optimize.js';
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

  it('a line search stops at a trial whose loss is φ(0) exactly; a failed one restarts once from steepest descent', async () => {
    // A flat loss with a gradient: every trial returns φ(0). One trial per line search, then the
    // restart's, then the row fails (halving to MIN_STEP took 20-odd calls a search).
    let trials = 0;
    const flat: BatchObjective = async (_x, _which, withGradient) => {
      if (!withGradient) trials++;
      return { loss: new Float64Array([1]), gx: new Float64Array(withGradient ? [1, 0] : []) };
    };
    const r = await minimizeBatch(new Float64Array([0.3, -0.2]), 1, 2, flat, { maxIterations: 10 });
    expect(r.status[0]).toBe('line_search_failed');
    expect(trials).toBe(2);
    expect(r.iterations[0]).toBe(2);
    // ½|x|², whose first gradient comes back with the wrong sign: its search fails (no step downhill
    // decreases the loss); the restart gets the true gradient and converges.
    let calls = 0;
    const bowl: BatchObjective = async (x, _which, withGradient) => {
      const wrong = withGradient && calls++ === 0 ? -1 : 1;
      return { loss: new Float64Array([0.5 * (x[0]! ** 2 + x[1]! ** 2)]), gx: new Float64Array(withGradient ? [wrong * x[0]!, wrong * x[1]!] : []) };
    };
    const b = await minimizeBatch(new Float64Array([0.3, -0.2]), 1, 2, bowl, { maxIterations: 50 });
    expect(b.status[0]).toBe('converged');
    expect(Math.hypot(b.x[0]!, b.x[1]!)).toBeLessThan(1e-6);
  });

  it('mixed precision: only rows an f32 search left with a large gradient are finished in f64', async () => {
    // ½·100·|x − c|² per row, exact (the f64 objective). Row 0 stopped with ‖g‖∞ = 50 > L = 25,
    // row 1 with ‖g‖∞ = 0.01 < 1, row 2 converged: only row 0 moves, to its minimum.
    const c = [1, 2, -1, 0.5, 3, -2];
    const exact: BatchObjective = async (x, which, withGradient) => {
      const loss = new Float64Array(3).fill(NaN), gx = new Float64Array(withGradient ? 6 : 0).fill(NaN);
      for (let b = 0; b < 3; b++) {
        if (which && !which[b]) continue;
        loss[b] = 50 * ((x[2 * b]! - c[2 * b]!) ** 2 + (x[2 * b + 1]! - c[2 * b + 1]!) ** 2);
        if (withGradient) for (let k = 0; k < 2; k++) gx[2 * b + k] = 100 * (x[2 * b + k]! - c[2 * b + k]!);
      }
      return { loss, gx };
    };
    const x = new Float64Array([0.5, 1.5, -1.0001, 0.5, 0, 0]);
    const start = await exact(x, undefined, true);
    const r = {
      x: Float64Array.from(x), loss: start.loss, gx: start.gx, iterations: new Uint32Array([7, 7, 7]),
      status: ['line_search_failed', 'line_search_failed', 'converged'] as Array<'line_search_failed' | 'converged'>, history: [1],
    };
    await finishInF64(r, 3, 2, exact, { finishIterations: 30 });
    expect(r.x[0]).toBeCloseTo(1, 6);
    expect(r.x[1]).toBeCloseTo(2, 6);
    expect(r.status[0]).toBe('converged');
    expect(r.iterations[0]).toBeGreaterThan(7);
    expect(Array.from(r.x.subarray(2))).toEqual([-1.0001, 0.5, 0, 0]);
    expect([r.status[1], r.status[2], r.iterations[1], r.iterations[2]]).toEqual(['line_search_failed', 'converged', 7, 7]);
    // finishIterations 0: nothing moves.
    const untouched = { ...r, x: Float64Array.from(x), iterations: new Uint32Array([7, 7, 7]), status: [...r.status] as typeof r.status };
    untouched.status[0] = 'line_search_failed';
    untouched.loss = start.loss; untouched.gx = start.gx;
    await finishInF64(untouched, 3, 2, exact, { finishIterations: 0 });
    expect(Array.from(untouched.x)).toEqual(Array.from(x));
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
