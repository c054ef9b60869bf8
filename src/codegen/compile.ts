/**
 * A model compiled for both backends from one expression tree: WGSL (f32) functions for the
 * kernels and JavaScript (f64) functions for the CPU reference (STYLE.md §7).
 */
import { symbolicJacobian, type Model } from '../physics/model.js';
import { add, derivative, mul, num, references, type Expr, type SymbolRef } from '../physics/expr.js';
import { initialWeights, weightLayout, layerSizes } from '../physics/neural.js';
import { eliminateCommonSubexpressions, emit } from './emit.js';
import { compileMlpF64, mlpWgsl } from './neural.js';

/** f(t, y, p) → dy, all Float64Array; the CPU path's right-hand side. */
export type RhsF64 = (t: number, y: Float64Array, p: Float64Array, dy: Float64Array) => void;

export interface ModelF64 {
  rhs: RhsF64;
  /** Row-major ∂f/∂y into J (length N²). */
  jacobian: RhsF64;
  /** ∂f/∂t into dT. */
  timeDerivative: RhsF64;
  /** The model's projection y ← P(t, y, p) into `out`, when it has one. */
  project?: RhsF64;
}

function namer(nIn: number) {
  return (ref: SymbolRef): string => {
    switch (ref.kind) {
      case 'time': return 't';
      case 'state': return `y[${ref.index}]`;
      case 'param': return `p[${ref.index}]`;
      case 'nn': return `nn[${ref.index}]`;
      case 'nnjac': return `nnJ[${ref.out * nIn + ref.in}]`;
      case 'expr': throw new Error(`internal: expression "${ref.name}" was not inlined`);
      case 'temp': return `_c${ref.index}`;
      case 'adj': return `v[${ref.index}]`;
    }
  };
}

/** True when any of the expressions reads the neural term (nn or its Jacobian). */
const readsNeural = (outputs: Expr[]) => outputs.some((e) => [...references(e)].some((n) => n.startsWith('nn[') || n.startsWith('dnn[')));

/** Number of weights the model's neural term needs (0 without one). */
export const neuralWeightCount = (model: Model) => (model.neural ? weightLayout(layerSizes(model.neural)).total : 0);

/** The model's default neural weights (seeded Glorot init), or an empty vector. */
export const defaultWeights = (model: Model) => (model.neural ? initialWeights(model.neural) : new Float64Array(0));

/**
 * Compiles the f64 JavaScript twins of the model's right-hand side and derivatives. With a neural
 * term, `weights` is θ (default: the seeded initial weights); the functions read it live, so a
 * training loop may update it in place.
 */
export function compileF64(model: Model, weights: Float64Array = defaultWeights(model)): ModelF64 {
  const { jacobian, timeDerivative } = symbolicJacobian(model);
  const fn = jsBuilder(model, weights);
  return {
    rhs: fn(model.equations, `${model.name}: dy/dt`, false),
    jacobian: fn(jacobian, `${model.name}: ∂f/∂y (row-major)`, true),
    timeDerivative: fn(timeDerivative, `${model.name}: ∂f/∂t`, true),
    project: model.projection ? fn(model.projection, `${model.name}: projection after a step`, false) : undefined,
  };
}

/**
 * Compiles lists of expressions of (t, y, p) into `(t, y, p, out) => void` functions that share one
 * instance of the network (bound to `weights`, read live) and its scratch arrays.
 */
function jsBuilder(model: Model, weights: Float64Array, v: Float64Array = new Float64Array(0)) {
  const spec = model.neural;
  const nIn = spec?.inputs.length ?? 0, nOut = spec?.outputs.length ?? 0;
  const name = namer(nIn);
  const mlp = spec ? compileMlpF64(spec, weights) : undefined;
  const nnIn = new Float64Array(nIn), nn = new Float64Array(nOut), nnJ = new Float64Array(nIn * nOut);
  const prelude = (withJacobian: boolean, outputs: Expr[]) => (spec && readsNeural(outputs)
    ? [...spec.inputs.map((u, m) => `  nnIn[${m}] = ${emit(u, 'js', name)};`), '  mlp.forward(nnIn, nn);',
      ...(withJacobian ? ['  mlp.jacobian(nnIn, nnJ);'] : [])].join('\n')
    : '');
  return (outputs: Expr[], what: string, withJacobian: boolean): RhsF64 => {
    const cse = eliminateCommonSubexpressions(outputs);
    const body = [
      ...cse.locals.map((e, i) => `  const _c${i} = ${emit(e, 'js', name)};`),
      ...cse.outputs.map((e, i) => `  out[${i}] = ${emit(e, 'js', name)};`),
    ].join('\n');
    // The generated source is built only from our own IR (numbers and indices), never user text.
    return new Function('mlp', 'nnIn', 'nn', 'nnJ', 'v', `"use strict";\n// ${what}\nreturn function (t, y, p, out) {\n${prelude(withJacobian, outputs)}\n${body}\n};`)(mlp, nnIn, nn, nnJ, v) as RhsF64;
  };
}

