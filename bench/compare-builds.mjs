#!/usr/bin/env node
// Two builds of the engine in one process, their GPU solves alternated: the way to compare a change
// on a shared, noisy machine, where runs in separate processes spread by up to 2× (bench/README.md).
// Build the old commit's dist somewhere first, e.g.
//
//   git worktree add /tmp/old <commit> && (cd /tmp/old && ln -s "$PWD/../main/node_modules" . && npm run build)
//   node bench/compare-builds.mjs /tmp/old/dist dist --model condensate --rounds 8
//
// Models are bench/run.mjs's problems at B = 1e5 (--batch): the 3-state condensate model and
// Lorenz (dopri5, rtol 1e-6, atol 1e-8) and the UDE (its weights compiled in). Prints wall and CPU
// seconds per solve (CPU: process.cpuUsage, llvmpipe's threads included), their medians, and
// whether the two builds' solutions are bit-identical.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchProblem, benchSolveOptions, PROBLEM_NAMES } from './problems.mjs';

const { positionals, values } = parseArgs({ allowPositionals: true, options: {
  model: { type: 'string', default: 'condensate' }, rounds: { type: 'string', default: '6' }, batch: { type: 'string', default: '1e5' } } });
if (positionals.length !== 2) {
  console.error('usage: node bench/compare-builds.mjs OLD_DIST NEW_DIST [--model condensate|lorenz|ude] [--rounds 6] [--batch 1e5]');
  process.exit(2);
}
const which = values.model, rounds = Number(values.rounds), B = Number(values.batch);
if (!PROBLEM_NAMES.includes(which)) { console.error(`--model ${which}: choose ${PROBLEM_NAMES.join(', ')}`); process.exit(2); }
const builds = await Promise.all(positionals.map((d) => import(pathToFileURL(resolve(d, 'index.js')).href)));
const names = ['old', 'new'];
const options = benchSolveOptions(which);
const problems = [];
for (const lib of builds) {
  const { model, t1 } = benchProblem(lib, which);
  problems.push(lib.makeProblem(model, { t1, batch: B, saveat: [t1] }));
  await lib.solve(lib.makeProblem(model, { t1, batch: 64, saveat: [t1] }), 'dopri5', options); // compile, warm up
}
const runs = [[], []], last = [];
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < 2; k++) {
    const cpu0 = process.cpuUsage(), t0 = performance.now();
    const sol = await builds[k].solve(problems[k], 'dopri5', options);
    const cpu = process.cpuUsage(cpu0);
    runs[k].push({ wall: (performance.now() - t0) / 1e3, cpu: (cpu.user + cpu.system) / 1e6 });
    last[k] = sol.y;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
for (let k = 0; k < 2; k++) {
  const wall = runs[k].map((x) => x.wall), cpu = runs[k].map((x) => x.cpu);
  console.log(JSON.stringify({ model: which, build: names[k], dist: positionals[k], batch: B,
    wall_s: wall.map((x) => +x.toFixed(3)), cpu_s: cpu.map((x) => +x.toFixed(3)),
    median_wall_s: +median(wall).toFixed(3), median_cpu_s: +median(cpu).toFixed(3) }));
}
const same = last[0].length === last[1].length && last[0].every((v, i) => Object.is(v, last[1][i]));
console.log(JSON.stringify({ solutions_bit_identical: same }));
for (const lib of builds) await lib.releaseGpu();
