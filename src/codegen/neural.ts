/**
 * The MLP of a neural term as straight-line code, printed for WGSL (f32) and JavaScript (f64) by
 * the same generator (STYLE.md §7): forward pass, Jacobian ∂g/∂u (forward mode, one tangent per
 * input, for the Rosenbrock methods' W = I/(hγ) − J) and the vector–Jacobian product (reverse
 * mode, for the adjoint). Fully unrolled: every weight is read at a constant index and every
 * activation is a named scalar, so no private array is ever indexed by a loop variable (WEBGPU.md).
 */
import { layerSizes, weightLayout, type Activation, type NeuralSpec } from '../physics/neural.js';
import type { Target } from './emit.js';

type Sizes = number[];

function act(target: Target, a: Activation, z: string): string {
  const js = target === 'js';
  switch (a) {
    // Some WGSL tanh implementations return NaN for |z| > ~44; tanh(±15) is ±1 in f32.
    case 'tanh': return js ? `Math.tanh(${z})` : `tanh(clamp(${z}, -15.0, 15.0))`;
    case 'sigmoid': return js ? `1 / (1 + Math.exp(-${z}))` : `1.0 / (1.0 + exp(-${z}))`;
    case 'softplus': return js ? `Math.max(${z}, 0) + Math.log1p(Math.exp(-Math.abs(${z})))` : `max(${z}, 0.0) + log(1.0 + exp(-abs(${z})))`;
    case 'relu': return js ? `Math.max(${z}, 0)` : `max(${z}, 0.0)`;
  }
}

/** σ'(z) written with the activation value `a` where that is cheaper. */
function actDeriv(target: Target, act: Activation, z: string, a: string): string {
  const js = target === 'js';
  switch (act) {
    case 'tanh': return js ? `(1 - ${a} * ${a})` : `(1.0 - ${a} * ${a})`;
    case 'sigmoid': return js ? `(${a} * (1 - ${a}))` : `(${a} * (1.0 - ${a}))`;
    case 'softplus': return js ? `(1 / (1 + Math.exp(-${z})))` : `(1.0 / (1.0 + exp(-${z})))`;
    case 'relu': return js ? `(${z} > 0 ? 1 : 0)` : `select(0.0, 1.0, ${z} > 0.0)`;
  }
}

const decl = (target: Target) => (target === 'js' ? 'const' : 'let');

/** Forward pass lines: defines z{l}_{i} and a{l}_{i}; the network output is z{L}_{i}. */
function forwardLines(sizes: Sizes, activation: Activation, target: Target, w: (k: number) => string, x: (m: number) => string): string[] {
  const { W, b } = weightLayout(sizes);
  const L = sizes.length - 1;
  const lines: string[] = [];
  const aName = (l: number, j: number) => (l === 0 ? x(j) : `a${l}_${j}`);
  for (let l = 1; l <= L; l++) {
    const nIn = sizes[l - 1]!, nOut = sizes[l]!;
    for (let i = 0; i < nOut; i++) {
      const terms = Array.from({ length: nIn }, (_, j) => `${w(W[l - 1]! + i * nIn + j)} * ${aName(l - 1, j)}`);
      lines.push(`  ${decl(target)} z${l}_${i} = ${terms.join(' + ')} + ${w(b[l - 1]! + i)};`);
      if (l < L) lines.push(`  ${decl(target)} a${l}_${i} = ${act(target, activation, `z${l}_${i}`)};`);
    }
  }
  return lines;
}

export interface MlpSource {
  /** Functions `nn_forward`, `nn_jacobian` and, when asked for, `nn_vjp`. */
  code: string;
  nIn: number;
  nOut: number;
  weightCount: number;
}

