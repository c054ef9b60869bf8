// Throughput benchmark (run by hand: `npm run bench`; never part of the tests — this machine is
// shared and noisy). Prints JSON lines: traj/s and traj·steps/s per backend and batch size, pipeline
// compile time separately, and the ratio of the GPU backend to a native C DOPRI5 ensemble
// (bench/native/dopri5_ensemble.c, built here with the system compiler, -O3 -march=native -fopenmp,
// in f64 and in f32; the ratio is against the faster of the two). The f32 build is also made with
// -ffp-contract=off, the arithmetic llvmpipe can issue (Mesa lowers every fma to a multiply and an
// add), and the mechanistic models' GPU lines print their ratio to it as well
// (`ratio_vs_native_c_f32_no_fma`).
// For the UDE (issue #3: the condensate model + a 3→16→16→3 tanh MLP) it also prints the MLP's
// FLOP rate (2·MACs + bias adds per right-hand-side evaluation; tanh not counted) against the
// machine's theoretical f32/f64 peak.
// Each figure is the median of --repeat runs (default 3; native C and ours alike); ours also prints
// the first run's time (`first_seconds`), which pays for allocating the batch's buffers.
// --bake on|off sets SolveOptions.bakeWeights for the GPU solves (the UDE's weights compiled into the
// kernel); left out, the solver's default applies (off for a single solve).
// Usage: node bench/run.mjs [--sizes 1e3,1e4,1e5,1e6] [--cpu-max 1e5] [--models lorenz,condensate,ude] [--repeat 3] [--bake on|off]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peak, mlpFlops } from './machine.mjs';
import * as engine from '../dist/index.js';
import { makeProblem, solve, releaseGpu, releaseCpuWorkers, acquireGpu } from '../dist/index.js';
import { benchProblem, PROBLEM_NAMES } from './problems.mjs';
import { defaultWeights } from '../dist/internals.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const sizes = arg('sizes', '1e3,1e4,1e5,1e6').split(',').map(Number);
const cpuMax = Number(arg('cpu-max', '1e5'));
const models = arg('models', 'lorenz,condensate,ude').split(',');
const repeat = Math.max(1, Number(arg('repeat', '3')));
const bakeArg = arg('bake', undefined);
if (bakeArg !== undefined && bakeArg !== 'on' && bakeArg !== 'off') throw new Error(`--bake takes on or off (got ${bakeArg})`);
const bakeWeights = bakeArg === undefined ? {} : { bakeWeights: bakeArg === 'on' };
/** The run of median time among `repeat` runs of `run` (each returns { seconds, … }). */
async function medianRun(run) {
  const runs = [];
  for (let r = 0; r < repeat; r++) runs.push(await run());
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)], first: runs[0] };
}

// The problems of issue #2 (bench/problems.mjs), dopri5, rtol 1e-6, atol 1e-8.
const PROBLEMS = Object.fromEntries(PROBLEM_NAMES.map((name) => [name, benchProblem(engine, name)]));

const print = (o) => console.log(JSON.stringify(o));
const sum = (a) => a.reduce((s, x) => s + x, 0);

let gpuInfo;
try { gpuInfo = (await acquireGpu()).info; } catch (e) { print({ note: `no GPU backend: ${e.message}` }); }
if (gpuInfo) print({ gpu: gpuInfo.description, backend: gpuInfo.backend });

// The C reference in f64 and in f32 (the GPU path's precision); the goal's ratio is against the
// faster of the two. The third build, f32 with -ffp-contract=off, is not a candidate for it: it has
// the arithmetic llvmpipe can issue (no fused multiply-adds), so its ratio says how much of the gap
// is GCC's FMAs. It runs for the mechanistic models only, whose goal is a ratio to native C (for the
// UDE it would add three runs of ~40 s each to a figure no goal reads).
mkdirSync(join('bench', 'out'), { recursive: true });
const F32 = ['-DREAL=float', '-fsingle-precision-constant'];
const nativeBuilds = [
  { label: 'native-c-f64', exe: 'dopri5_ensemble_f64', precision: 'f64', flags: [], goal: true },
  { label: 'native-c-f32', exe: 'dopri5_ensemble_f32', precision: 'f32', flags: F32, goal: true },
  { label: 'native-c-f32-no-fma', exe: 'dopri5_ensemble_f32_no_fma', precision: 'f32', flags: [...F32, '-ffp-contract=off'], goal: false },
].map((build) => ({ ...build, exe: join('bench', 'out', build.exe) }));
for (const build of nativeBuilds) {
  execFileSync(process.env.CC ?? 'cc', ['-O3', '-march=native', '-fopenmp', 'bench/native/dopri5_ensemble.c', '-lm', ...build.flags, '-o', build.exe]);
}

