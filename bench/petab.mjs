// PEtab problems: time to read (SBML import + tables + checks), the first log-likelihood (code
// generation for the model included) and the median of 5 more, per problem of test/fixtures/petab,
// with the difference from AMICI's published log-likelihood. After `npm run build`.
//
//   node bench/petab.mjs [PETAB_DIR]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPetab } from '../dist/io/petab/petab.js';
import { petabLikelihood } from '../dist/training/petab.js';
import { releaseCpuWorkers } from '../dist/index.js';

const dir = process.argv[2] ?? new URL('../test/fixtures/petab/', import.meta.url).pathname;
const reference = JSON.parse(readFileSync(join(dir, 'reference-llh.json'), 'utf8'));
const ms = (t) => `${t.toFixed(0)} ms`;
console.log('| problem | states | conditions | measurements | read + import | first llh | llh (median of 5) | llh − AMICI |');
console.log('|---|---|---|---|---|---|---|---|');
for (const m of Object.keys(reference)) {
  const t0 = performance.now();
  const problem = await readPetab(join(dir, m, `${m}.yaml`));
  const t1 = performance.now();
  const first = await petabLikelihood(problem);
  const t2 = performance.now();
  const times = [];
  for (let i = 0; i < 5; i++) { const a = performance.now(); await petabLikelihood(problem); times.push(performance.now() - a); }
  times.sort((a, b) => a - b);
  console.log(`| ${m} | ${problem.model.states.length} | ${first.conditions} | ${first.measurements} | ${ms(t1 - t0)} | ${ms(t2 - t1)} | ${ms(times[2])} | ${(first.llh - reference[m].llh).toExponential(2)} |`);
}
await releaseCpuWorkers();