/**
 * WGSL: `fn nn_forward(x: array<f32, NIN>) -> array<f32, NOUT>`, `fn nn_jacobian(x) -> array<f32, NOUT·NIN>`
 * (row-major ∂g_j/∂u_m) reading `weights(k)`; with `withVjp`, also
 * `fn nn_vjp(x, gy: array<f32, NOUT>) -> NnVjp` (x̄ and the per-layer signals; see the struct).
 */
export function mlpWgsl(spec: NeuralSpec, weights: (k: number) => string, withVjp = false): MlpSource {
  return mlpSource(spec, 'wgsl', weights, withVjp ? (i) => i : undefined);
}

/**
 * JavaScript f64 twin: the source of a function `(w) => ({ forward(x, out), jacobian(x, out), vjp(x, gy, gx, gw) })`
 * where `w` is the weight vector θ (Float64Array), built from the same generator as the WGSL.
 */
export function mlpJs(spec: NeuralSpec): MlpSource {
  return mlpSource(spec, 'js', (k) => `w[${k}]`, (i) => `gw[${i}]`);
}

function mlpSource(spec: NeuralSpec, target: Target, w: (k: number) => string, grad?: (index: string) => string): MlpSource {
  const sizes = layerSizes(spec);
  const L = sizes.length - 1;
  const nIn = sizes[0]!, nOut = sizes[L]!;
  const { W, b, total } = weightLayout(sizes);
  const js = target === 'js';
  const fwd = forwardLines(sizes, spec.activation, target, w, (m) => `x[${m}]`);
  const dAct = (l: number, i: number) => actDeriv(target, spec.activation, `z${l}_${i}`, `a${l}_${i}`);

  // Forward-mode Jacobian: tangent t{l}_{i} = ∂z{l}_i/∂u_m for one input m at a time.
  const jac: string[] = [];
  for (let m = 0; m < nIn; m++) {
    jac.push(`  {`);
    for (let l = 1; l <= L; l++) {
      const n0 = sizes[l - 1]!, n1 = sizes[l]!;
      for (let i = 0; i < n1; i++) {
        const rhs = l === 1
          ? w(W[0]! + i * n0 + m)
          : Array.from({ length: n0 }, (_, j) => `${w(W[l - 1]! + i * n0 + j)} * d${l - 1}_${j}`).join(' + ');
        jac.push(`    ${decl(target)} t${l}_${i} = ${rhs};`);
        if (l < L) jac.push(`    ${decl(target)} d${l}_${i} = ${dAct(l, i)} * t${l}_${i};`);
      }
    }
    for (let j = 0; j < nOut; j++) jac.push(`    out[${j * nIn + m}] = t${L}_${j};`);
    jac.push(`  }`);
  }

  // Reverse mode: g{l}_{i} = ∂(ȳ·g)/∂z{l}_i, from the output layer down; in JS the weight
  // gradient g_l ⊗ a_(l−1) is then accumulated into gw (in WGSL the caller does it, see NnVjp).
  const vjp: string[] = [];
  if (grad) {
    for (let i = 0; i < nOut; i++) vjp.push(`  ${decl(target)} g${L}_${i} = gy[${i}];`);
    for (let l = L; l >= 1; l--) {
      const n0 = sizes[l - 1]!, n1 = sizes[l]!;
      for (let j = 0; j < n0; j++) {
        const back = Array.from({ length: n1 }, (_, i) => `${w(W[l - 1]! + i * n0 + j)} * g${l}_${i}`).join(' + ');
        if (l === 1) vjp.push(`  gx[${j}] = ${back};`);
        else vjp.push(`  ${decl(target)} g${l - 1}_${j} = ${dAct(l - 1, j)} * (${back});`);
      }
    }
    if (target === 'js') {
      const acc = (k: number, v: string) => `  ${grad(String(k))} += ${v};`;
      for (let l = 1; l <= L; l++) {
        const n0 = sizes[l - 1]!, n1 = sizes[l]!;
        for (let i = 0; i < n1; i++) {
          for (let j = 0; j < n0; j++) vjp.push(acc(W[l - 1]! + i * n0 + j, `g${l}_${i} * ${l === 1 ? `x[${j}]` : `a${l - 1}_${j}`}`));
          vjp.push(acc(b[l - 1]! + i, `g${l}_${i}`));
        }
      }
    }
  }

  const desc = `MLP ${sizes.join('→')} (${spec.activation}), ${total} weights`;
  let code: string;
  if (js) {
    code = `// ${desc}
return {
  forward(x, out) {
${fwd.join('\n')}
${Array.from({ length: nOut }, (_, j) => `  out[${j}] = z${L}_${j};`).join('\n')}
  },
  jacobian(x, out) {
${fwd.join('\n')}
${jac.join('\n')}
  },
  vjp(x, gy, gx, gw) {
${fwd.join('\n')}
${vjp.join('\n')}
  },
};`;
  } else {
    const arr = (n: number) => `array<f32, ${n}>`;
    code = `// ${desc}
fn nn_forward(x: ${arr(nIn)}) -> ${arr(nOut)} {
${fwd.join('\n')}
  return ${arr(nOut)}(${Array.from({ length: nOut }, (_, j) => `z${L}_${j}`).join(', ')});
}

fn nn_jacobian(x: ${arr(nIn)}) -> ${arr(nOut * nIn)} {
  var out: ${arr(nOut * nIn)};
${fwd.join('\n')}
${jac.join('\n')}
  return out;
}
${grad ? `
// The VJP's results: x̄ = (∂g/∂u)ᵀȳ, the backward signals g_l = ∂(ȳ·g)/∂z_l and the activations
// a_l. The weight gradient is ∂(ȳ·g)/∂W_l = g_l ⊗ a_(l−1) (a_0 = u), ∂(ȳ·g)/∂b_l = g_l; it is left
// to the caller to accumulate (a reduction over trajectories and steps), because hundreds of
// scattered read-modify-writes per call cost llvmpipe tens of seconds of shader compilation.
struct NnVjp {
  gx: ${arr(nIn)},
${Array.from({ length: L }, (_, k) => `  g${k + 1}: ${arr(sizes[k + 1]!)},`).join('\n')}
${Array.from({ length: L - 1 }, (_, k) => `  a${k + 1}: ${arr(sizes[k + 1]!)},`).join('\n')}
}

fn nn_vjp(x: ${arr(nIn)}, gy: ${arr(nOut)}) -> NnVjp {
  var gx: ${arr(nIn)};
${fwd.join('\n')}
${vjp.join('\n')}
  return NnVjp(gx, ${[
    ...Array.from({ length: L }, (_, k) => `${arr(sizes[k + 1]!)}(${Array.from({ length: sizes[k + 1]! }, (_, i) => `g${k + 1}_${i}`).join(', ')})`),
    ...Array.from({ length: L - 1 }, (_, k) => `${arr(sizes[k + 1]!)}(${Array.from({ length: sizes[k + 1]! }, (_, i) => `a${k + 1}_${i}`).join(', ')})`),
  ].join(', ')});
}
` : ''}`;
  }
  return { code, nIn, nOut, weightCount: total };
}

/** Compiles the f64 twin: forward, Jacobian and VJP bound to the weight vector `w`. */
export interface MlpF64 {
  forward(x: ArrayLike<number>, out: Float64Array): void;
  jacobian(x: ArrayLike<number>, out: Float64Array): void;
  vjp(x: ArrayLike<number>, gy: ArrayLike<number>, gx: Float64Array, gw: Float64Array): void;
}
export function compileMlpF64(spec: NeuralSpec, w: Float64Array): MlpF64 {
  const { code, weightCount } = mlpJs(spec);
  if (w.length !== weightCount) throw new RangeError(`the network needs ${weightCount} weights, got ${w.length}`);
  // Built only from numbers and indices of our own description, never from user text.
  return new Function('w', `"use strict";\n${code}`)(w) as MlpF64;
}
