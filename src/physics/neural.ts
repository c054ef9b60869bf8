/**
 * The neural term of a universal differential equation (Rackauckas et al. 2020, "Universal
 * Differential Equations for Scientific Machine Learning"): an MLP g(u; θ) whose outputs, scaled,
 * are added to chosen derivatives,  dy_k/dt = f_k(t, y, p) + s_j · g_j(u(t, y, p); θ).
 *
 * θ is one flat vector shared by the whole batch (a cohort shares its learned mechanism). Layer l
 * maps n_l → n_{l+1} with W_l (n_{l+1} × n_l, row-major) followed by b_l; hidden layers apply the
 * activation, the output layer is linear. This file holds the description, its seeded
 * initialisation, and a plain-loop f64 reference (forward, Jacobian, VJP) that tests hold the
 * generated code (src/codegen/neural.ts) against.
 */
import type { Expr } from './expr.js';

export type Activation = 'tanh' | 'sigmoid' | 'softplus' | 'relu';
export const ACTIVATIONS: readonly Activation[] = ['tanh', 'sigmoid', 'softplus', 'relu'];

export interface NeuralSpec {
  /** Input expressions u_m (states, parameters, t or any expression of them). */
  inputs: Expr[];
  /** The input texts as written, for messages and reports. */
  inputNames: string[];
  /** Output j adds scale_j · g_j to d(state)/dt. */
  outputs: Array<{ state: number; scale: number }>;
  hidden: number[];
  activation: Activation;
  /** Seed of the initial weights (Glorot-uniform), so that a twin is reproducible. */
  seed: number;
}

/** Layer widths [n_in, …hidden, n_out]. */
export const layerSizes = (spec: Pick<NeuralSpec, 'inputs' | 'hidden' | 'outputs'>) =>
  [spec.inputs.length, ...spec.hidden, spec.outputs.length];

/** Offsets of W_l and b_l in θ, and the total length. */
export function weightLayout(sizes: number[]): { W: number[]; b: number[]; total: number } {
  const W: number[] = [], b: number[] = [];
  let o = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    W.push(o); o += sizes[l]! * sizes[l + 1]!;
    b.push(o); o += sizes[l + 1]!;
  }
  return { W, b, total: o };
}

/**
 * splitmix32: a small, well-mixed seeded generator of uniforms in [0, 1), the same numbers on every
 * platform; initial weights and optimiser starts are drawn with it so that results reproduce.
 */
export function splitmix32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/**
 * Glorot/Xavier-uniform weights (Glorot & Bengio 2010): W ~ U(−r, r), r = √(6/(n_in + n_out)),
 * biases 0 — the default of Flux/Lux, which DiffEqFlux UDEs use.
 * @example
 * const theta = initialWeights(condensateModel({ neural: true }).neural!);
 */
export function initialWeights(spec: Pick<NeuralSpec, 'inputs' | 'hidden' | 'outputs' | 'seed'>): Float64Array {
  const sizes = layerSizes(spec);
  const { W, total } = weightLayout(sizes);
  const theta = new Float64Array(total);
  const rand = splitmix32(spec.seed);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l]!, nOut = sizes[l + 1]!;
    const r = Math.sqrt(6 / (nIn + nOut));
    for (let k = 0; k < nIn * nOut; k++) theta[W[l]! + k] = (2 * rand() - 1) * r;
  }
  return theta;
}

/** The activation σ(z) and σ'(z), in f64 (the reference). */
export function activate(act: Activation, z: number): [number, number] {
  switch (act) {
    case 'tanh': { const a = Math.tanh(z); return [a, 1 - a * a]; }
    case 'sigmoid': { const a = 1 / (1 + Math.exp(-z)); return [a, a * (1 - a)]; }
    // softplus(z) = log(1 + e^z), written to stay finite for large |z|.
    case 'softplus': return [Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))), 1 / (1 + Math.exp(-z))];
    case 'relu': return [Math.max(z, 0), z > 0 ? 1 : 0];
  }
}

interface Tape { a: Float64Array[]; dz: Float64Array[] }

/** Reference forward pass: outputs g(x; θ), plus the per-layer activations and σ' for the backward pass. */
export function referenceForward(sizes: number[], act: Activation, theta: Float64Array, x: ArrayLike<number>): { y: Float64Array; tape: Tape } {
  const { W, b } = weightLayout(sizes);
  const a: Float64Array[] = [Float64Array.from(x)];
  const dz: Float64Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l]!, nOut = sizes[l + 1]!, last = l + 2 === sizes.length;
    const next = new Float64Array(nOut), deriv = new Float64Array(nOut);
    for (let i = 0; i < nOut; i++) {
      let z = theta[b[l]! + i]!;
      for (let j = 0; j < nIn; j++) z += theta[W[l]! + i * nIn + j]! * a[l]![j]!;
      if (last) { next[i] = z; deriv[i] = 1; } else [next[i], deriv[i]] = activate(act, z);
    }
    a.push(next); dz.push(deriv);
  }
  return { y: a[a.length - 1]!, tape: { a, dz } };
}

/** Reference VJP: given ȳ, returns x̄ = (∂g/∂x)ᵀȳ and adds (∂g/∂θ)ᵀȳ into `gTheta`. */
export function referenceVjp(sizes: number[], act: Activation, theta: Float64Array, x: ArrayLike<number>, gy: ArrayLike<number>, gTheta: Float64Array): Float64Array {
  const { W, b } = weightLayout(sizes);
  const { tape } = referenceForward(sizes, act, theta, x);
  let g = Float64Array.from(gy);
  for (let l = sizes.length - 2; l >= 0; l--) {
    const nIn = sizes[l]!, nOut = sizes[l + 1]!;
    const gz = g.map((v, i) => v * tape.dz[l]![i]!);
    const gIn = new Float64Array(nIn);
    for (let i = 0; i < nOut; i++) {
      gTheta[b[l]! + i]! += gz[i]!;
      for (let j = 0; j < nIn; j++) {
        gTheta[W[l]! + i * nIn + j]! += gz[i]! * tape.a[l]![j]!;
        gIn[j]! += theta[W[l]! + i * nIn + j]! * gz[i]!;
      }
    }
    g = gIn;
  }
  return g;
}
