/**
 * The discrete adjoint (f64) against central finite differences of the same solver at the same,
 * frozen step sequence (the forward pass's accepted steps, replayed), at tight tolerances.
 */
import { describe, expect, it } from 'vitest';
import { makeProblem, parseModel, condensateModel, type EnsembleProblem } from '../src/index.js';
import { gradientCpu, type GradientOptions } from '../src/training/adjoint.js';
import { gradient } from '../src/training/gradient.js';
import type { LossTerms, Observations } from '../src/training/loss.js';
import * as Pr from './helpers/problems.js';
import { workerScript } from '../src/solvers/cpu/pool.js';

const obsOf = (names: string[], sigma: number, noise: 'normal' | 'lognormal' = 'normal'): Observations['observables'] =>
  names.map((name) => ({ name, noise, sigma, scale: 1, offset: 0 }));

/** Max over the checked entries of |adjoint − FD| / max(|FD|, floor). */
function fdCheck(problem: EnsembleProblem, obs: Observations, terms: LossTerms, opts: GradientOptions, weightSample = 0) {
  const g = gradientCpu(problem, obs, terms, { ...opts, recordSteps: true });
  expect(g.status.every((s) => s === 1)).toBe(true);
  const frozen: GradientOptions = { ...opts, steps: g.stepSizes![0], lossOnly: true };
  const L = (pr: EnsembleProblem) => gradientCpu(pr, obs, terms, frozen).loss;
  const floor = 1e-9 * Math.abs(g.loss);
  let worst = 0, where = '';
  const at = (key: 'params' | 'initial' | 'weights', k: number, d: number) => {
    const pr = { ...problem, [key]: Float64Array.from(problem[key]) };
    pr[key][k]! += d;
    return L(pr);
  };
  // Central differences with one Richardson extrapolation: error O(h⁴), so h can stay large
  // enough (1e-4 relative) that rounding in L does not matter.
  const check = (label: string, adj: number, key: 'params' | 'initial' | 'weights', k: number, h: number) => {
    const D = (d: number) => (at(key, k, d) - at(key, k, -d)) / (2 * d);
    const fd = (4 * D(h / 2) - D(h)) / 3;
    const rel = Math.abs(adj - fd) / Math.max(Math.abs(fd), floor);
    if (rel > worst) { worst = rel; where = `${label}: adjoint ${adj}, FD ${fd}`; }
  };
  problem.model.params.forEach((q, k) => check(`∂L/∂${q.name}`, g.params[k]!, 'params', k, 1e-4 * Math.max(Math.abs(problem.params[k]!), 1e-3)));
  problem.model.states.forEach((s, k) => check(`∂L/∂${s.name}(0)`, g.initial[k]!, 'initial', k, 1e-4 * Math.max(Math.abs(problem.initial[k]!), 1e-2)));
  for (let n = 0; n < weightSample; n++) {
    const k = (n * 97 + 13) % problem.weights.length;
    check(`∂L/∂θ[${k}]`, g.weights[k]!, 'weights', k, 1e-3);
  }
  return { worst, where, loss: g.loss, steps: g.steps[0]! };
}

const expectClose = (label: string, r: ReturnType<typeof fdCheck>) => {
  console.log(`${label}: worst relative difference adjoint vs FD ${r.worst.toExponential(2)} (${r.steps} steps)${r.worst > 1e-7 ? `; ${r.where}` : ''}`);
  expect(r.worst, r.where).toBeLessThan(1e-6);
};

