/**
 * Practical identifiability at a fit: the Fisher information of the estimated parameters (on a log
 * scale), from the sensitivities of every predicted measurement, I = Sᵀ S with S_ik = ∂r_i/∂log p_k
 * and r_i the standardised residual of measurement i (Raue et al. 2009 discuss why a profile or the
 * FIM, not the optimiser's success, tells whether a parameter is pinned down by the data).
 * The relative standard error of p_k is √(I⁻¹)_kk (a log-scale SE ≈ a relative SE). A parameter is
 * reported as not identifiable when that exceeds a threshold or I is singular in its direction.
 */
import { makeProblem, remake, type EnsembleProblem } from '../solvers/problem.js';
import { solve } from '../solvers/solve.js';
import { compileObservable, type Observations } from './loss.js';
import type { GradientOptions } from './adjoint.js';

export interface Identifiability {
  names: string[];
  fisher: Float64Array;
  /** √(I⁻¹)_kk: relative standard error of each parameter (Infinity when I is singular). */
  relativeSE: number[];
  identifiable: boolean[];
}

/** Each measurement's prediction on its residual's scale, z/σ or log z/σ (so that ∂r = ∂(this)). */
async function predictions(problem: EnsembleProblem, obs: Observations, solver: GradientOptions): Promise<Float64Array> {
  const times = Float64Array.from([...new Set(obs.data.map((d) => d.t))].sort((a, b) => a - b));
  const sol = await solve(makeProblem(problem.model, { t0: problem.t0, t1: problem.t1, saveat: times, params: problem.params.slice(0, problem.model.params.length), initial: problem.initial.slice(0, problem.model.states.length), weights: problem.weights }), solver.method ?? 'dopri5', { ...solver, backend: 'cpu' });
  const N = problem.model.states.length;
  const h = obs.observables.map((o) => compileObservable(problem.model, o.name));
  const p = problem.params.subarray(0, problem.model.params.length);
  return Float64Array.from(obs.data.map((d) => {
    const s = times.indexOf(d.t), o = obs.observables[d.observable]!;
    const z = o.scale * h[d.observable]!.value(d.t, sol.y.subarray(s * N, (s + 1) * N), p) + o.offset;
    return (o.noise === 'lognormal' ? Math.log(z) : z) / o.sigma;
  }));
}

/**
 * Fisher information of `names` at the problem's parameters (first trajectory), from finite differences of the predictions: relative standard errors and which parameters are identifiable (SE below `threshold`).
 * @example
 * const id = await fisherInformation(problem, observations, ['c_sat', 'k_rec']);
 * id.relativeSE; id.identifiable; // which parameters the data pin down
 */
export async function fisherInformation(
  problem: EnsembleProblem, obs: Observations, names: string[], solver: GradientOptions = {}, threshold = 0.1,
): Promise<Identifiability> {
  const K = names.length, P = problem.model.params.length;
  const idx = names.map((n) => problem.model.params.findIndex((q) => q.name === n));
  const cols: Float64Array[] = [];
  for (const i of idx) {
    const at = async (f: number) => {
      const params = Float64Array.from(problem.params.subarray(0, P));
      params[i]! *= f;
      return predictions(remake(problem, { batch: 1, params, initial: problem.initial.subarray(0, problem.model.states.length) }), obs, solver);
    };
    const d = 1e-4;
    const [up, down] = [await at(Math.exp(d)), await at(Math.exp(-d))];
    cols.push(up.map((v, r) => (v - down[r]!) / (2 * d)));
  }
  const fisher = new Float64Array(K * K);
  for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) fisher[a * K + b] = cols[a]!.reduce((acc, v, r) => acc + v * cols[b]![r]!, 0);
  const relativeSE = standardErrors(fisher, K);
  return { names, fisher, relativeSE, identifiable: relativeSE.map((se) => se < threshold) };
}

/**
 * Standard errors from an information matrix (Fisher information, or the Hessian of a negative
 * log-likelihood at its minimum), K × K row-major: √(M⁻¹)_kk over the directions the data inform.
 * Eigen-decomposition M = V Λ Vᵀ: directions with λ ≤ 1e-8·λ_max (or negative: not a minimum in
 * that direction) are not informed; a parameter with weight |V_kj| > 0.1 in one gets Infinity.
 * Otherwise SE² = Σ_j V_kj²/λ_j over the informed directions.
 */
export function standardErrors(M: Float64Array, K: number): number[] {
  return standardErrorsOf(jacobiEigen(M, K), K);
}

/** `standardErrors` from M's eigen-decomposition, for a caller that also reports the eigenvalues. */
export function standardErrorsOf({ values, vectors }: { values: number[]; vectors: Float64Array }, K: number): number[] {
  const lmax = Math.max(...values);
  return Array.from({ length: K }, (_, k) => {
    let se2 = 0;
    for (let j = 0; j < K; j++) {
      const v = vectors[k * K + j]!;
      if (!(values[j]! > 1e-8 * lmax)) { if (Math.abs(v) > 0.1) return Infinity; continue; }
      se2 += (v * v) / values[j]!;
    }
    return Math.sqrt(se2);
  });
}

/** Cyclic Jacobi eigenvalue iteration for a small symmetric matrix; vectors in columns (row-major). */
export function jacobiEigen(A: Float64Array, n: number): { values: number[]; vectors: Float64Array } {
  const M = Float64Array.from(A), V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += M[p * n + q]! ** 2;
    if (off < 1e-30 * Math.max(1e-300, ...Array.from(M, (x) => x * x))) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = M[p * n + q]!;
        if (apq === 0) continue;
        const theta = (M[q * n + q]! - M[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = M[k * n + p]!, mkq = M[k * n + q]!;
          M[k * n + p] = c * mkp - s * mkq; M[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = M[p * n + k]!, mqk = M[q * n + k]!;
          M[p * n + k] = c * mpk - s * mqk; M[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!, vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq; V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Array.from({ length: n }, (_, i) => M[i * n + i]!), vectors: V };
}
