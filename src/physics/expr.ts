/**
 * The expression tree every backend is generated from.
 *
 * mathjs parses the user's text; we convert its node tree into this small, closed IR so that
 * (1) every construct a backend must support is listed in one place, (2) the WGSL (f32) and the
 * JavaScript (f64) right-hand sides are printed from the very same tree (STYLE.md §7), and
 * (3) symbolic derivatives (Jacobian, ∂f/∂t) cover min/max/abs, which mathjs.derivative refuses.
 */
import type { MathNode } from 'mathjs';
import { mathjs } from './mathjs.js';

const { parse } = mathjs;

/** A reference to a model symbol, resolved at compile time. */
export type SymbolRef =
  | { kind: 'state'; index: number; name: string }
  | { kind: 'param'; index: number; name: string }
  | { kind: 'time' }
  /** Output `index` of the model's neural network, evaluated at its input expressions. */
  | { kind: 'nn'; index: number }
  /** ∂(network output `out`)/∂(network input `in`): what the chain rule needs for Jacobians. */
  | { kind: 'nnjac'; out: number; in: number }
  /** A named intermediate (`expressions` section) before it is inlined by the model compiler. */
  | { kind: 'expr'; index: number; name: string }
  /** A shared subexpression hoisted into a local by common-subexpression elimination (emit.ts). */
  | { kind: 'temp'; index: number }
  /** Component `index` of a cotangent vector v supplied at run time (generated VJPs vᵀ∂f). */
  | { kind: 'adj'; index: number };

export type UnaryFn =
  | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'tanh' | 'sinh' | 'cosh'
  | 'sin' | 'cos' | 'tan' | 'atan' | 'asin' | 'acos';
export type BinaryFn = 'min' | 'max' | 'pow';
export type Comparison = '<' | '<=' | '>' | '>=';

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'sym'; ref: SymbolRef }
  | { k: 'neg'; a: Expr }
  | { k: 'add' | 'sub' | 'mul' | 'div'; a: Expr; b: Expr }
  | { k: 'fn1'; fn: UnaryFn; a: Expr }
  | { k: 'fn2'; fn: BinaryFn; a: Expr; b: Expr }
  /** `cmp(a, b) ? then : else` — piecewise terms (dosing windows, thresholds). */
  | { k: 'cond'; cmp: Comparison; a: Expr; b: Expr; then: Expr; else: Expr };

export const UNARY_FUNCTIONS: readonly UnaryFn[] = [
  'exp', 'log', 'sqrt', 'abs', 'sign', 'tanh', 'sinh', 'cosh', 'sin', 'cos', 'tan', 'atan', 'asin', 'acos',
];
const BINARY_FUNCTIONS: readonly BinaryFn[] = ['min', 'max', 'pow'];
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

/** Thrown for an expression the engine cannot compile; `symbol` names the offending piece. */
export class ExpressionError extends Error {
  constructor(message: string, readonly symbol?: string) {
    super(message);
  }
}

/** Largest finite f32 (2^128 − 2^104). */
const F32_MAX = 3.4028234663852886e38;

/** Parses mathjs text and resolves symbols with `resolve` (returns undefined for unknown names). */
export function parseExpression(text: string, resolve: (name: string) => SymbolRef | undefined): Expr {
  let node: MathNode;
  try {
    node = parse(text);
  } catch (err) {
    throw new ExpressionError(`cannot parse "${text}": ${(err as Error).message}`);
  }
  return fromMathjs(node, resolve);
}

