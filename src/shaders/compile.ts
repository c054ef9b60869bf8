/**
 * A model compiled for both backends from one expression tree: WGSL (f32) functions for the
 * kernels and JavaScript (f64) functions for the CPU reference (STYLE.md §7).
 */
import { symbolicJacobian, type Model } from '../physics/model.js';
import type { Expr, SymbolRef } from '../physics/expr.js';
import { emit } from './emit.js';

/** f(t, y, p) → dy, all Float64Array; the CPU path's right-hand side. */
export type RhsF64 = (t: number, y: Float64Array, p: Float64Array, dy: Float64Array) => void;

export interface ModelF64 {
  rhs: RhsF64;
  /** Row-major ∂f/∂y into J (length N²). */
  jacobian: RhsF64;
  /** ∂f/∂t into dT. */
  timeDerivative: RhsF64;
}

const jsName = (ref: SymbolRef) => (ref.kind === 'time' ? 't' : ref.kind === 'state' ? `y[${ref.index}]` : `p[${ref.index}]`);
const wgslName = jsName;

function jsFunction(outputs: Expr[], what: string): RhsF64 {
  const body = outputs.map((e, i) => `  out[${i}] = ${emit(e, 'js', jsName)};`).join('\n');
  // The generated source is built only from our own IR (numbers and indices), never user text.
  return new Function('t', 'y', 'p', 'out', `"use strict";\n// ${what}\n${body}\n`) as RhsF64;
}

/** Compiles the f64 JavaScript twins of the model's right-hand side and derivatives. */
export function compileF64(model: Model): ModelF64 {
  const { jacobian, timeDerivative } = symbolicJacobian(model);
  return {
    rhs: jsFunction(model.equations, `${model.name}: dy/dt`),
    jacobian: jsFunction(jacobian, `${model.name}: ∂f/∂y (row-major)`),
    timeDerivative: jsFunction(timeDerivative, `${model.name}: ∂f/∂t`),
  };
}

/** Sizes a WGSL kernel needs (arrays of length 0 are not allowed in WGSL). */
export function wgslSizes(model: Model) {
  return { N: model.states.length, P: Math.max(1, model.params.length) };
}

/**
 * WGSL functions `rhs`, `jac` (row-major N×N) and `dfdt`, each
 * `fn(t: f32, y: array<f32, N>, p: array<f32, P>) -> array<f32, …>`. Arrays are indexed only by
 * constants, so the compiler keeps them in registers (WEBGPU.md: loop-indexed private arrays are slow).
 */
export function emitModelWgsl(model: Model, withJacobian: boolean): string {
  const { N, P } = wgslSizes(model);
  const fn = (name: string, outputs: Expr[], doc: string) => {
    const lines = outputs.map((e, i) => `  r[${i}] = ${emit(e, 'wgsl', wgslName)};`);
    return `// ${doc}\nfn ${name}(t: f32, y: array<f32, ${N}>, p: array<f32, ${P}>) -> array<f32, ${outputs.length}> {\n` +
      `  var r: array<f32, ${outputs.length}>;\n${lines.join('\n')}\n  return r;\n}\n`;
  };
  let src = fn('rhs', model.equations, `${model.name}: dy/dt`);
  if (withJacobian) {
    const { jacobian, timeDerivative } = symbolicJacobian(model);
    src += fn('jac', jacobian, `${model.name}: ∂f/∂y, row-major`);
    src += fn('dfdt', timeDerivative, `${model.name}: ∂f/∂t`);
  }
  return src;
}
