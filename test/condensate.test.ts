/**
 * The default condensate model: conservation of total TF on both backends, the penalty with a
 * neural term, phase behaviour (saturation, reentrant RNA, Pol II lag) and its time scales.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { condensateModel, condensateModelSpec, CONDENSATE_PARAMS, makeProblem, solve, trackConservation, linspace, type Model, type Solution } from '../src/index.js';
import { conservationResidual, compileExprF64 } from '../src/internals.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { itOnBackends, requireGpu } from './helpers/gpu.js';

afterAll(releaseGpu);

const model = condensateModel();
const pIndex = (m: Model, name: string) => m.params.findIndex((p) => p.name === name);
const sIndex = (m: Model, name: string) => m.states.findIndex((s) => s.name === name);
/** Parameters of `m` with overrides, batch rows identical. */
function paramsWith(m: Model, batch: number, over: Record<string, number>): Float64Array {
  const row = m.params.map((p) => over[p.name] ?? p.value);
  const out = new Float64Array(batch * row.length);
  for (let b = 0; b < batch; b++) out.set(row, b * row.length);
  return out;
}
const at = (sol: Solution, m: Model, traj: number, save: number, state: string) =>
  sol.y[(traj * sol.t.length + save) * m.states.length + sIndex(m, state)]!;