function fromMathjs(node: MathNode, resolve: (name: string) => SymbolRef | undefined): Expr {
  const rec = (n: MathNode) => fromMathjs(n, resolve);
  const n = node as any;
  switch (node.type) {
    case 'ConstantNode': {
      if (typeof n.value !== 'number') throw new ExpressionError(`constant ${String(n.value)} is not a number`);
      if (!Number.isFinite(n.value)) throw new ExpressionError(`constant ${String(n.value)} is not finite`, String(n.value));
      // The GPU computes in f32: a larger literal would become Infinity there (f32Literal refuses it).
      if (Math.abs(n.value) > F32_MAX) {
        throw new ExpressionError(`the constant ${String(n.value)} overflows f32 (|x| ≤ 3.4e38), the number type of the GPU backend; rescale the model (e.g. other units)`);
      }
      return num(n.value);
    }
    case 'SymbolNode': {
      const name: string = n.name;
      const ref = resolve(name);
      if (ref) return { k: 'sym', ref };
      if (name in CONSTANTS) return num(CONSTANTS[name]!);
      throw new ExpressionError(`unknown symbol "${name}"`, name);
    }
    case 'ParenthesisNode':
      return rec(n.content);
    case 'OperatorNode': {
      const args: Expr[] = n.args.map(rec);
      if (args.length === 1) {
        if (n.op === '-') return { k: 'neg', a: args[0]! };
        if (n.op === '+') return args[0]!;
      } else if (args.length === 2) {
        const [a, b] = args as [Expr, Expr];
        switch (n.op) {
          case '+': return { k: 'add', a, b };
          case '-': return { k: 'sub', a, b };
          case '*': return { k: 'mul', a, b };
          case '/': return { k: 'div', a, b };
          case '^': return { k: 'fn2', fn: 'pow', a, b };
        }
      }
      throw new ExpressionError(`operator "${n.op}" is not supported (use + - * / ^, or a ? b : c with < <= > >=)`, n.op);
    }
    case 'FunctionNode': {
      const name: string = n.fn?.name ?? String(n.fn);
      const args: Expr[] = n.args.map(rec);
      if ((UNARY_FUNCTIONS as string[]).includes(name)) {
        if (args.length !== 1) throw new ExpressionError(`${name}() takes 1 argument, got ${args.length}`, name);
        return { k: 'fn1', fn: name as UnaryFn, a: args[0]! };
      }
      if ((BINARY_FUNCTIONS as string[]).includes(name)) {
        if (name === 'pow' && args.length !== 2) throw new ExpressionError(`pow() takes 2 arguments, got ${args.length}`, name);
        if (args.length < 2) throw new ExpressionError(`${name}() takes at least 2 arguments, got ${args.length}`, name);
        // min(a, b, c) = min(min(a, b), c)
        return args.slice(1).reduce((acc, b) => ({ k: 'fn2', fn: name as BinaryFn, a: acc, b }), args[0]!);
      }
      throw new ExpressionError(
        `unknown function "${name}" (supported: ${[...UNARY_FUNCTIONS, ...BINARY_FUNCTIONS].join(', ')})`, name);
    }
    case 'ConditionalNode': {
      const c = n.condition.type === 'ParenthesisNode' ? n.condition.content : n.condition;
      if (c.type !== 'OperatorNode' || !['<', '<=', '>', '>='].includes(c.op) || c.args.length !== 2) {
        throw new ExpressionError('a condition must be a comparison a < b, a <= b, a > b or a >= b');
      }
      return { k: 'cond', cmp: c.op, a: rec(c.args[0]), b: rec(c.args[1]), then: rec(n.trueExpr), else: rec(n.falseExpr) };
    }
    default:
      throw new ExpressionError(`${node.type} is not allowed in a model equation`);
  }
}

export const num = (v: number): Expr => ({ k: 'num', v });
const isNum = (e: Expr, v?: number) => e.k === 'num' && (v === undefined || e.v === v);

// Smart constructors: fold constants and drop 0/1 so derivatives stay small.
export function add(a: Expr, b: Expr): Expr {
  if (isNum(a, 0)) return b;
  if (isNum(b, 0)) return a;
  if (a.k === 'num' && b.k === 'num') return num(a.v + b.v);
  return { k: 'add', a, b };
}
export function sub(a: Expr, b: Expr): Expr {
  if (isNum(b, 0)) return a;
  if (isNum(a, 0)) return neg(b);
  if (a.k === 'num' && b.k === 'num') return num(a.v - b.v);
  return { k: 'sub', a, b };
}
export function mul(a: Expr, b: Expr): Expr {
  if (isNum(a, 0) || isNum(b, 0)) return num(0);
  if (isNum(a, 1)) return b;
  if (isNum(b, 1)) return a;
  if (a.k === 'num' && b.k === 'num') return num(a.v * b.v);
  return { k: 'mul', a, b };
}
export function div(a: Expr, b: Expr): Expr {
  if (isNum(a, 0)) return num(0);
  if (isNum(b, 1)) return a;
  return { k: 'div', a, b };
}
export function neg(a: Expr): Expr {
  if (a.k === 'num') return num(-a.v);
  if (a.k === 'neg') return a.a;
  return { k: 'neg', a };
}
const fn1 = (fn: UnaryFn, a: Expr): Expr => ({ k: 'fn1', fn, a });

function sameRef(r: SymbolRef, s: SymbolRef): boolean {
  if (r.kind !== s.kind) return false;
  if (r.kind === 'time') return true;
  if (r.kind === 'nnjac' || s.kind === 'nnjac') return false;
  return r.index === (s as { index: number }).index;
}

