/**
 * Multi-start fitting of a PEtab problem (`ctwin petab fit`): starts drawn uniformly within the
 * bounds on each parameter's PEtab scale (seeded), every start × condition one trajectory of one
 * batched adjoint call per evaluation (./petab-objective.ts), L-BFGS on an unconstrained
 * parametrisation of the bounded box, x = lo + (hi − lo)·σ(u) (the logistic map, as the twin
 * calibration uses), so every point tried lies inside the bounds.
 */
import { splitmix32 } from '../physics/neural.js';
import type { PetabProblem, Scale } from '../io/petab/petab.js';
import { minimizeBatch, type BatchObjective, type FitStatus } from './optimize.js';
import { petabObjective, type PetabObjectiveOptions } from './petab-objective.js';
import { fromScale } from './petab.js';

export interface PetabFitOptions extends PetabObjectiveOptions {
  starts?: number;
  seed?: number;
  maxIterations?: number;
  /** Also start from the table's nominal values (start 0); default false: all starts random. */
  fromNominal?: boolean;
  /** Start 0 at these values (the parameters' scales, estimated ones in table order) instead. */
  startAt?: ArrayLike<number>;
  onIteration?: (iteration: number, bestNllh: number) => void;
}

export interface PetabStart {
  start: number;
  /** Final −llh (Infinity when the simulation failed there). */
  nllh: number;
  /** Estimated parameters on their PEtab scales, and on linear scale. */
  x: number[];
  values: number[];
  status: FitStatus;
  iterations: number;
}

export interface PetabFitResult {
  names: string[];
  scales: Scale[];
  /** Best first. */
  starts: PetabStart[];
  history: number[];
  seconds: number;
}

const sigmoid = (u: number) => 1 / (1 + Math.exp(-u));
const logit = (f: number) => Math.log(f / (1 - f));

/**
 * @example
 * const problem = await readPetab('Boehm_JProteomeRes2014/Boehm_JProteomeRes2014.yaml');
 * const fitted = await petabFit(problem, { starts: 20, seed: 1 });
 * fitted.starts[0]?.nllh; // the best −llh found
 */
export async function petabFit(problem: PetabProblem, options: PetabFitOptions = {}): Promise<PetabFitResult> {
  const started = performance.now();
  const obj = petabObjective(problem, options);
  const K = obj.names.length, B = Math.max(1, options.starts ?? 20);
  const lo = obj.lower, hi = obj.upper;
  const random = splitmix32(options.seed ?? 1);
  // Uniform on each parameter's scale, kept off the edges where the logistic map saturates.
  const u0 = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const given = b === 0 ? (options.startAt ? options.startAt[k]! : options.fromNominal ? obj.nominal[k]! : undefined) : undefined;
      const f = given !== undefined ? (given - lo[k]!) / (hi[k]! - lo[k]!) : random();
      u0[b * K + k] = logit(Math.min(1 - 1e-6, Math.max(1e-6, f)));
    }
  }
  const toX = (u: Float64Array, b: number) => Float64Array.from({ length: K }, (_, k) => lo[k]! + (hi[k]! - lo[k]!) * sigmoid(u[b * K + k]!));
  const objective: BatchObjective = async (us, which, withGradient) => {
    const rows = Array.from({ length: B }, (_, b) => b).filter((b) => !which || which[b]);
    const xs = new Float64Array(rows.length * K);
    rows.forEach((b, r) => xs.set(toX(us, b), r * K));
    const loss = new Float64Array(B).fill(NaN), gx = new Float64Array(B * K);
    if (rows.length === 0) return { loss, gx };
    const e = await obj.evaluate(xs, withGradient);
    rows.forEach((b, r) => {
      loss[b] = e.nllh[r]!;
      if (withGradient) for (let k = 0; k < K; k++) { const s = sigmoid(us[b * K + k]!); gx[b * K + k] = e.grad[r * K + k]! * (hi[k]! - lo[k]!) * s * (1 - s); }
    });
    return { loss, gx };
  };
  const r = await minimizeBatch(u0, B, K, objective, { maxIterations: options.maxIterations ?? 300, tolerance: 1e-10, patience: 10, onIteration: options.onIteration });
  const starts: PetabStart[] = Array.from({ length: B }, (_, b) => {
    const x = Array.from(toX(r.x, b));
    return {
      start: b, nllh: Number.isFinite(r.loss[b]!) ? r.loss[b]! : Infinity, x,
      values: x.map((v, k) => fromScale(obj.scales[k]!, v)),
      status: r.status[b]!, iterations: r.iterations[b]!,
    };
  });
  starts.sort((a, b) => a.nllh - b.nllh);
  return { names: obj.names, scales: obj.scales, starts, history: r.history, seconds: (performance.now() - started) / 1000 };
}
