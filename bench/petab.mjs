// PEtab problems: time to read (SBML import + tables + checks), the first log-likelihood (code
// generation for the model included) and the median of 5 more, with the difference from AMICI's
// log-likelihood at the nominal parameters. After `npm run build`.
//
//   node bench/petab.mjs                                   the three problems of test/fixtures/petab
//   node bench/petab.mjs --collection DIR --reference F [--only A,B] [--repeat 5]
//     DIR: Benchmark-Models of github.com/Benchmarking-Initiative/Benchmark-Models-PEtab;
//     F: AMICI's tests/benchmark_models/benchmark_models.yaml (or a JSON {problem: {llh}}).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { readPetab, petabLikelihood, releaseCpuWorkers } from '../dist/index.js';

const { values: a } = parseArgs({ options: {
  collection: { type: 'string' }, reference: { type: 'string' }, only: { type: 'string' }, repeat: { type: 'string', default: '5' },
} });
const dir = a.collection ?? new URL('../test/fixtures/petab/', import.meta.url).pathname;
const refFile = a.reference ?? join(dir, 'reference-llh.json');
const reference = parseYaml(readFileSync(refFile, 'utf8'));
const problems = Object.keys(reference).filter((m) => existsSync(join(dir, m)) && (!a.only || a.only.split(',').includes(m)));
const ms = (t) => `${t.toFixed(0)} ms`;
console.log('| problem | states | conditions | measurements | read + import | first llh | llh (median) | llh − AMICI | within 1e-4 + 1e-5·|llh| |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const m of problems) {
  const yaml = readdirSync(join(dir, m)).find((f) => /\.ya?ml$/.test(f));
  try {
    const t0 = performance.now();
    const problem = await readPetab(join(dir, m, yaml));
    const t1 = performance.now();
    const first = await petabLikelihood(problem);
    const t2 = performance.now();
    const times = [];
    for (let i = 0; i < Number(a.repeat); i++) { const s = performance.now(); await petabLikelihood(problem); times.push(performance.now() - s); }
    times.sort((x, y) => x - y);
    const ref = reference[m].llh, diff = first.llh - ref;
    console.log(`| ${m} | ${problem.model.states.length} | ${first.conditions} | ${first.measurements} | ${ms(t1 - t0)} | ${ms(t2 - t1)} | ${times.length ? ms(times[times.length >> 1]) : '—'} | ${diff.toExponential(2)} | ${Math.abs(diff) <= 1e-4 + 1e-5 * Math.abs(ref) ? 'yes' : 'NO'} |`);
  } catch (err) {
    console.log(`| ${m} | refused: ${String(err.message).split('\n')[0].slice(0, 120)} | | | | | | | |`);
  }
}
await releaseCpuWorkers();