/**
 * ∂e/∂x, symbolically. min/max/abs/sign/cond differentiate piecewise (the derivative of the
 * branch taken), as automatic differentiation does; they are non-smooth only on a null set.
 * A neural output nn_j = g_j(u(t, y, p)) differentiates by the chain rule,
 * ∂nn_j/∂x = Σ_m ∂g_j/∂u_m · ∂u_m/∂x, with the network inputs `nnInputs` (u) given by the model;
 * with `nnInputs = 'fixed'` the network's outputs are held constant (a partial derivative), which
 * the adjoint combines with the network's own VJP.
 */
export function derivative(e: Expr, x: SymbolRef, nnInputs?: readonly Expr[] | 'fixed'): Expr {
  const d = (u: Expr) => derivative(u, x, nnInputs);
  switch (e.k) {
    case 'num': return num(0);
    case 'sym': {
      const r = e.ref;
      // Differentiating with respect to a network output: nn_j is then an independent variable.
      if (x.kind === 'nn') return num(r.kind === 'nn' && r.index === x.index ? 1 : 0);
      if (r.kind === 'nn') {
        if (nnInputs === 'fixed') return num(0);
        if (!nnInputs) throw new Error('derivative: a neural term needs its input expressions');
        return nnInputs.reduce<Expr>((acc, u, m) => add(acc, mul({ k: 'sym', ref: { kind: 'nnjac', out: r.index, in: m } }, d(u))), num(0));
      }
      // Second derivatives of the network are never needed (Jacobians and VJPs are first order).
      if (r.kind === 'nnjac') throw new Error('derivative: second derivatives of the neural term are not supported');
      if (r.kind === 'expr') throw new Error(`derivative: expression "${r.name}" was not inlined`);
      return num(sameRef(r, x) ? 1 : 0);
    }
    case 'neg': return neg(d(e.a));
    case 'add': return add(d(e.a), d(e.b));
    case 'sub': return sub(d(e.a), d(e.b));
    case 'mul': return add(mul(d(e.a), e.b), mul(e.a, d(e.b)));
    case 'div': {
      // (a/b)' = a'/b − a·b'/b²
      const da = d(e.a), db = d(e.b);
      return sub(div(da, e.b), div(mul(e.a, db), mul(e.b, e.b)));
    }
    case 'fn1': {
      const a = e.a, da = d(a);
      if (isNum(da, 0)) return num(0);
      switch (e.fn) {
        case 'exp': return mul(da, e);
        case 'log': return div(da, a);
        case 'sqrt': return div(da, mul(num(2), e));
        case 'abs': return mul(da, fn1('sign', a));
        case 'sign': return num(0);
        case 'tanh': return mul(da, sub(num(1), mul(e, e)));
        case 'sinh': return mul(da, fn1('cosh', a));
        case 'cosh': return mul(da, fn1('sinh', a));
        case 'sin': return mul(da, fn1('cos', a));
        case 'cos': return neg(mul(da, fn1('sin', a)));
        case 'tan': { const c = fn1('cos', a); return div(da, mul(c, c)); }
        case 'atan': return div(da, add(num(1), mul(a, a)));
        case 'asin': return div(da, fn1('sqrt', sub(num(1), mul(a, a))));
        case 'acos': return neg(div(da, fn1('sqrt', sub(num(1), mul(a, a)))));
      }
      break;
    }
    case 'fn2': {
      const da = d(e.a), db = d(e.b);
      if (e.fn === 'pow') {
        if (isNum(db, 0)) {
          // (a^c)' = c·a^(c−1)·a'
          if (isNum(da, 0)) return num(0);
          if (e.b.k === 'num') return mul(mul(num(e.b.v), powOf(e.a, num(e.b.v - 1))), da);
          return mul(mul(e.b, powOf(e.a, sub(e.b, num(1)))), da);
        }
        // (a^b)' = a^b·(b'·ln a + b·a'/a)
        return mul(e, add(mul(db, fn1('log', e.a)), div(mul(e.b, da), e.a)));
      }
      const cmp: Comparison = e.fn === 'max' ? '>=' : '<=';
      if (isNum(da, 0) && isNum(db, 0)) return num(0);
      return { k: 'cond', cmp, a: e.a, b: e.b, then: da, else: db };
    }
    case 'cond': {
      const dt = d(e.then), de = d(e.else);
      if (isNum(dt, 0) && isNum(de, 0)) return num(0);
      return { ...e, then: dt, else: de };
    }
  }
  throw new Error(`derivative: unhandled node ${(e as Expr).k}`);
}

