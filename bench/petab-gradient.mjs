// Gradients of the PEtab negative log-likelihood (adjoint, rodas4) on the CPU (f64, worker threads)
// and on the GPU (f32), for B parameter vectors at once (a multi-start fit's batch: B × conditions
// trajectories): time per evaluation and the GPU gradient's distance from the f64 one
// (rtol 1e-10), norm-relative, worst over the batch. After `npm run build`.
//
//   node bench/petab-gradient.mjs [--batches 1,64] [--repeat 3]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readPetab, petabObjective, releaseCpuWorkers, releaseGpu } from '../dist/index.js';

const { values: a } = parseArgs({ options: { batches: { type: 'string', default: '1,64' }, repeat: { type: 'string', default: '3' } } });
const dir = new URL('../test/fixtures/petab/', import.meta.url).pathname;
const problems = ['Boehm_JProteomeRes2014', 'Fujita_SciSignal2010', 'Elowitz_Nature2000'];
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
const ms = (t) => `${t.toFixed(0)} ms`;

async function timed(objective, x) {
  const t0 = performance.now();
  const first = await objective.evaluate(x);
  const firstMs = performance.now() - t0;
  const times = [];
  for (let i = 0; i < Number(a.repeat); i++) { const s = performance.now(); await objective.evaluate(x); times.push(performance.now() - s); }
  return { r: first, firstMs, medianMs: median(times) };
}

console.log('| problem | B | CPU f64 (rtol 1e-8) first / median | GPU f32 (rtol 1e-6) first / median | GPU vs f64, worst norm-relative |');
console.log('|---|---|---|---|---|');
for (const m of problems) {
  const problem = await readPetab(join(dir, m, readdirSync(join(dir, m)).find((f) => f.endsWith('.yaml'))));
  const reference = petabObjective(problem, { rtol: 1e-10, atol: 1e-14 });
  const cpu = petabObjective(problem), gpu = petabObjective(problem, { backend: 'gpu' });
  const K = reference.names.length;
  for (const B of a.batches.split(',').map(Number)) {
    // B points near the nominal parameters (deterministic offsets on each parameter's scale).
    const x = new Float64Array(B * K);
    for (let b = 0; b < B; b++) for (let j = 0; j < K; j++) x[b * K + j] = reference.nominal[j] + 0.1 * Math.sin(1 + b * K + j);
    const ref = await reference.evaluate(x);
    const c = await timed(cpu, x), g = await timed(gpu, x);
    let worst = 0;
    for (let b = 0; b < B; b++) {
      let d = 0, n = 0;
      for (let j = 0; j < K; j++) { d += (g.r.grad[b * K + j] - ref.grad[b * K + j]) ** 2; n += ref.grad[b * K + j] ** 2; }
      worst = Math.max(worst, Math.sqrt(d / n));
    }
    console.log(`| ${m} | ${B} | ${ms(c.firstMs)} / ${ms(c.medianMs)} | ${ms(g.firstMs)} / ${ms(g.medianMs)} | ${worst.toExponential(2)} |`);
  }
}
await releaseCpuWorkers();
releaseGpu();