const machine = peak();
print({ machine, bake: bakeArg ?? 'default' });

for (const name of models) {
  const { model, t1 } = PROBLEMS[name];
  const flops = model.neural ? mlpFlops(model.neural) : 0;
  const extra = [];
  if (model.neural) {
    const file = join('bench', 'out', `${name}-weights.txt`);
    writeFileSync(file, Array.from(defaultWeights(model)).join('\n'));
    extra.push(file);
  }
  const native = {}; // the goal's reference: the faster build of f64 and f32
  const nativeNoFma = {};
  for (const B of sizes.filter((b) => b >= 1e4)) {
    for (const { label, precision, exe, goal } of nativeBuilds) {
      if (!goal && model.neural) continue;
      const { median: line } = await medianRun(async () => JSON.parse(execFileSync(exe, [name, String(B), ...extra], { encoding: 'utf8' })));
      line.backend = label;
      if (!goal) nativeNoFma[B] = line;
      else if (!native[B] || line.traj_per_s > native[B].traj_per_s) native[B] = line;
      if (flops) {
        line.mlp_gflop_per_s = +((line.rhs_evals * flops) / line.seconds / 1e9).toFixed(3);
        if (machine.ghz) line[`fraction_of_${precision}_peak`] = +(line.mlp_gflop_per_s / machine[`${precision}_gflops`]).toFixed(4);
      }
      print({ ...line, runs: repeat, y0: undefined });
    }
  }
  for (const backend of gpuInfo ? ['gpu', 'cpu'] : ['cpu']) {
    for (const B of sizes) {
      if (backend === 'cpu' && B > cpuMax) continue;
      const problem = makeProblem(model, { t1, batch: B, saveat: [t1] });
      if (backend === 'gpu') { // compile outside the timing, both forms of a neural kernel (the timed solve takes one)
        for (const bake of model.neural ? [true, false] : [false]) await solve(makeProblem(model, { t1, batch: 64, saveat: [t1] }), 'dopri5', { backend, bakeWeights: bake });
      }
      const { median, first } = await medianRun(async () => {
        const start = performance.now();
        const sol = await solve(problem, 'dopri5', { backend, rtol: 1e-6, atol: 1e-8, ...(backend === 'gpu' ? bakeWeights : {}) });
        return { sol, seconds: (performance.now() - start) / 1000 };
      });
      const { sol, seconds } = median;
      const steps = sum(Array.from(sol.stats.steps));
      const out = {
        model: name, backend, batch: B, runs: repeat, seconds: +seconds.toFixed(4), first_seconds: +first.seconds.toFixed(4), traj_per_s: +(B / seconds).toFixed(1),
        traj_steps_per_s: +(steps / seconds).toFixed(1), steps_per_traj: +(steps / B).toFixed(1),
        failed: Array.from(sol.status).filter((s) => s !== 1).length,
      };
      if (backend === 'gpu' && native[B]) {
        out.ratio_vs_native_c = +(out.traj_per_s / native[B].traj_per_s).toFixed(3);
        out.native_c_used = native[B].backend;
      }
      if (backend === 'gpu' && nativeNoFma[B]) out.ratio_vs_native_c_f32_no_fma = +(out.traj_per_s / nativeNoFma[B].traj_per_s).toFixed(3);
      if (flops) {
        out.mlp_gflop_per_s = +((sum(Array.from(sol.stats.rhsEvals)) * flops) / seconds / 1e9).toFixed(3);
        if (machine.ghz) out[`fraction_of_${backend === 'gpu' ? 'f32' : 'f64'}_peak`] = +(out.mlp_gflop_per_s / (backend === 'gpu' ? machine.f32_gflops : machine.f64_gflops)).toFixed(4);
      }
      print(out);
    }
  }
  if (gpuInfo) {
    // Pipeline compile time, measured on a fresh device so the cache is cold.
    await releaseGpu();
    const sol = await solve(makeProblem(model, { t1, batch: 1, saveat: [t1] }), 'dopri5', { backend: 'gpu' });
    print({ model: name, backend: 'gpu', pipeline_compile_ms: +sol.timing.compileMs.toFixed(1) });
  }
}
await releaseGpu();
await releaseCpuWorkers();
