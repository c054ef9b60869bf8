/** The API twins and screens are written against (issue #10): remake, Solution views and stats. */
import { describe, expect, it } from 'vitest';
import { condensateModel, makeProblem, remake, solve, linspace, ProblemError, Solution } from '../src/index.js';
import { decay, lotkaVolterra } from './helpers/problems.js';

describe('remake', () => {
  const problem = makeProblem(lotkaVolterra, { t1: 5, batch: 3 });

  it('replaces what it is given, keeps the rest, and checks like makeProblem', () => {
    const params = Float64Array.from({ length: 12 }, (_, i) => 1 + i / 12);
    const r = remake(problem, { params, t1: 6 });
    expect(r.params).toBe(params);
    expect(r.initial).toBe(problem.initial);
    expect([r.batch, r.t0, r.t1]).toEqual([3, 0, 6]);
    expect(Array.from(r.saveat)).toEqual(Array.from(problem.saveat));
    expect(() => remake(problem, { params: new Float64Array(5) })).toThrow(/params has 5 values; expected batch × 4 = 12/);
    expect(() => remake(problem, { batch: 2 })).toThrow(ProblemError);
    expect(() => remake(problem, { t1: 4 })).toThrow(/save time 4\.05 lies outside \[t0, t1\] = \[0, 4\]/);
    expect(remake(problem, { t1: 4, saveat: linspace(0, 4, 5) }).saveat.length).toBe(5);
  });
});

describe('Solution', () => {
  it('views by state, observable and trajectory; statistics per trajectory', async () => {
    const model = condensateModel();
    const B = 4, P = model.params.length;
    const params = new Float64Array(B * P);
    for (let b = 0; b < B; b++) params.set(model.params.map((q) => (q.name === 'c_sat' ? q.value * (0.8 + 0.1 * b) : q.value)), b * P);
    const problem = makeProblem(model, { t1: 600, saveat: linspace(0, 600, 7), params });
    const sol = await solve(problem, 'rodas4', { backend: 'cpu' });
    expect(sol).toBeInstanceOf(Solution);
    expect(sol.batch).toBe(B);
    const N = model.states.length, S = 7, kP = model.states.findIndex((s) => s.name === 'P');
    const P_ = sol.state('P');
    expect(P_.length).toBe(B * S);
    expect(P_[2 * S + 5]).toBe(sol.y[(2 * S + 5) * N + kP]);
    // J = k_esc·P (docs/model.md), from each trajectory's own parameters.
    const kEsc = model.params.findIndex((q) => q.name === 'k_esc');
    const J = sol.observable('J');
    for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) expect(J[b * S + s]).toBeCloseTo(params[b * P + kEsc]! * P_[b * S + s]!, 14);
    const tr = sol.trajectory(3);
    expect(tr.status).toBe('success');
    expect(tr.tEnd).toBe(600);
    expect(Array.from(tr.y)).toEqual(Array.from(sol.y.subarray(3 * S * N, 4 * S * N)));
    // rodas4: one Jacobian and one LU per step attempt.
    for (let b = 0; b < B; b++) expect(sol.stats.jacobians[b]).toBe(sol.stats.steps[b]! + sol.stats.rejected[b]!);
    expect(() => sol.state('phii')).toThrow(/"phii" is not a state of model "condensate" \(states: c, phi, P, R\)/);
    expect(() => sol.observable('K')).toThrow(/"K" is not an observable/);
    expect(() => sol.trajectory(4)).toThrow(/trajectory 4 does not exist \(the batch has 4: 0…3\)/);
  });

  it('solve(problem, method, options): options in the place of the method get a message that says so', async () => {
    const problem = makeProblem(decay, { t1: 1 });
    await expect(solve(problem, { rtol: 1e-6 } as never)).rejects.toThrow(/the method comes second and the options third, e\.g\. solve\(problem, "tsit5", \{ rtol: 1e-6 \}\)/);
    expect((await solve(problem)).method).toBe('dopri5');
    expect((await solve(problem, 'tsit5', { backend: 'cpu' })).method).toBe('tsit5');
  });

  it('an explicit method evaluates no Jacobian', async () => {
    const sol = await solve(makeProblem(decay, { t1: 1 }), 'dopri5', { backend: 'cpu' });
    expect(sol.stats.jacobians[0]).toBe(0);
    expect(sol.stats.rhsEvals[0]).toBeGreaterThan(6 * sol.stats.steps[0]!);
  });
});
