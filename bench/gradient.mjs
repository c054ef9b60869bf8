// Gradient benchmark (issue #4; run by hand after `npm run build`: node bench/gradient.mjs).
// Prints JSON lines: for a batch of B trajectories with 50 observations each, the cost of the loss
// alone (forward) and of loss + gradient (forward + discrete adjoint), their ratio (goal ≤ 3×), the
// adjoint's memory per trajectory, and the wall time to fit every trajectory of the cohort to its
// own data (fitCohort, L-BFGS). Backend: CPU f64 on the main thread, or the f32 GPU adjoint
// (--backend gpu; timings after a warm-up call, so shader compilation is not counted).
// Usage: node bench/gradient.mjs [--batch 1024] [--backend cpu|gpu] [--models condensate,condensate-ude] [--finish K]
import { condensateModel, makeProblem, solve, linspace, fitCohort, releaseCpuWorkers, releaseGpu, acquireGpu } from '../dist/index.js';
import { gradientCpu, gradientGpu, gpuAdjointBytes, compileObservable } from '../dist/internals.js';
import { methodByName } from '../dist/methods/tableaus.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const B = Number(arg('batch', '1024'));
const backend = arg('backend', 'cpu');
const models = arg('models', 'condensate,condensate-ude').split(',');
// --finish K (GPU): at most K more L-BFGS iterations on the f64 CPU adjoint for the rows the f32
// search left far from a stationary point (fitCohort's finishIterations; default 30, 0: none).
const finish = arg('finish', undefined) === undefined ? undefined : Number(arg('finish'));
const print = (o) => console.log(JSON.stringify(o));
if (backend === 'gpu') print({ device: (await acquireGpu()).info.description });