/** One expression of (t, y, p) as an f64 function (observables, conserved quantities, reports). */
export function compileExprF64(model: Model, e: Expr): (t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number {
  if (readsNeural([e])) throw new Error('compileExprF64: the expression reads the neural term; evaluate it through compileF64');
  const name = namer(model.neural?.inputs.length ?? 0);
  return new Function('t', 'y', 'p', `"use strict";\nreturn ${emit(e, 'js', name)};`) as (t: number, y: ArrayLike<number>, p: ArrayLike<number>) => number;
}

/** Sizes a WGSL kernel needs (arrays of length 0 are not allowed in WGSL). */
export function wgslSizes(model: Model) {
  return { N: model.states.length, P: Math.max(1, model.params.length) };
}

/**
 * WGSL functions `rhs`, `jac` (row-major N×N) and `dfdt`, each
 * `fn(t: f32, y: array<f32, N>, p: array<f32, P>) -> array<f32, …>`. Arrays are indexed only by
 * constants, so the compiler keeps them in registers (WEBGPU.md: loop-indexed private arrays are slow).
 * With a neural term, also the MLP (`nn_forward`, `nn_jacobian`), reading its weights from `nn_w`
 * (declared by the kernel: src/codegen/programs.ts).
 */
export function emitModelWgsl(model: Model, withJacobian: boolean, withNetworkVjp = false, networkLooped = false): string {
  const { N, P } = wgslSizes(model);
  const spec = model.neural;
  const nIn = spec?.inputs.length ?? 0;
  const name = namer(nIn);
  const prelude = (jac: boolean, outputs: Expr[]) => {
    if (!spec || !readsNeural(outputs)) return '';
    const x = `array<f32, ${nIn}>(${spec.inputs.map((u) => emit(u, 'wgsl', name)).join(', ')})`;
    return `  let nn_in = ${x};\n  let nn = nn_forward(nn_in);\n${jac ? '  let nnJ = nn_jacobian(nn_in);\n' : ''}`;
  };
  const fn = (fname: string, outputs: Expr[], doc: string, jac: boolean) => {
    const lines = outputs.map((e, i) => `  r[${i}] = ${emit(e, 'wgsl', name)};`);
    return `// ${doc}\nfn ${fname}(t: f32, y: array<f32, ${N}>, p: array<f32, ${P}>) -> array<f32, ${outputs.length}> {\n` +
      `${prelude(jac, outputs)}  var r: array<f32, ${outputs.length}>;\n${lines.join('\n')}\n  return r;\n}\n`;
  };
  let src = '';
  if (spec) {
    // The adjoint sweep's VJP also sums θ̄ into the private `th` (declared by the sweep), at constant
    // indices unless the network is looped (src/codegen/adjoint.ts).
    const accumulate = withNetworkVjp ? { add: (k: string, v: string) => `th[${k}] += ${v};`, constant: !networkLooped } : undefined;
    src += `${mlpWgsl(spec, { looped: networkLooped, accumulate }).code}\n`;
  }
  src += fn('rhs', model.equations, `${model.name}: dy/dt`, false);
  if (withJacobian) {
    const { jacobian, timeDerivative } = symbolicJacobian(model);
    src += fn('jac', jacobian, `${model.name}: ∂f/∂y, row-major`, true);
    src += fn('dfdt', timeDerivative, `${model.name}: ∂f/∂t`, true);
  }
  if (model.projection) src += fn('project', model.projection, `${model.name}: projection after a step`, false);
  return src;
}

/**
 * f64 functions the discrete adjoint needs (src/training/adjoint.ts), all from the same symbolic
 * tree: vector–Jacobian products of f (the network's own part through its VJP), and for the Rosenbrock methods the
 * contractions ∇_{y,p} Σ_ab J̄_ab J_ab(t, y, p) and ∇_{y,p} Σ_a w_a ∂f_a/∂t (second derivatives of
 * the model). The latter are unavailable through a neural term (its second derivatives are not
 * generated); `secondOrder` is then undefined.
 */
export interface SensitivityF64 {
  /**
   * One VJP of f with the network held fixed: set `v`, call `fn(t, y, p, out)`; out holds vᵀ∂f/∂y
   * (N), vᵀ∂f/∂p (P), ḡ = (∂f/∂nn)ᵀv (n_out) and the network inputs u (n_in). The network's own
   * part comes from its VJP (cheaper than its Jacobian), chained through `inputVjp`.
   */
  vjp: { v: Float64Array; fn: RhsF64; length: number };
  /** With `v` = ū: out holds ūᵀ∂u/∂y (N) and ūᵀ∂u/∂p (P). */
  inputVjp: { v: Float64Array; fn: RhsF64; length: number };
  secondOrder?: {
    /** With `v` = J̄ (row-major N×N): out holds Σ_ab J̄_ab ∂J_ab/∂y (N), then ∂/∂p (P). */
    jacobianContract: { v: Float64Array; fn: RhsF64 };
    /** With `v` = w (N): the same for Σ_a w_a ∂f_a/∂t. */
    timeDerivativeContract: { v: Float64Array; fn: RhsF64 };
  };
}

/**
 * The expressions of one VJP of f with the network held fixed, with v as `adj` symbols:
 * `vf` = [vᵀ∂f/∂y (N), vᵀ∂f/∂p (P), ḡ = (∂f/∂nn)ᵀv (n_out), the network inputs u (n_in)] and
 * `vIn` = [ūᵀ∂u/∂y (N), ūᵀ∂u/∂p (P)] (the chain through the inputs, ū as `adj`). Printed as
 * straight-line code over the nonzero partials for both backends.
 */
function sensitivityExprs(model: Model): { vf: Expr[]; vIn: Expr[]; nIn: number; nOut: number } {
  const u = model.neural?.inputs;
  const paramRefs = model.params.map((q, i) => ({ kind: 'param' as const, index: i, name: q.name }));
  const stateRefs = model.states.map((s, i) => ({ kind: 'state' as const, index: i, name: s.name }));
  const fixed = u ? 'fixed' as const : undefined;
  const nIn = u?.length ?? 0, nOut = model.neural?.outputs.length ?? 0;
  const adj = (i: number): Expr => ({ k: 'sym', ref: { kind: 'adj', index: i } });
  const vContract = (rows: Expr[], d: (e: Expr) => Expr) => rows.reduce<Expr>((acc, e, a) => add(acc, mul(adj(a), d(e))), num(0));
  const vf: Expr[] = [
    ...stateRefs.map((r) => vContract(model.equations, (f) => derivative(f, r, fixed))),
    ...paramRefs.map((r) => vContract(model.equations, (f) => derivative(f, r, fixed))),
    ...Array.from({ length: nOut }, (_, j) => vContract(model.equations, (f) => derivative(f, { kind: 'nn', index: j }, fixed))),
    ...(u ?? []),
  ];
  const vIn: Expr[] = [
    ...stateRefs.map((r) => vContract(u ?? [], (e) => derivative(e, r))),
    ...paramRefs.map((r) => vContract(u ?? [], (e) => derivative(e, r))),
  ];
  return { vf, vIn, nIn, nOut };
}

/**
 * WGSL twins of `SensitivityF64.vjp` / `inputVjp` for the GPU adjoint:
 * `fn vjp_f(t, y, p, v: array<f32, N>) -> array<f32, N + P + n_out + n_in>` and, with a network,
 * `fn vjp_u(t, y, p, v: array<f32, n_in>) -> array<f32, N + P>`.
 */
export function emitSensitivityWgsl(model: Model): { code: string; vfLength: number } {
  const { N, P } = wgslSizes(model);
  const { vf, vIn, nIn } = sensitivityExprs(model);
  const name = namer(nIn);
  const fn = (fname: string, outputs: Expr[], vLen: number, doc: string) => {
    const cse = eliminateCommonSubexpressions(outputs);
    const nn = model.neural && readsNeural(outputs)
      ? `  let nn = nn_forward(array<f32, ${nIn}>(${model.neural.inputs.map((e) => emit(e, 'wgsl', name)).join(', ')}));\n`
      : '';
    return `// ${doc}\nfn ${fname}(t: f32, y: array<f32, ${N}>, p: array<f32, ${P}>, v: array<f32, ${vLen}>) -> array<f32, ${outputs.length}> {\n${nn}` +
      cse.locals.map((e, i) => `  let _c${i} = ${emit(e, 'wgsl', name)};\n`).join('') +
      `  var r: array<f32, ${outputs.length}>;\n${cse.outputs.map((e, i) => `  r[${i}] = ${emit(e, 'wgsl', name)};`).join('\n')}\n  return r;\n}\n`;
  };
  let code = fn('vjp_f', vf, N, `${model.name}: vᵀ∂f/∂(y, p), (∂f/∂nn)ᵀv and the network inputs (network fixed)`);
  if (model.neural) code += fn('vjp_u', vIn, nIn, `${model.name}: ūᵀ∂u/∂(y, p) for the network inputs u`);
  return { code, vfLength: vf.length };
}

/**
 * The second-derivative contractions of the Rosenbrock adjoint as expressions, the weights as `adj`
 * symbols v[…]: `jacobian` = [∂/∂y_k Σ_ab v_ab J_ab (N), ∂/∂p_q Σ_ab v_ab J_ab (P)] with v row-major
 * N×N, and `timeDerivative` the same for Σ_a v_a ∂f_a/∂t. W = I/(hγ) − J and the ∂f/∂t term of a
 * Rosenbrock step depend on (y_n, p), so their cotangents J̄, w̄ flow back through these (Sandu 2008).
 * Throws through a neural term (its second derivatives are not generated).
 */
function secondOrderExprs(model: Model): { jacobian: Expr[]; timeDerivative: Expr[] } {
  const u = model.neural?.inputs;
  const refs: SymbolRef[] = [
    ...model.states.map((s, i) => ({ kind: 'state' as const, index: i, name: s.name })),
    ...model.params.map((q, i) => ({ kind: 'param' as const, index: i, name: q.name })),
  ];
  const adj = (i: number): Expr => ({ k: 'sym', ref: { kind: 'adj', index: i } });
  const contract = (entries: Expr[]) => refs.map((r) => entries.reduce<Expr>((acc, e, ab) => add(acc, mul(adj(ab), derivative(e, r, u))), num(0)));
  const { jacobian, timeDerivative } = symbolicJacobian(model);
  return { jacobian: contract(jacobian), timeDerivative: contract(timeDerivative) };
}

/**
 * WGSL twins of `SensitivityF64.secondOrder` for the GPU Rosenbrock adjoint:
 * `fn jac_contract(t, y, p, v: array<f32, N²>) -> array<f32, N + P>` and
 * `fn dfdt_contract(t, y, p, v: array<f32, N>) -> array<f32, N + P>` (states first, then parameters;
 * P is at least 1, the padding 0).
 */
export function emitSecondOrderWgsl(model: Model): string {
  const { N, P } = wgslSizes(model);
  const { jacobian, timeDerivative } = secondOrderExprs(model);
  const name = namer(0);
  const fn = (fname: string, outputs: Expr[], vLen: number, doc: string) => {
    const cse = eliminateCommonSubexpressions(outputs);
    return `// ${doc}\nfn ${fname}(t: f32, y: array<f32, ${N}>, p: array<f32, ${P}>, v: array<f32, ${vLen}>) -> array<f32, ${N + P}> {\n` +
      cse.locals.map((e, i) => `  let _c${i} = ${emit(e, 'wgsl', name)};\n`).join('') +
      `  var r: array<f32, ${N + P}>;\n${cse.outputs.map((e, i) => `  r[${i}] = ${emit(e, 'wgsl', name)};`).join('\n')}\n  return r;\n}\n`;
  };
  return fn('jac_contract', jacobian, N * N, `${model.name}: ∇_(y,p) Σ_ab v_ab ∂f_a/∂y_b`)
    + fn('dfdt_contract', timeDerivative, N, `${model.name}: ∇_(y,p) Σ_a v_a ∂f_a/∂t`);
}

export function compileSensitivityF64(model: Model, weights: Float64Array = defaultWeights(model), secondOrder = true): SensitivityF64 {
  const { vf, vIn, nIn } = sensitivityExprs(model);
  const N = model.states.length;
  const v1 = new Float64Array(N), v2 = new Float64Array(nIn);
  const out: SensitivityF64 = {
    vjp: { v: v1, fn: jsBuilder(model, weights, v1)(vf, `${model.name}: vᵀ∂f (network fixed)`, false), length: vf.length },
    inputVjp: { v: v2, fn: jsBuilder(model, weights, v2)(vIn, `${model.name}: ūᵀ∂u`, false), length: vIn.length },
  };
  if (!secondOrder) return out;
  try {
    const { jacobian, timeDerivative } = secondOrderExprs(model);
    // The same shape as `vjp`: set v, call fn(t, y, p, out).
    const build = (outputs: Expr[], len: number, what: string) => {
      const v = new Float64Array(len);
      return { v, fn: jsBuilder(model, weights, v)(outputs, what, false) };
    };
    out.secondOrder = {
      jacobianContract: build(jacobian, N * N, `${model.name}: ∇ Σ J̄_ab J_ab`),
      timeDerivativeContract: build(timeDerivative, N, `${model.name}: ∇ Σ w_a ∂f_a/∂t`),
    };
  } catch (err) {
    if (!/second derivatives of the neural term/.test((err as Error).message)) throw err;
  }
  return out;
}