function powOf(a: Expr, b: Expr): Expr {
  if (isNum(b, 0)) return num(1);
  if (isNum(b, 1)) return a;
  return { k: 'fn2', fn: 'pow', a, b };
}

/**
 * The value of `e` in f64, with each symbol's value from `value` (a plain tree walk: for the few
 * evaluations outside the integrators, such as initial values from parameters).
 */
export function evaluateExpr(e: Expr, value: (ref: SymbolRef) => number): number {
  const r = (u: Expr) => evaluateExpr(u, value);
  switch (e.k) {
    case 'num': return e.v;
    case 'sym': return value(e.ref);
    case 'neg': return -r(e.a);
    case 'add': return r(e.a) + r(e.b);
    case 'sub': return r(e.a) - r(e.b);
    case 'mul': return r(e.a) * r(e.b);
    case 'div': return r(e.a) / r(e.b);
    case 'fn1': return e.fn === 'sign' ? Math.sign(r(e.a)) : Math[e.fn](r(e.a));
    case 'fn2': return e.fn === 'pow' ? r(e.a) ** r(e.b) : Math[e.fn](r(e.a), r(e.b));
    case 'cond': {
      const a = r(e.a), b = r(e.b);
      const holds = e.cmp === '<' ? a < b : e.cmp === '<=' ? a <= b : e.cmp === '>' ? a > b : a >= b;
      return holds ? r(e.then) : r(e.else);
    }
  }
}

/** The names of the model symbols `e` reads (`t` for time). */
export function references(e: Expr, out = new Set<string>()): Set<string> {
  switch (e.k) {
    case 'num': break;
    case 'sym': out.add(refName(e.ref)); break;
    case 'neg': case 'fn1': references(e.a, out); break;
    case 'cond': references(e.a, out); references(e.b, out); references(e.then, out); references(e.else, out); break;
    default: references(e.a, out); references(e.b, out);
  }
  return out;
}

/** A readable name for a symbol, for messages and generated comments. */
export function refName(r: SymbolRef): string {
  switch (r.kind) {
    case 'time': return 't';
    case 'nn': return `nn[${r.index}]`;
    case 'nnjac': return `dnn[${r.out}]/du[${r.in}]`;
    case 'temp': return `_c${r.index}`;
    case 'adj': return `v[${r.index}]`;
    default: return r.name;
  }
}

/** Replaces every symbol for which `f` returns an expression (used to inline named intermediates). */
export function substitute(e: Expr, f: (ref: SymbolRef) => Expr | undefined): Expr {
  const r = (u: Expr) => substitute(u, f);
  switch (e.k) {
    case 'num': return e;
    case 'sym': return f(e.ref) ?? e;
    case 'neg': case 'fn1': return { ...e, a: r(e.a) };
    case 'cond': return { ...e, a: r(e.a), b: r(e.b), then: r(e.then), else: r(e.else) };
    default: return { ...e, a: r(e.a), b: r(e.b) };
  }
}

const PRINT_PRECEDENCE: Record<string, number> = { add: 1, sub: 1, mul: 2, div: 2, neg: 3, pow: 4 };
/** The expression in mathjs syntax with the user's names: error messages quote terms with it. */
export function print(e: Expr): string {
  const wrap = (u: Expr, min: number) => {
    const p = u.k === 'fn2' && u.fn === 'pow' ? PRINT_PRECEDENCE.pow! : (PRINT_PRECEDENCE[u.k] ?? 9);
    return p < min ? `(${print(u)})` : print(u);
  };
  switch (e.k) {
    case 'num': return String(e.v);
    case 'sym': return refName(e.ref);
    case 'neg': return `-${wrap(e.a, 3)}`;
    case 'add': return `${print(e.a)} + ${wrap(e.b, 1)}`;
    case 'sub': return `${print(e.a)} - ${wrap(e.b, 2)}`;
    case 'mul': return `${wrap(e.a, 2)}*${wrap(e.b, 3)}`;
    case 'div': return `${wrap(e.a, 2)}/${wrap(e.b, 3)}`;
    case 'fn1': return `${e.fn}(${print(e.a)})`;
    case 'fn2': return e.fn === 'pow' ? `${wrap(e.a, 5)}^${wrap(e.b, 5)}` : `${e.fn}(${print(e.a)}, ${print(e.b)})`;
    case 'cond': return `(${print(e.a)} ${e.cmp} ${print(e.b)} ? ${print(e.then)} : ${print(e.else)})`;
  }
}
