/**
 * Prints an expression tree as WGSL (f32) or JavaScript (f64) source. Both targets are printed
 * from the same tree by the same function, so the CPU reference is the same model as the shader
 * (STYLE.md §7, TypeGPU's dualImpl).
 */
import type { Expr, SymbolRef } from '../physics/expr.js';

export type Target = 'wgsl' | 'js';

/** How a target names the model's symbols, e.g. `y[0]`, `p[3]`, `t`. */
export type SymbolNamer = (ref: SymbolRef) => string;

/**
 * The shortest decimal that rounds to the same f32 as `x`, written as a WGSL float literal.
 * Exact f32 literals keep tableau coefficients and model constants identical across compilers
 * (DESIGN.md, Numerics).
 */
export function f32Literal(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`${x} has no WGSL literal`);
  const target = Math.fround(x);
  if (!Number.isFinite(target)) throw new RangeError(`${x} overflows f32 (|x| > 3.4e38); rescale the model`);
  let s = String(target);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = target.toPrecision(digits);
    if (Math.fround(Number(candidate)) === target) { s = candidate; break; }
  }
  s = s.replace('e+', 'e');
  if (!/[.e]/.test(s)) s += '.0';
  return s.startsWith('-') ? `(${s})` : s;
}

/** An f64 literal that round-trips exactly. */
export function f64Literal(x: number): string {
  const s = String(x);
  return x < 0 || Object.is(x, -0) ? `(${s})` : s;
}

/**
 * WGSL for each function of the model language. `ct_*` are ours (wgsl/math.wgsl), used where WGSL
 * allows a loose builtin (up to 4096 ULP for atan/asin/acos/tan) or leaves a case undefined (pow of
 * a negative base); test/functions.test.ts measures each against f64.
 */
const WGSL_FN: Record<string, string> = {
  exp: 'exp', log: 'ct_log', sqrt: 'sqrt', abs: 'abs', sign: 'sign', tanh: 'ct_tanh', sinh: 'ct_sinh', cosh: 'ct_cosh',
  sin: 'sin', cos: 'cos', tan: 'ct_tan', atan: 'ct_atan', asin: 'ct_asin', acos: 'ct_acos', min: 'min', max: 'max', pow: 'ct_pow',
};
const JS_FN: Record<string, string> = {
  exp: 'Math.exp', log: 'Math.log', sqrt: 'Math.sqrt', abs: 'Math.abs', sign: 'Math.sign', tanh: 'Math.tanh',
  sinh: 'Math.sinh', cosh: 'Math.cosh', sin: 'Math.sin', cos: 'Math.cos', tan: 'Math.tan', atan: 'Math.atan',
  asin: 'Math.asin', acos: 'Math.acos', min: 'Math.min', max: 'Math.max', pow: 'Math.pow',
};

/** Largest integer exponent expanded into multiplications (x^3 → x*x*x): exact, faster, and defined for x < 0. */
const MAX_EXPANDED_POWER = 4;

export function emit(e: Expr, target: Target, name: SymbolNamer): string {
  const r = (u: Expr) => emit(u, target, name);
  const fns = target === 'wgsl' ? WGSL_FN : JS_FN;
  switch (e.k) {
    case 'num': return target === 'wgsl' ? f32Literal(e.v) : f64Literal(e.v);
    case 'sym': return name(e.ref);
    case 'neg': return `(-${r(e.a)})`;
    case 'add': return `(${r(e.a)} + ${r(e.b)})`;
    case 'sub': return `(${r(e.a)} - ${r(e.b)})`;
    case 'mul': return `(${r(e.a)} * ${r(e.b)})`;
    case 'div': return `(${r(e.a)} / ${r(e.b)})`;
    case 'fn1':
      return `${fns[e.fn]}(${r(e.a)})`;
    case 'fn2': {
      if (e.fn === 'pow' && e.b.k === 'num') {
        const n = e.b.v;
        if (Number.isInteger(n) && Math.abs(n) <= MAX_EXPANDED_POWER) {
          if (n === 0) return target === 'wgsl' ? '1.0' : '1';
          const base = r(e.a);
          const product = `(${Array(Math.abs(n)).fill(base).join(' * ')})`;
          return n > 0 ? product : `(${target === 'wgsl' ? '1.0' : '1'} / ${product})`;
        }
        if (n === 0.5) return `${fns.sqrt}(${r(e.a)})`;
      }
      return `${fns[e.fn]}(${r(e.a)}, ${r(e.b)})`;
    }
    case 'cond': {
      const test = `(${r(e.a)} ${e.cmp} ${r(e.b)})`;
      return target === 'wgsl'
        ? `select(${r(e.else)}, ${r(e.then)}, ${test})`
        : `(${test} ? ${r(e.then)} : ${r(e.else)})`;
    }
  }
}

/**
 * Common-subexpression elimination over a list of outputs: every non-trivial subtree that occurs
 * more than once (across all outputs) is computed once into a local `_cK`. Symbolic derivatives
 * repeat the inlined named expressions many times (∂/∂p of a Hill term contains the term itself),
 * and the JS JIT does not merge them. Returns the locals in dependency order and the outputs
 * rewritten to use them.
 */
export function eliminateCommonSubexpressions(outputs: Expr[]): { locals: Expr[]; outputs: Expr[] } {
  const keys = new Map<Expr, string>();
  const key = (e: Expr): string => {
    let k = keys.get(e);
    if (k !== undefined) return k;
    switch (e.k) {
      case 'num': k = `n${e.v}`; break;
      case 'sym': k = `s${JSON.stringify(e.ref)}`; break;
      case 'neg': k = `(-${key(e.a)})`; break;
      case 'fn1': k = `${e.fn}(${key(e.a)})`; break;
      case 'fn2': k = `${e.fn}(${key(e.a)},${key(e.b)})`; break;
      case 'cond': k = `?(${key(e.a)}${e.cmp}${key(e.b)},${key(e.then)},${key(e.else)})`; break;
      default: k = `${e.k}(${key(e.a)},${key(e.b)})`;
    }
    keys.set(e, k);
    return k;
  };
  const count = new Map<string, number>();
  const visit = (e: Expr) => {
    if (e.k === 'num' || e.k === 'sym') return;
    const k = key(e);
    const n = (count.get(k) ?? 0) + 1;
    count.set(k, n);
    if (n > 1) return; // its children were counted the first time
    switch (e.k) {
      case 'neg': case 'fn1': visit(e.a); break;
      case 'cond': visit(e.a); visit(e.b); visit(e.then); visit(e.else); break;
      default: visit(e.a); visit(e.b);
    }
  };
  outputs.forEach(visit);
  const locals: Expr[] = [];
  const temp = new Map<string, Expr>();
  const rewrite = (e: Expr): Expr => {
    if (e.k === 'num' || e.k === 'sym') return e;
    const k = key(e);
    const known = temp.get(k);
    if (known) return known;
    let r: Expr;
    switch (e.k) {
      case 'neg': case 'fn1': r = { ...e, a: rewrite(e.a) }; break;
      case 'cond': r = { ...e, a: rewrite(e.a), b: rewrite(e.b), then: rewrite(e.then), else: rewrite(e.else) }; break;
      default: r = { ...e, a: rewrite(e.a), b: rewrite(e.b) };
    }
    if ((count.get(k) ?? 0) < 2) return r;
    const t: Expr = { k: 'sym', ref: { kind: 'temp', index: locals.length } };
    locals.push(r);
    temp.set(k, t);
    return t;
  };
  return { locals, outputs: outputs.map(rewrite) };
}