describe('total TF is conserved', () => {
  // Closed system (k_syn = k_deg = 0), 1 h, a batch with different starting mixes of dilute TF and condensate.
  const B = 64;
  const initial = new Float64Array(B * 4);
  for (let b = 0; b < B; b++) initial.set([0.4 + (1.6 * b) / B, 0.02 * ((b * 7) % 11) / 10, 0, (b % 5) * 0.8], b * 4);
  const closed = makeProblem(model, { t1: 3600, saveat: linspace(0, 3600, 61), initial, params: paramsWith(model, B, { k_syn: 0, k_deg: 0 }) });

  it('the mechanistic residual dT/dt − rate is identically zero', () => {
    const rho = compileExprF64(model, conservationResidual(model, model.conserved[0]!));
    const p = model.params.map((q) => q.value);
    for (const y of [[1, 0.01, 0.4, 1.5], [0.3, 0.03, 0.1, 6], [2, 0, 0, 0]]) {
      expect(Math.abs(rho(0, y, p))).toBeLessThan(1e-17);
    }
  });

  it('to 1e-10 over 1 h on the CPU (f64)', async () => {
    const tracked = trackConservation(closed);
    const cpu = await solve(tracked.problem, 'dopri5', { rtol: 1e-12, atol: 1e-14, backend: 'cpu' });
    expect(cpu.status.every((s) => s === 1)).toBe(true);
    const [rc] = tracked.report(cpu);
    console.log(`conservation, closed system, 1 h: CPU max drift ${rc!.maxDrift.toExponential(2)}, penalty ${rc!.totalPenalty.toExponential(2)}`);
    expect(rc!.failed).toBe(0);
    expect(rc!.maxDrift).toBeLessThan(1e-10);
    expect(rc!.totalPenalty).toBeLessThan(1e-20);
  });

  it('to 1e-5 over 1 h on the GPU (f32)', async (ctx) => {
    requireGpu(ctx);
    const tracked = trackConservation(closed);
    const gpu = await solve(tracked.problem, 'dopri5', { rtol: 1e-6, atol: 1e-9, backend: 'gpu' });
    expect(gpu.status.every((s) => s === 1)).toBe(true);
    const [rg] = tracked.report(gpu);
    console.log(`conservation, closed system, 1 h: GPU max drift ${rg!.maxDrift.toExponential(2)}`);
    expect(rg!.maxDrift).toBeLessThan(1e-5);
  });

  it('with synthesis and decay, T follows its rate law (drift against the tracked reference)', async () => {
    const open = makeProblem(model, { t1: 3600, saveat: linspace(0, 3600, 13), initial, params: paramsWith(model, B, { k_deg: 1e-3, k_syn: 5e-4 }) });
    const tracked = trackConservation(open);
    const cpu = await solve(tracked.problem, 'rodas4', { rtol: 1e-11, atol: 1e-14, backend: 'cpu' });
    const [r] = tracked.report(cpu);
    expect(r!.maxDrift).toBeLessThan(1e-9);
    // The reference itself is the analytic T(t) = T∞ + (T₀ − T∞)e^(−k t), T∞ = k_syn/k_deg.
    const T0 = initial[0]! * (1 - initial[1]! + 100 * initial[1]!);
    const refEnd = cpu.y[(0 * 13 + 12) * tracked.problem.model.states.length + tracked.tracked[0]!.refIndex]!;
    expect(Math.abs(refEnd - (0.5 + (T0 - 0.5) * Math.exp(-3.6)))).toBeLessThan(1e-9);
  });

  // 10 min: over an hour an untrained network drives some closed systems out of their physical
  // domain (φ < 0), and those trajectories are reported as failed instead.
  const randomNeural = () => {
    const ude = condensateModel({ neural: true });
    const p = makeProblem(ude, { t1: 600, saveat: linspace(0, 600, 13), initial, params: paramsWith(ude, B, { k_syn: 0, k_deg: 0 }) });
    return trackConservation(p, { lambda: 10 });
  };
  itOnBackends('a random neural term breaks it: drift and penalty are reported and positive', async (backend) => {
    const tracked = randomNeural();
    const sol = await solve(tracked.problem, 'dopri5', { backend });
    const [r] = tracked.report(sol);
    console.log(`random MLP (λ = 10), ${backend}: max drift ${r!.maxDrift.toExponential(2)}, total penalty ${r!.totalPenalty.toExponential(3)}`);
    expect(r!.failed).toBe(0);
    expect(r!.maxDrift).toBeGreaterThan(1e-3);
    expect(Array.from(r!.penalty).every((x) => x > 0)).toBe(true);
    if (backend === 'gpu') {
      // The penalty integral in f32 against the f64 one at a tight tolerance.
      const [rc] = tracked.report(await solve(tracked.problem, 'dopri5', { backend: 'cpu', rtol: 1e-10, atol: 1e-12 }));
      const rel = Math.abs(r!.totalPenalty - rc!.totalPenalty) / rc!.totalPenalty;
      console.log(`random MLP penalty, GPU vs CPU: relative difference ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(1.5e-6); // measured 1.2e-7
    }
  });

  itOnBackends('projection after each step keeps a neural model on the manifold (off by default)', async (backend) => {
    const ude = condensateModel({ neural: true });
    const p = makeProblem(ude, { t1: 600, saveat: linspace(0, 600, 13), initial, params: paramsWith(ude, B, { k_syn: 0, k_deg: 0 }) });
    const tracked = trackConservation(p, { project: true });
    // f32 resolves rtol ≥ 1e-6 (the GPU refuses finer; src/solvers/solve.ts F32_MIN_RTOL).
    const sol = await solve(tracked.problem, 'dopri5', { backend, ...(backend === 'cpu' ? { rtol: 1e-8, atol: 1e-10 } : { rtol: 1e-6, atol: 1e-9 }) });
    const [r] = tracked.report(sol);
    console.log(`random MLP with projection, ${backend}: max drift ${r!.maxDrift.toExponential(2)}`);
    expect(r!.failed).toBe(0);
    expect(r!.maxDrift).toBeLessThan(backend === 'cpu' ? 1e-8 : 1e-5);
  });
});

describe('phase behaviour', () => {
  const closed = { k_syn: 0, k_deg: 0 };
  const run = async (m: Model, y0: number[], over: Record<string, number>, t1: number, n = 61) =>
    solve(makeProblem(m, { t1, saveat: linspace(0, t1, n), initial: Float64Array.from(y0), params: paramsWith(m, 1, over) }),
      'rodas4', { rtol: 1e-10, atol: 1e-13, backend: 'cpu' });

  it('below c* condensates dissolve; above it they form', async () => {
    const below = await run(model, [0.3, 0.005, 0, 0], closed, 600);
    expect(at(below, model, 0, 60, 'phi')).toBeLessThan(1e-4);
    const above = await run(model, [1.5, 0, 0, 0], closed, 600);
    expect(at(above, model, 0, 60, 'phi')).toBeGreaterThan(0.005);
    // Growth stops when the dilute phase is depleted to c* (with the RNA present by then).
    const p = (n: string) => model.params[pIndex(model, n)]!.value;
    const r = at(above, model, 0, 60, 'R') / p('K_R');
    const cStar = p('c_sat') * (1 + p('beta_R') * r * r) / (1 + p('alpha_R') * r);
    expect(Math.abs(at(above, model, 0, 60, 'c') / cStar - 1)).toBeLessThan(0.02);
  });

  it('RNA is reentrant: low RNA promotes condensates, high RNA dissolves them', async () => {
    // R clamped (no production or turnover) at 0, 0.5·K_R and 8·K_R.
    const phiAt = async (R: number) => at(await run(model, [1, 0, 0, R], { ...closed, k_tx: 0, k_R: 0 }, 3600), model, 0, 60, 'phi');
    const [none, low, high] = [await phiAt(0), await phiAt(0.5), await phiAt(8)];
    console.log(`steady φ with RNA clamped at 0, 0.5, 8 K_R: ${none.toExponential(3)}, ${low.toExponential(3)}, ${high.toExponential(3)}`);
    expect(low).toBeGreaterThan(1.5 * none);
    expect(none).toBeGreaterThan(1e-3);
    expect(high).toBeLessThan(1e-6);
  });

  it('Pol II follows φ with the lag its rates set: P(t) = P∞(1 − e^(−t/τ))', async () => {
    const phi = 0.01;
    const sol = await run(model, [1, phi, 0, 0], { ...closed, k_phi: 0 }, 30, 31);
    const p = (n: string) => model.params[pIndex(model, n)]!.value;
    const on = p('k_rec') * phi / (p('K_phi') + phi), off = p('k_esc') + p('k_term');
    const tau = 1 / (on + off), Pinf = on / (on + off);
    let worst = 0;
    sol.t.forEach((t, s) => { worst = Math.max(worst, Math.abs(at(sol, model, 0, s, 'P') - Pinf * (1 - Math.exp(-t / tau)))); });
    console.log(`Pol II lag τ = ${tau.toFixed(2)} s, P∞ = ${Pinf.toFixed(3)}, max deviation from the analytic curve ${worst.toExponential(1)}`);
    expect(worst).toBeLessThan(1e-8);
    expect(tau).toBeGreaterThan(1);
    expect(tau).toBeLessThan(10);
  });

  it('time scales sit in the documented ranges (Pol II dwell of seconds, hexanediol within minutes)', async () => {
    const p = (n: string) => model.params[pIndex(model, n)]!.value;
    const dwell = 1 / (p('k_esc') + p('k_term'));
    expect(dwell).toBeGreaterThanOrEqual(5);
    expect(dwell).toBeLessThanOrEqual(8);
    // Steady state after 1 h, then 1.5% 1,6-hexanediol modelled as a 3× higher c*.
    const steady = await run(model, [1, 0, 0, 0], {}, 3600);
    const y1 = ['c', 'phi', 'P', 'R'].map((s) => at(steady, model, 0, 60, s));
    const hd = await run(model, y1, { u_csat: 3 }, 600, 601);
    const phi0 = y1[1]!;
    const tHalf = hd.t.find((_, s) => at(hd, model, 0, s, 'phi') < 0.5 * phi0)!;
    const t90 = hd.t.find((_, s) => at(hd, model, 0, s, 'phi') < 0.1 * phi0)!;
    console.log(`hexanediol: φ halves in ${tHalf} s, 90% dissolved in ${t90} s`);
    expect(tHalf).toBeGreaterThan(5);
    expect(t90).toBeLessThan(300);
  });
});

describe('the bundled example', () => {
  it('examples/condensate.json is the default model', () => {
    const file = JSON.parse(readFileSync(new URL('../examples/condensate.json', import.meta.url), 'utf8'));
    expect(file).toEqual(condensateModelSpec());
  });

  it('docs/model.md lists every parameter with its default, unit and source', () => {
    const doc = readFileSync(new URL('../docs/model.md', import.meta.url), 'utf8');
    for (const [name, p] of Object.entries(CONDENSATE_PARAMS)) {
      expect(doc, name).toContain(`| \`${name}\` | ${p.value} | ${p.unit} |`);
      expect(doc, name).toContain(p.source);
    }
  });

  it('GPU and CPU agree on the default model over a batch with varied parameters', async (ctx) => {
    requireGpu(ctx);
    const B = 1024;
    const params = paramsWith(model, B, {});
    const P = model.params.length;
    for (let b = 0; b < B; b++) {
      params[b * P + pIndex(model, 'c_sat')] = 0.4 + 0.8 * ((b * 37) % B) / B;
      params[b * P + pIndex(model, 'k_rec')] = 0.05 + 0.3 * ((b * 53) % B) / B;
    }
    const problem = makeProblem(model, { t1: 1800, saveat: linspace(0, 1800, 31), params });
    const [cpu, gpu] = [await solve(problem, 'dopri5', { backend: 'cpu' }), await solve(problem, 'dopri5', { backend: 'gpu' })];
    let worst = 0;
    for (let k = 0; k < cpu.y.length; k++) {
      const scale = [1, 0.01, 0.5, 1.5][k % 4]!; // typical magnitude of c, φ, P, R
      worst = Math.max(worst, Math.abs(gpu.y[k]! - cpu.y[k]!) / scale);
    }
    console.log(`default model, ${B} trajectories: GPU vs CPU worst difference / typical magnitude ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-4); // measured 1.7e-5
  });
});

describe('condensateModelSpec', () => {
  it('returns a copy: editing it leaves the defaults of later models alone', () => {
    const before = condensateModel({ rna: false }).params.find((q) => q.name === 'k_term')!.value;
    const spec = condensateModelSpec({ rna: false }) as { params: Record<string, { value: number }> };
    spec.params.k_term!.value = 0;
    expect(before).toBeGreaterThan(0);
    expect(condensateModel({ rna: false }).params.find((q) => q.name === 'k_term')!.value).toBe(before);
  });
});
