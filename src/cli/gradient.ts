/**
 * `ctwin gradient` — DESIGN.md contract: the loss L = Σ ½((y_obs(t) − value)/σ)² of a data file
 * and its gradient with respect to every trajectory's parameters and initial values, as JSON on
 * stdout. This is the user-facing gradient check; gradients come from the discrete adjoint
 * (src/training/adjoint.ts), on the CPU in f64, spread over the worker threads.
 */
import { loadModel } from '../io/model-file.js';
import { makeProblem } from '../solvers/problem.js';
import { METHOD_NAMES, type MethodName } from '../methods/tableaus.js';
import { STATUS, STATUS_NAMES } from '../methods/status.js';
import { gradient } from '../training/gradient.js';
import type { Noise } from '../training/loss.js';
import { readData } from '../io/data.js';
import { UsageError, integerFlag, numberFlag, type Flags } from './args.js';
import { readParamsCsv } from '../io/params.js';

export const GRADIENT_FLAGS = {
  model: { type: 'string' }, data: { type: 'string' }, params: { type: 'string' }, sigma: { type: 'string' },
  noise: { type: 'string' }, t0: { type: 'string' }, method: { type: 'string' }, rtol: { type: 'string' },
  atol: { type: 'string' }, dt: { type: 'string' }, 'max-steps': { type: 'string' }, backend: { type: 'string' },
} as const;

export async function gradientCommand(flags: Flags<typeof GRADIENT_FLAGS>, out: (text: string) => void, log: (line: string) => void): Promise<void> {
  if (!flags.model) throw new UsageError('--model is required (a model JSON file)');
  if (!flags.data) throw new UsageError('--data is required (a CSV with columns traj,t,observable,value)');
  const method = (flags.method ?? 'dopri5') as MethodName;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--method ${method}: unknown (choose ${METHOD_NAMES.join(', ')})`);
  const backend = flags.backend ?? 'auto';
  if (!['auto', 'cpu', 'gpu'].includes(backend)) throw new UsageError(`--backend ${backend}: choose auto, gpu or cpu`);
  // auto → the f64 CPU adjoint (the reference); gpu → the f32 GPU adjoint.
  const sigma = numberFlag(flags, 'sigma') ?? 1;
  if (!(sigma > 0)) throw new UsageError(`--sigma ${flags.sigma}: must be positive`);
  const noise = (flags.noise ?? 'normal') as Noise;
  if (!['normal', 'lognormal'].includes(noise)) throw new UsageError(`--noise ${flags.noise}: choose normal or lognormal`);
  const t0 = numberFlag(flags, 't0') ?? 0;

  const model = loadModel(flags.model);
  const obs = readData(flags.data, model, { sigma, noise });
  // Loops, not Math.max(...array): spreading 10⁶ rows overflows the call stack.
  let maxTraj = 0, t1 = -Infinity;
  for (const d of obs.data) { if (d.traj > maxTraj) maxTraj = d.traj; if (d.t > t1) t1 = d.t; }
  let params: Float64Array | undefined, initial: Float64Array | undefined, batch = maxTraj + 1;
  if (flags.params) {
    ({ params, initial, batch } = readParamsCsv(flags.params, model));
    if (maxTraj >= batch) throw new UsageError(`${flags.data} has data for trajectory ${maxTraj}, but ${flags.params} has only ${batch} rows (trajectories 0…${batch - 1})`);
  }
  if (!(t1 > t0)) throw new UsageError(`${flags.data}: every measurement is at or before t0 = ${t0}; nothing to integrate`);
  const problem = makeProblem(model, { t0, t1, batch, params, initial });
  const g = await gradient(problem, obs, {}, {
    method, rtol: numberFlag(flags, 'rtol'), atol: numberFlag(flags, 'atol'), dt: numberFlag(flags, 'dt'),
    maxSteps: integerFlag(flags, 'max-steps'), backend: backend === 'gpu' ? 'gpu' : 'cpu',
  });
  const failed = Array.from(g.status).map((s, b) => [b, s] as const).filter(([, s]) => s !== STATUS.success);
  for (const [b, s] of failed.slice(0, 20)) {
    log(`warning: trajectory ${b} did not finish (${STATUS_NAMES[s]}): the loss is infinite (printed as null) and its gradient entries are null`);
  }
  if (failed.length > 20) log(`warning: … and ${failed.length - 20} more trajectories did not finish`);
  const N = model.states.length, P = model.params.length;
  const named = (names: string[], values: Float64Array, offset: number, failedTraj: boolean) =>
    Object.fromEntries(names.map((n, k) => [n, failedTraj ? null : values[offset + k]!]));
  const result = {
    loss: Number.isFinite(g.loss) ? g.loss : null,
    grad: Array.from({ length: batch }, (_, b) => ({
      traj: b,
      status: STATUS_NAMES[g.status[b]!],
      params: named(model.params.map((q) => q.name), g.params, b * P, g.status[b] !== STATUS.success),
      initial: named(model.states.map((s) => s.name), g.initial, b * N, g.status[b] !== STATUS.success),
    })),
    ...(model.neural ? { weights: Array.from(g.weights) } : {}),
    observation: g.observation,
    method, backend: backend === 'gpu' ? 'gpu' : 'cpu',
  };
  out(JSON.stringify(result, null, 2) + '\n');
}
