#!/usr/bin/env node
// Why `ctwin combo` integrates with rodas4: steps per trajectory and the output AUC over 24 h for
// the default condensate model under JQ1 (0, 10, 100, 1000 nM at t = 0, from the untreated steady
// state), tsit5 against rodas4, with tsit5 at rtol 1e-9 as the reference. After `npm run build`:
//
//   node bench/combo-integrators.mjs
import { readFileSync } from 'node:fs';
import { loadDrugLibrary, makeProblem, parseModel, releaseCpuWorkers, solve, withDrugs } from '../dist/index.js';

const spec = JSON.parse(readFileSync('examples/condensate.json', 'utf8'));
spec.states.auc = { value: 0, unit: '1' };
spec.equations.auc = 'k_esc*u_esc*P';
const model = parseModel(withDrugs(spec, loadDrugLibrary(), { jq1: [{ kind: 'bolus' }] }));
const P = model.params.length, N = model.states.length;
const p = Float64Array.from(model.params, (q) => q.value);
const init = Float64Array.from(model.states, (s) => (s.name === 'c' ? 1 : s.name === 'phi' ? 1e-3 : 0));
const pre = await solve(makeProblem(model, { t0: -20100, t1: -100, saveat: [-100], params: p, initial: init }), 'tsit5', { backend: 'cpu', rtol: 1e-9, atol: 1e-13 });
const doses = [0, 10, 100, 1000];
const params = new Float64Array(doses.length * P), initial = new Float64Array(doses.length * N);
const di = model.params.findIndex((q) => q.name === 'jq1_dose');
doses.forEach((d, b) => { params.set(p, b * P); initial.set(pre.y.subarray(0, N), b * N); params[b * P + di] = d; });
const auc = (sol) => doses.map((_, b) => sol.y[(b * 2 + 1) * N + N - 1] - sol.y[b * 2 * N + N - 1]);
let reference;
for (const [method, rtol] of [['tsit5', 1e-9], ['tsit5', 1e-5], ['rodas4', 1e-5], ['rosenbrock23', 1e-5]]) {
  const t = performance.now();
  const sol = await solve(makeProblem(model, { t0: -100, t1: 86400, saveat: [0, 86400], params, initial }), method, { backend: 'cpu', rtol, atol: rtol * 1e-3, maxSteps: 1e7 });
  const a = auc(sol);
  reference ??= a;
  console.log(JSON.stringify({
    method, rtol, steps: Array.from(sol.stats.steps), ms: +(performance.now() - t).toFixed(1),
    output_auc: a.map((v) => +v.toPrecision(7)), max_rel_error_vs_tsit5_1e9: +Math.max(...a.map((v, i) => Math.abs(v / reference[i] - 1))).toExponential(2),
  }));
}
await releaseCpuWorkers();