describe('discrete adjoint (f64) vs central finite differences', () => {
  it('Lotka–Volterra, dopri5 and tsit5 at rtol 1e-12, irregular data on both states', () => {
    const problem = makeProblem(Pr.lotkaVolterra, { t1: 10 });
    const obs: Observations = {
      observables: obsOf(['x', 'y'], 0.1),
      data: [1.3, 2.7, 4.1, 6.6, 9.9].flatMap((t, i) => [{ traj: 0, t, observable: 0, value: 1 + 0.1 * i }, { traj: 0, t: t + 0.05, observable: 1, value: 0.8 }]),
    };
    expectClose('LV dopri5', fdCheck(problem, obs, {}, { method: 'dopri5', rtol: 1e-12, atol: 1e-12 }));
    expectClose('LV tsit5', fdCheck(problem, obs, {}, { method: 'tsit5', rtol: 1e-12, atol: 1e-12 }));
    expectClose('LV bs3', fdCheck(problem, obs, {}, { method: 'bs3', rtol: 1e-10, atol: 1e-12 }));
    expectClose('LV vern6', fdCheck(problem, obs, {}, { method: 'vern6', rtol: 1e-12, atol: 1e-12 }));
  });

  const condensateData: Observations = {
    observables: obsOf(['J', 'phi', 'total_TF'], 0.01),
    data: [30, 60, 120, 300, 600].flatMap((t) => [
      { traj: 0, t, observable: 0, value: 0.04 }, { traj: 0, t, observable: 1, value: 0.008 }, { traj: 0, t, observable: 2, value: 1 }]),
  };

  it('the condensate model (observables J, φ, total TF), dopri5 and rodas4', () => {
    const problem = makeProblem(condensateModel(), { t1: 600 });
    expectClose('condensate dopri5', fdCheck(problem, condensateData, {}, { method: 'dopri5', rtol: 1e-12, atol: 1e-14 }));
    expectClose('condensate rodas4', fdCheck(problem, condensateData, {}, { method: 'rodas4', rtol: 1e-10, atol: 1e-14 }));
  });

  it('the condensate UDE with the conservation penalty and L2 on θ (weights included)', () => {
    const problem = makeProblem(condensateModel({ neural: true }), { t1: 600 });
    expectClose('condensate UDE dopri5', fdCheck(problem, condensateData, { conservation: 10, l2Weights: 1e-3 }, { method: 'dopri5', rtol: 1e-12, atol: 1e-14 }, 16));
  });

  it('a network whose inputs read a parameter (u = (c − csat, φ, P)): the chain ūᵀ∂u/∂p', () => {
    const problem = makeProblem(Pr.udeWithParamInput, { t1: 20 });
    const obs: Observations = { observables: obsOf(['c', 'phi'], 0.05), data: [2, 5, 10, 20].flatMap((t) => [{ traj: 0, t, observable: 0, value: 0.9 }, { traj: 0, t, observable: 1, value: 0.2 }]) };
    expectClose('UDE with csat in the network inputs', fdCheck(problem, obs, {}, { method: 'dopri5', rtol: 1e-12, atol: 1e-14 }, 8));
  });

  it('stiff problems: HIRES and Robertson with rodas4, Lotka–Volterra with rosenbrock23', () => {
    const hires: Observations = {
      observables: obsOf(['y1', 'y4', 'y7'], 1e-4),
      data: [5, 50, 200, Pr.HIRES_T1].flatMap((t) => [0, 1, 2].map((o) => ({ traj: 0, t, observable: o, value: 1e-3 }))),
    };
    expectClose('HIRES rodas4', fdCheck(makeProblem(Pr.hires, { t1: Pr.HIRES_T1 }), hires, {}, { method: 'rodas4', rtol: 1e-10, atol: 1e-14 }));
    const rober: Observations = {
      observables: [...obsOf(['y1'], 0.01), ...obsOf(['y2'], 0.1, 'lognormal')],
      data: [0.1, 1, 5, 10].flatMap((t) => [{ traj: 0, t, observable: 0, value: 0.8 }, { traj: 0, t, observable: 1, value: 3e-5 }]),
    };
    expectClose('Robertson rodas4', fdCheck(makeProblem(Pr.robertson, { t1: 10 }), rober, {}, { method: 'rodas4', rtol: 1e-10, atol: 1e-16 }));
    const lv: Observations = { observables: obsOf(['x'], 0.1), data: [2, 5, 8].map((t) => ({ traj: 0, t, observable: 0, value: 1.2 })) };
    expectClose('LV rosenbrock23', fdCheck(makeProblem(Pr.lotkaVolterra, { t1: 8 }), lv, {}, { method: 'rosenbrock23', rtol: 1e-9, atol: 1e-12 }));
  });

  it('a non-autonomous stiff problem (the Rosenbrock d_i ∂f/∂t path): Prothero–Robinson, rodas4 and rosenbrock23', () => {
    // y' = λ(y − A sin ωt) + Aω cos ωt, exact y = A sin ωt: A and ω enter ∂f/∂t, so their gradients
    // run through the second derivatives ∂²f/∂t∂p of the d_i terms.
    // The data at t = 0.005 and 0.02 see the initial transient e^(λt), so ∂L/∂λ is not negligible.
    const pr = parseModel({ name: 'pr', states: { y: 0.5 }, params: { lam: -200, A: 1, w: 1.3 }, equations: { y: 'lam*(y - A*sin(w*t)) + A*w*cos(w*t)' } });
    const obs: Observations = { observables: obsOf(['y'], 0.05), data: [0.005, 0.02, 0.5, 1.5, 2.5, 4].map((t) => ({ traj: 0, t, observable: 0, value: 0.9 * Math.sin(1.2 * t) + 0.2 * Math.exp(-150 * t) })) };
    expectClose('Prothero–Robinson rodas4', fdCheck(makeProblem(pr, { t1: 4 }), obs, {}, { method: 'rodas4', rtol: 1e-9, atol: 1e-12 }));
    expectClose('Prothero–Robinson rosenbrock23', fdCheck(makeProblem(pr, { t1: 4 }), obs, {}, { method: 'rosenbrock23', rtol: 1e-7, atol: 1e-10 }));
  });

  it('observation scale/offset, priors and a parameter that does not enter the model', () => {
    const m = parseModel({ name: 'decay2', states: { x: 2, y: 0 }, params: { k: 0.7, k2: 0.3, unused: 5 }, equations: { x: '-k*x', y: 'k*x - k2*y' } });
    const problem = makeProblem(m, { t1: 5 });
    const obs: Observations = {
      observables: [{ name: 'y', noise: 'lognormal', sigma: 0.2, scale: 1.3, offset: 0.1 }],
      data: [0.5, 1, 2, 4].map((t) => ({ traj: 0, t, observable: 0, value: 0.5 })),
    };
    const terms: LossTerms = { priors: { k: { kind: 'lognormal', meanLog: Math.log(0.5), sdLog: 0.5 }, k2: { kind: 'normal', mean: 0.2, sd: 0.1 } } };
    expectClose('decay with priors', fdCheck(problem, obs, terms, { method: 'tsit5', rtol: 1e-12, atol: 1e-14 }));
    const g = gradientCpu(problem, obs, terms, { method: 'tsit5', rtol: 1e-12, atol: 1e-14 });
    expect(g.params[2]).toBe(0);
    // ∂L/∂scale and ∂L/∂offset by finite differences of the observation model.
    for (const key of ['scale', 'offset'] as const) {
      const h = 1e-6;
      const at = (d: number) => gradientCpu(problem, { ...obs, observables: [{ ...obs.observables[0]!, [key]: obs.observables[0]![key] + d }] }, terms, { method: 'tsit5', rtol: 1e-12, atol: 1e-14, lossOnly: true }).loss;
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(g.observation[0]![key] - fd) / Math.abs(fd), key).toBeLessThan(1e-6);
    }
    // A uniform prior is +∞ outside its bounds.
    expect(gradientCpu(problem, obs, { priors: { k: { kind: 'uniform', min: 1, max: 2 } } }, { method: 'tsit5', lossOnly: true }).loss).toBe(Infinity);
  });

  it('the stage tape (no replay) and the replay from checkpoints agree, also when the tape overflows mid-trajectory', () => {
    const problem = makeProblem(condensateModel({ neural: true }), { t1: 600 });
    const terms = { conservation: 10, l2Weights: 1e-3 };
    const run = (stageTapeBytes?: number) => gradientCpu(problem, condensateData, terms, { method: 'dopri5', rtol: 1e-8, adjoint: { stageTapeBytes } });
    // A step of this model keeps 4 + 12·4 floats; 2 KiB hold 4 of its steps, then the replay takes over.
    const [tape, replay, overflow] = [run(), run(0), run(2048)];
    const rel = (a: Float64Array, b: Float64Array) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]!) ** 2, 0) / b.reduce((s, v) => s + v * v, 0));
    for (const other of [replay, overflow]) {
      const worst = Math.max(rel(tape.params, other.params), rel(tape.initial, other.initial), rel(tape.weights, other.weights));
      console.log(`stage tape vs replay: norm-relative ${worst.toExponential(2)}`);
      // The forward step's stages differ from the replay's in the last bits only (y₁ with its compensated sum).
      expect(worst).toBeLessThan(1e-12);
    }
    expect(tape.loss).toBe(replay.loss);
  });

  it('a batch: each trajectory gets its own gradient, the same as solved alone', () => {
    const params = Float64Array.from([1.5, 1, 3, 1, 1.2, 0.9, 2.5, 1.1]);
    const problem = makeProblem(Pr.lotkaVolterra, { t1: 6, params });
    const obs: Observations = { observables: obsOf(['x'], 0.2), data: [1, 3, 6].flatMap((t) => [0, 1].map((traj) => ({ traj, t, observable: 0, value: 1 + traj }))) };
    const both = gradientCpu(problem, obs, {}, { method: 'dopri5', rtol: 1e-10 });
    const second = gradientCpu(makeProblem(Pr.lotkaVolterra, { t1: 6, params: params.slice(4) }), { ...obs, data: obs.data.filter((d) => d.traj === 1).map((d) => ({ ...d, traj: 0 })) }, {}, { method: 'dopri5', rtol: 1e-10 });
    expect(Array.from(both.params.slice(4))).toEqual(Array.from(second.params));
    expect(both.lossPerTrajectory[1]).toBe(second.loss);
  });

  it('spread over worker threads, the gradient is the same as on the main thread', async () => {
    const B = 64, ude = condensateModel({ neural: true }), P = ude.params.length;
    const params = new Float64Array(B * P);
    for (let b = 0; b < B; b++) { params.set(ude.params.map((q) => q.value), b * P); params[b * P] = 0.6 + (0.4 * b) / B; }
    const problem = makeProblem(ude, { t1: 120, params });
    const obs: Observations = { observables: obsOf(['J', 'phi'], 0.01), data: Array.from({ length: B }, (_, traj) => [30, 60, 120].flatMap((t) => [0, 1].map((o) => ({ traj, t, observable: o, value: [0.04, 0.008][o]! })))).flat() };
    const terms = { conservation: 10, l2Weights: 1e-3 };
    // The workers run the compiled dist/ (refused when older than src/); without it gradient()
    // would fall back to this thread and compare gradientCpu with itself.
    expect(workerScript(new URL('../src/training/adjoint.ts', import.meta.url).href, 'worker.js'), 'dist/training/worker.js (npm run build)').toBeDefined();
    const [serial, parallel] = [gradientCpu(problem, obs, terms), await gradient(problem, obs, terms, {}, 2)];
    expect(Array.from(parallel.params)).toEqual(Array.from(serial.params));
    expect(Array.from(parallel.initial)).toEqual(Array.from(serial.initial));
    expect(Math.abs(parallel.loss - serial.loss) / serial.loss).toBeLessThan(1e-14);
    const wErr = Math.max(...Array.from(parallel.weights, (v, k) => Math.abs(v - serial.weights[k]!) / Math.max(1e-12, Math.abs(serial.weights[k]!))));
    expect(wErr).toBeLessThan(1e-10);
  });
});
