// Multi-start fit of a PEtab problem (default: Boehm_JProteomeRes2014 of test/fixtures/petab):
// the best log-likelihood found, how many starts reach it, the time to the first start within
// 1e-3 of the published optimum (AMICI's llh at the collection's nominal parameters, which are the
// published maximum-likelihood estimate) and the total time. After `npm run build`.
//
//   node bench/petab-fit.mjs [--problem Boehm_JProteomeRes2014] [--starts 50] [--seed 1] [--max-iterations 500] [--backend cpu|gpu]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readPetab, petabFit, releaseCpuWorkers, releaseGpu } from '../dist/index.js';

const { values: a } = parseArgs({ options: {
  problem: { type: 'string', default: 'Boehm_JProteomeRes2014' }, starts: { type: 'string', default: '50' },
  seed: { type: 'string', default: '1' }, 'max-iterations': { type: 'string', default: '500' }, backend: { type: 'string', default: 'cpu' },
} });
const dir = new URL('../test/fixtures/petab/', import.meta.url).pathname;
const published = JSON.parse(readFileSync(`${dir}reference-llh.json`, 'utf8'))[a.problem].llh;
const problem = await readPetab(`${dir}${a.problem}/${a.problem}.yaml`);
const t0 = performance.now();
let reachedAt;
const r = await petabFit(problem, {
  starts: Number(a.starts), seed: Number(a.seed), maxIterations: Number(a['max-iterations']), backend: a.backend,
  onIteration: (it, best) => { if (reachedAt === undefined && -best >= published - 1e-3) reachedAt = { it, s: (performance.now() - t0) / 1000 }; },
});
const best = r.starts[0];
const within = r.starts.filter((s) => -s.nllh >= published - 1e-3).length;
console.log(`${a.problem}: ${r.names.length} parameters, ${a.starts} starts (seed ${a.seed}), ${a.backend === 'gpu' ? 'GPU f32' : 'CPU f64'} rodas4`);
console.log(`best llh ${(-best.nllh).toFixed(6)} (published ${published.toFixed(6)}); ${within} of ${a.starts} starts within 1e-3 of the published optimum`);
console.log(`first within 1e-3: ${reachedAt ? `iteration ${reachedAt.it + 1}, ${reachedAt.s.toFixed(1)} s` : 'never'}; all starts finished: ${r.seconds.toFixed(1)} s`);
console.log(`statuses: ${JSON.stringify(r.starts.reduce((c, s) => ({ ...c, [s.status]: (c[s.status] ?? 0) + 1 }), {}))}`);
await releaseCpuWorkers();
releaseGpu();
