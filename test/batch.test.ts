/** Large batches: GPU (f32) vs CPU (f64) agreement, and failure isolation of bad trajectories. */
import { afterAll, describe, expect, it } from 'vitest';
import { makeProblem, parseModel, solve, statusName, STATUS } from '../src/index.js';
import { acquireGpu, bufferPool, releaseGpu } from '../src/gpu/runtime.js';
import { storageUsage } from '../src/gpu/dispatch.js';
import { requireGpu } from './helpers/gpu.js';
import { lorenz, lotkaVolterra } from './helpers/problems.js';

afterAll(releaseGpu);

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function rng(seed: number) {
  return () => { seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t ^= t + Math.imul(t ^ (t >>> 7), 61 | t); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

describe('batches', () => {
  it('GPU and CPU agree on 10 000 Lotka–Volterra trajectories with varied parameters', async (ctx) => {
    requireGpu(ctx);
    const B = 10_000, rand = rng(1);
    const params = new Float64Array(B * 4), initial = new Float64Array(B * 2);
    for (let b = 0; b < B; b++) {
      params.set([1 + rand(), 0.5 + rand(), 2 + 2 * rand(), 0.5 + rand()], b * 4);
      initial.set([0.5 + rand(), 0.5 + rand()], b * 2);
    }
    const problem = makeProblem(lotkaVolterra, { t1: 5, saveat: [1, 2.5, 5], params, initial });
    const [gpu, cpu] = [await solve(problem, 'dopri5', { backend: 'gpu', rtol: 1e-6, atol: 1e-8 }), await solve(problem, 'dopri5', { backend: 'cpu', rtol: 1e-10, atol: 1e-12 })];
    expect(Array.from(gpu.status).every((s) => s === STATUS.success)).toBe(true);
    expect(Array.from(cpu.status).every((s) => s === STATUS.success)).toBe(true);
    let worst = 0;
    for (let i = 0; i < gpu.y.length; i++) worst = Math.max(worst, Math.abs(gpu.y[i]! - cpu.y[i]!) / Math.max(1e-3, Math.abs(cpu.y[i]!)));
    console.log(`GPU vs CPU, 10 000 LV trajectories: worst relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });

  it.for(['cpu', 'gpu'] as const)('on %s, one in a hundred NaN or explosive trajectories report their status and leave the rest bit-identical', async (backend, ctx) => {
    if (backend === 'gpu') requireGpu(ctx);
    const B = 2_000, rand = rng(7);
    const clean = new Float64Array(B * 3);
    for (let b = 0; b < B; b++) clean.set([10, 20 + 10 * rand(), 8 / 3], b * 3);
    const poisoned = clean.slice();
    const bad = new Map<number, 'nan' | 'explode'>();
    for (let b = 3; b < B; b += 100) {
      if (bad.size % 2 === 0) { poisoned[b * 3 + 1] = NaN; bad.set(b, 'nan'); } else { poisoned[b * 3 + 2] = -1e6; bad.set(b, 'explode'); }
    }
    expect(bad.size).toBe(B / 100);
    const run = (params: Float64Array) => solve(makeProblem(lorenz, { t1: 2, saveat: [0.5, 1, 2], params }), 'dopri5', { backend, rtol: 1e-6, atol: 1e-8, maxSteps: 20_000 });
    const a = await run(clean), b = await run(poisoned);
    const S = 3 * 3;
    for (const [i, kind] of bad) {
      expect(b.status[i], `trajectory ${i} (${kind})`).not.toBe(STATUS.success);
      if (kind === 'nan') expect(b.status[i]).toBe(STATUS.non_finite);
      // Save times a trajectory never reached are NaN: none for a NaN parameter (stopped at t0),
      // at least the last (t1) for one that did not succeed.
      const unreached = kind === 'nan' ? S : 3;
      for (let k = S - unreached; k < S; k++) expect(b.y[i * S + k], `trajectory ${i} (${kind}), value ${k}`).toBeNaN();
    }
    for (let i = 0; i < B; i++) {
      if (bad.has(i)) continue;
      expect(b.status[i]).toBe(a.status[i]);
      expect(b.stats.steps[i]).toBe(a.stats.steps[i]);
      for (let k = 0; k < S; k++) if (!Object.is(b.y[i * S + k], a.y[i * S + k])) throw new Error(`trajectory ${i} differs`);
    }
  });

  it('a model without parameters never reads a stale parameter buffer (GPU)', async (ctx) => {
    requireGpu(ctx);
    // Buffers are pooled across solves. Leave one holding NaN where the next solve's parameter
    // buffer comes from: a model with no parameters used to get it unwritten and read p[0] = NaN.
    const noParams = parseModel({ name: 'no_params', states: { x: 1 }, params: {}, equations: { x: '-x' } });
    const B = 32;
    const { device } = await acquireGpu();
    const stale = bufferPool(device).acquire(device, 256, storageUsage(), 'stale');
    device.queue.writeBuffer(stale, 0, new Float32Array(64).fill(NaN));
    bufferPool(device).release(stale);
    const sol = await solve(makeProblem(noParams, { t1: 1, saveat: [1], batch: B }), 'dopri5', { backend: 'gpu' });
    expect(Array.from(sol.status).map(statusName)).toEqual(Array(B).fill('success'));
    for (const y of sol.y) expect(Math.abs(y - Math.exp(-1))).toBeLessThan(1e-6);
  });
});