for (const [name, model] of [['condensate', condensateModel({ rna: false })], ['condensate-ude', condensateModel({ rna: false, neural: true })]].filter(([n]) => models.includes(n))) {
  const P = model.params.length, N = model.states.length;
  // Cohort: c_sat and k_phi vary per trajectory; 25 times × (φ, J) = 50 observations each, 5 % noise.
  const params = new Float64Array(B * P);
  const ic = model.params.findIndex((q) => q.name === 'c_sat'), ik = model.params.findIndex((q) => q.name === 'k_phi');
  let seed = 11;
  const u = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return (seed + 0.5) / 2 ** 32; };
  for (let b = 0; b < B; b++) {
    params.set(model.params.map((q) => q.value), b * P);
    params[b * P + ic] = 0.6 + 0.4 * u();
    params[b * P + ik] = 0.03 + 0.04 * u();
  }
  const times = linspace(72, 1800, 25);
  const truth = await solve(makeProblem(model, { t1: 1800, saveat: times, params }), 'dopri5', { backend: 'cpu', rtol: 1e-9, atol: 1e-12 });
  const names = ['phi', 'J'], h = names.map((n) => compileObservable(model, n));
  const data = [];
  for (let b = 0; b < B; b++) {
    times.forEach((t, s) => names.forEach((_, o) => {
      const y = truth.y.subarray((b * 25 + s) * N, (b * 25 + s + 1) * N);
      data.push({ traj: b, t, observable: o, value: h[o].value(t, y, params.subarray(b * P, (b + 1) * P)) * Math.exp(0.05 * (2 * u() - 1) * 1.7) });
    }));
  }
  const obs = { observables: names.map((n) => ({ name: n, noise: 'lognormal', sigma: 0.05, scale: 1, offset: 0 })), data };
  const problem = makeProblem(model, { t1: 1800, params });
  const solver = { method: 'dopri5', rtol: 1e-6, atol: 1e-10 };
  const time = async (f) => { const t0 = performance.now(); const r = await f(); return [r, (performance.now() - t0) / 1000]; };
  // The median of three timed calls (after a warm-up call on each backend).
  const median3 = async (f) => { const runs = []; for (let i = 0; i < 3; i++) runs.push(await time(f)); runs.sort((x, y) => x[1] - y[1]); return runs[1]; };
  const every = 32;
  if (backend === 'gpu') {
    const opts = { ...solver, adjoint: { checkpointEvery: every } };
    await gradientGpu(problem, obs, {}, opts); // warm-up: compiles the kernels
    const [fwd, fwdS] = await median3(() => gradientGpu(problem, obs, {}, { ...opts, lossOnly: true }));
    const [grad, gradS] = await median3(() => gradientGpu(problem, obs, {}, opts));
    const steps = grad.steps.reduce((a, v) => a + v, 0) / B;
    const bytes = gpuAdjointBytes(N, every, methodByName('dopri5'));
    print({
      model: name, backend: 'gpu-f32', batch: B, observations_per_traj: 50, steps_per_traj: +steps.toFixed(1),
      forward_s: +fwdS.toFixed(3), gradient_s: +gradS.toFixed(3), gradient_over_forward: +(gradS / fwdS).toFixed(2),
      // The stage tape (no replay) by default; checkpoints and a segment's tape where it is outrun.
      bytes_per_traj_per_step: bytes.stageTapePerStep, replayed_chunks: grad.replayedChunks,
      bytes_per_traj_per_checkpoint: bytes.perCheckpoint, bytes_per_traj_segment_tape: bytes.tape, checkpoint_every_steps: every,
      weights: grad.weights.length, loss: +fwd.loss.toFixed(3),
    });
  } else {
    // Warm-up calls first: the first compiles the model's functions (cached per model), which
    // would otherwise be counted in the forward figure alone. Then the median of three.
    gradientCpu(problem, obs, {}, solver);
    const [fwd, fwdS] = await median3(() => gradientCpu(problem, obs, {}, { ...solver, lossOnly: true }));
    const [grad, gradS] = await median3(() => gradientCpu(problem, obs, {}, solver));
    const steps = grad.steps.reduce((a, v) => a + v, 0) / B;
    print({
      model: name, backend: 'cpu-f64', batch: B, observations_per_traj: 50, steps_per_traj: +steps.toFixed(1),
      forward_s: +fwdS.toFixed(3), gradient_s: +gradS.toFixed(3), gradient_over_forward: +(gradS / fwdS).toFixed(2),
      bytes_per_traj_per_checkpoint: N * 8, bytes_per_traj_per_step: 4 * 8, checkpoint_every_steps: every,
      weights: model.neural ? grad.weights.length : 0, loss: +fwd.loss.toFixed(3),
    });
  }
  if (!model.neural) {
    // Fit c_sat and k_phi of every trajectory to its own data, starting 15–30 % off (c_sat low so that
    // condensates still form: with none, log-normal data on φ make the loss infinite).
    const start = Float64Array.from(params);
    for (let b = 0; b < B; b++) { start[b * P + ic] *= 0.85; start[b * P + ik] *= 1.3; }
    const t0 = performance.now();
    const fitR = await fitCohort(makeProblem(model, { t1: 1800, params: start }), obs, { estimate: ['c_sat', 'k_phi'], maxIterations: 50, solver: { ...solver, backend }, finishIterations: finish });
    const fitS = (performance.now() - t0) / 1000;
    const err = fitR.trajectories.map((t, b) => Math.max(Math.abs(t.params[ic] / params[b * P + ic] - 1), Math.abs(t.params[ik] / params[b * P + ik] - 1)));
    err.sort((a, b) => a - b);
    print({
      model: name, task: 'fitCohort', backend, batch: B, observations_per_traj: 50, estimated: fitR.estimated, optimizer: 'lbfgs',
      ...(backend === 'gpu' ? { f64_finish_iterations: finish ?? 30 } : {}),
      wall_s: +fitS.toFixed(2), iterations: fitR.history.length, median_rel_error: +err[B >> 1].toFixed(4), p95_rel_error: +err[Math.floor(0.95 * B)].toFixed(4),
    });
  }
}
await releaseCpuWorkers();
if (backend === 'gpu') await releaseGpu();
