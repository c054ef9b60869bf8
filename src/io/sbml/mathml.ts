/**
 * Content MathML (the SBML subset, SBML L3V2 spec §3.4) → an expression in our model language
 * (mathjs syntax restricted to what src/physics/expr.ts compiles). Operand order is the element
 * order. Lowerings, so that every backend needs nothing new:
 *   log (no logbase) = log10 (MathML's default), log_b x = ln x / ln b, ln = natural log,
 *   root_n x = x^(1/n), sec/csc/cot and the hyperbolic and inverse forms through exp/log/sqrt,
 *   piecewise → nested `c ? a : b`, with and/or/xor/not/eq/neq folded into nested comparisons
 *   (the engine's conditional takes one comparison), n-ary min/max → nested.
 * Function definitions (lambda) are inlined at each call. Anything else (delay, rateOf, factorial,
 * floor, ceiling, …) is refused with the element and its line.
 */
import type { XmlElement } from './xml.js';

export interface MathContext {
  /** The model name of an SBML id used in math (ids clashing with our names are renamed). */
  name(id: string, el: XmlElement): string;
  /** Function definitions by id: argument names and the body element. */
  functions: Map<string, { args: string[]; body: XmlElement }>;
  fail(message: string, el: XmlElement): never;
}

/** A condition, before it is folded into comparisons. */
type Cond =
  | { k: 'cmp'; op: '<' | '<=' | '>' | '>='; a: string; b: string }
  | { k: 'eq' | 'neq'; a: string; b: string }
  | { k: 'and' | 'or' | 'xor'; xs: Cond[] }
  | { k: 'not'; x: Cond }
  | { k: 'const'; v: boolean };

const CMP: Record<string, '<' | '<=' | '>' | '>='> = { lt: '<', leq: '<=', gt: '>', geq: '>=' };
const SIMPLE_UNARY: Record<string, string> = {
  abs: 'abs', exp: 'exp', ln: 'log', sin: 'sin', cos: 'cos', tan: 'tan', sinh: 'sinh', cosh: 'cosh', tanh: 'tanh',
  arcsin: 'asin', arccos: 'acos', arctan: 'atan',
};
/** Functions of one argument written through the supported ones (x is the argument's text). */
const DERIVED_UNARY: Record<string, (x: string) => string> = {
  sec: (x) => `(1 / cos(${x}))`, csc: (x) => `(1 / sin(${x}))`, cot: (x) => `(cos(${x}) / sin(${x}))`,
  sech: (x) => `(1 / cosh(${x}))`, csch: (x) => `(1 / sinh(${x}))`, coth: (x) => `(cosh(${x}) / sinh(${x}))`,
  arcsec: (x) => `acos(1 / (${x}))`, arccsc: (x) => `asin(1 / (${x}))`, arccot: (x) => `atan(1 / (${x}))`,
  arcsinh: (x) => `log((${x}) + sqrt((${x})^2 + 1))`, arccosh: (x) => `log((${x}) + sqrt((${x})^2 - 1))`,
  arctanh: (x) => `(0.5 * log((1 + (${x})) / (1 - (${x}))))`,
  arcsech: (x) => `log((1 + sqrt(1 - (${x})^2)) / (${x}))`, arccsch: (x) => `log(1 / (${x}) + sqrt(1 / (${x})^2 + 1))`,
  arccoth: (x) => `(0.5 * log(((${x}) + 1) / ((${x}) - 1)))`,
};
const REFUSED = new Set(['factorial', 'floor', 'ceiling', 'rem', 'quotient', 'implies']);

/** A number as text our parser reads back exactly (negative numbers parenthesised). */
const numText = (x: number) => (x < 0 || Object.is(x, -0) ? `(${x})` : String(x));

/** The value of a <cn> element (types integer, real, double, e-notation, rational). */
export function cnValue(el: XmlElement, ctx: Pick<MathContext, 'fail'>): number {
  const type = el.attrs.type ?? 'real';
  const parts = el.textParts.map((s) => s.trim());
  const parse = (s: string) => {
    const x = Number(s);
    if (s === '' || !Number.isFinite(x)) ctx.fail(`<cn> "${s}" is not a finite number`, el);
    return x;
  };
  switch (type) {
    case 'integer': case 'real': case 'double': {
      if (parts.length !== 1) ctx.fail(`<cn type="${type}"> holds one number`, el);
      return parse(parts[0]!);
    }
    case 'e-notation': {
      if (parts.length !== 2) ctx.fail('<cn type="e-notation"> holds a mantissa, <sep/> and an exponent', el);
      return parse(`${parts[0]}e${parts[1]}`);
    }
    case 'rational': {
      if (parts.length !== 2) ctx.fail('<cn type="rational"> holds a numerator, <sep/> and a denominator', el);
      return parse(parts[0]!) / parse(parts[1]!);
    }
    default:
      return ctx.fail(`<cn type="${type}"> is not an SBML number type (integer, real, double, e-notation, rational)`, el);
  }
}

/**
 * The expression of a <math> element (or of any MathML element inside one).
 * `bound`: lambda variables in scope, name → the text substituted for it.
 */
export function mathToText(el: XmlElement, ctx: MathContext, bound: Map<string, string> = new Map()): string {
  if (el.name === 'math') {
    const kids = el.children.filter((c) => c.name !== 'annotation' && c.name !== 'annotation-xml');
    if (kids.length !== 1) ctx.fail(`<math> must hold exactly one expression (found ${kids.length})`, el);
    return mathToText(kids[0]!, ctx, bound);
  }
  const rec = (e: XmlElement) => mathToText(e, ctx, bound);
  switch (el.name) {
    case 'cn': return numText(cnValue(el, ctx));
    case 'ci': {
      const id = el.text.trim();
      if (bound.has(id)) return `(${bound.get(id)!})`;
      return ctx.name(id, el);
    }
    case 'csymbol': {
      const url = el.attrs.definitionURL ?? '';
      if (url.endsWith('/time')) return 't';
      if (url.endsWith('/avogadro')) return '6.02214076e23';
      return ctx.fail(`<csymbol definitionURL="${url}">: ${url.endsWith('/delay') ? 'delays are' : url.endsWith('/rateOf') ? 'rateOf is' : 'this symbol is'} not supported`, el);
    }
    case 'exponentiale': return 'e';
    case 'pi': return 'pi';
    case 'true': case 'false':
      return ctx.fail(`<${el.name}/> where a number is expected (a condition belongs in a <piece>)`, el);
    case 'infinity': case 'notanumber':
      return ctx.fail(`<${el.name}/>: the engine computes with finite numbers only`, el);
    case 'piecewise': return piecewise(el, ctx, bound);
    case 'semantics': {
      const first = el.children[0];
      if (!first) ctx.fail('<semantics> without an expression', el);
      return rec(first!);
    }
    case 'apply': return apply(el, ctx, bound);
    default:
      return ctx.fail(`<${el.name}> is not supported in SBML math`, el);
  }
}

function apply(el: XmlElement, ctx: MathContext, bound: Map<string, string>): string {
  const [op, ...rest] = el.children;
  if (!op) return ctx.fail('<apply> without an operator', el);
  const qualifiers = new Set(['degree', 'logbase', 'bvar']);
  const args = rest.filter((c) => !qualifiers.has(c.name));
  const rec = (e: XmlElement) => mathToText(e, ctx, bound);
  // <apply> around a lone expression (e.g. <apply><apply>…</apply></apply>, as some exporters
  // write): the expression itself, as libSBML reads it.
  if (args.length === 0 && (['apply', 'cn', 'piecewise'].includes(op.name) || (op.name === 'ci' && !ctx.functions.has(op.text.trim())))) return rec(op);
  const xs = () => args.map(rec);
  const arity = (n: number) => { if (args.length !== n) ctx.fail(`<${op.name}> takes ${n} argument${n === 1 ? '' : 's'} (found ${args.length})`, el); };
  switch (op.name) {
    case 'plus': return args.length === 0 ? '0' : `(${xs().join(' + ')})`;
    case 'times': return args.length === 0 ? '1' : `(${xs().join(' * ')})`;
    case 'minus':
      if (args.length === 1) return `(-${rec(args[0]!)})`;
      arity(2);
      return `(${rec(args[0]!)} - ${rec(args[1]!)})`;
    case 'divide': arity(2); return `(${rec(args[0]!)} / ${rec(args[1]!)})`;
    case 'power': arity(2); return `(${rec(args[0]!)} ^ ${rec(args[1]!)})`;
    case 'root': {
      arity(1);
      const degree = rest.find((c) => c.name === 'degree');
      if (!degree) return `sqrt(${rec(args[0]!)})`;
      return `(${rec(args[0]!)} ^ (1 / ${mathToText(onlyChild(degree, ctx), ctx, bound)}))`;
    }
    case 'log': {
      arity(1);
      const base = rest.find((c) => c.name === 'logbase');
      const b = base ? mathToText(onlyChild(base, ctx), ctx, bound) : '10';
      return `(log(${rec(args[0]!)}) / log(${b}))`;
    }
    case 'min': case 'max': {
      if (args.length === 0) ctx.fail(`<${op.name}> needs at least one argument`, el);
      return xs().reduce((a, b) => `${op.name}(${a}, ${b})`);
    }
    case 'csymbol': {
      const url = op.attrs.definitionURL ?? '';
      return ctx.fail(`<csymbol definitionURL="${url}">: ${url.endsWith('/delay') ? 'delays are' : url.endsWith('/rateOf') ? 'rateOf is' : 'this function is'} not supported`, op);
    }
    case 'ci': {
      // A call of a function definition: its body with the arguments substituted.
      const id = op.text.trim();
      const f = ctx.functions.get(id);
      if (!f) return ctx.fail(`"${id}" is called but is not a function definition`, op);
      if (f.args.length !== args.length) ctx.fail(`function "${id}" takes ${f.args.length} argument(s), called with ${args.length}`, el);
      const inner = new Map<string, string>();
      f.args.forEach((a, i) => inner.set(a, rec(args[i]!)));
      return `(${mathToText(f.body, ctx, inner)})`;
    }
    default: {
      if (SIMPLE_UNARY[op.name]) { arity(1); return `${SIMPLE_UNARY[op.name]}(${rec(args[0]!)})`; }
      if (DERIVED_UNARY[op.name]) { arity(1); return DERIVED_UNARY[op.name]!(rec(args[0]!)); }
      if (op.name in CMP || ['eq', 'neq', 'and', 'or', 'xor', 'not'].includes(op.name)) {
        return ctx.fail(`<${op.name}> gives true or false, which is not a number here; conditions belong in a <piece>`, op);
      }
      if (REFUSED.has(op.name)) return ctx.fail(`<${op.name}> is not supported (not differentiable, or not in the engine's expression language)`, op);
      return ctx.fail(`<${op.name}> is not a MathML operator SBML allows`, op);
    }
  }
}

function onlyChild(el: XmlElement, ctx: MathContext): XmlElement {
  if (el.children.length !== 1) ctx.fail(`<${el.name}> must hold one expression`, el);
  return el.children[0]!;
}

/** A boolean MathML expression as a Cond. */
function condition(el: XmlElement, ctx: MathContext, bound: Map<string, string>): Cond {
  if (el.name === 'true' || el.name === 'false') return { k: 'const', v: el.name === 'true' };
  if (el.name === 'ci' && bound.has(el.text.trim())) return ctx.fail('a function argument used as a condition is not supported', el);
  if (el.name !== 'apply') return ctx.fail(`<${el.name}> is not a condition (expected a comparison, and/or/xor/not, true or false)`, el);
  const [op, ...args] = el.children;
  const num = (e: XmlElement) => mathToText(e, ctx, bound);
  if (!op) return ctx.fail('<apply> without an operator', el);
  if (op.name in CMP || op.name === 'eq' || op.name === 'neq') {
    if (args.length < 2) ctx.fail(`<${op.name}> needs two arguments`, el);
    // n-ary comparisons chain: a < b < c means a < b and b < c.
    const pairs: Cond[] = [];
    for (let i = 0; i + 1 < args.length; i++) {
      const a = num(args[i]!), b = num(args[i + 1]!);
      pairs.push(op.name === 'eq' || op.name === 'neq' ? { k: op.name, a, b } : { k: 'cmp', op: CMP[op.name]!, a, b });
    }
    return pairs.length === 1 ? pairs[0]! : { k: 'and', xs: pairs };
  }
  if (op.name === 'and' || op.name === 'or' || op.name === 'xor') return { k: op.name, xs: args.map((a) => condition(a, ctx, bound)) };
  if (op.name === 'not') {
    if (args.length !== 1) ctx.fail('<not> takes one argument', el);
    return { k: 'not', x: condition(args[0]!, ctx, bound) };
  }
  if (op.name === 'ci') {
    // A boolean-valued function definition: inline its body as a condition.
    const id = op.text.trim(), f = ctx.functions.get(id);
    if (!f) return ctx.fail(`"${id}" is called but is not a function definition`, op);
    const inner = new Map<string, string>();
    f.args.forEach((a, i) => inner.set(a, num(args[i]!)));
    return condition(f.body, ctx, inner);
  }
  return ctx.fail(`<${op.name}> is not a condition (expected lt, leq, gt, geq, eq, neq, and, or, xor, not)`, op);
}

/** `cond ? x : y` in the engine's language (one comparison per conditional). */
function select(c: Cond, x: string, y: string): string {
  switch (c.k) {
    case 'const': return c.v ? x : y;
    case 'cmp': return `((${c.a}) ${c.op} (${c.b}) ? ${x} : ${y})`;
    case 'eq': return `((${c.a}) >= (${c.b}) ? ((${c.a}) <= (${c.b}) ? ${x} : ${y}) : ${y})`;
    case 'neq': return select({ k: 'eq', a: c.a, b: c.b }, y, x);
    case 'not': return select(c.x, y, x);
    case 'and': return c.xs.reduceRight((acc, ci) => select(ci, acc, y), x);
    case 'or': return c.xs.reduceRight((acc, ci) => select(ci, x, acc), y);
    case 'xor': {
      if (c.xs.length === 0) return y;
      const [first, ...others] = c.xs;
      if (others.length === 0) return select(first!, x, y);
      // a xor rest = a ? not(rest) : rest
      const rest: Cond = { k: 'xor', xs: others };
      return select(first!, select(rest, y, x), select(rest, x, y));
    }
  }
}

function piecewise(el: XmlElement, ctx: MathContext, bound: Map<string, string>): string {
  const pieces = el.children.filter((c) => c.name === 'piece');
  const otherwise = el.children.find((c) => c.name === 'otherwise');
  const stray = el.children.find((c) => c.name !== 'piece' && c.name !== 'otherwise');
  if (stray) ctx.fail(`<${stray.name}> inside <piecewise> (expected <piece> and <otherwise>)`, stray);
  if (!otherwise) ctx.fail('<piecewise> without <otherwise>: its value where no piece holds is undefined; add an <otherwise>', el);
  let out = mathToText(onlyChild(otherwise!, ctx), ctx, bound);
  for (let i = pieces.length - 1; i >= 0; i--) {
    const p = pieces[i]!;
    if (p.children.length !== 2) ctx.fail('<piece> holds a value and a condition', p);
    out = select(condition(p.children[1]!, ctx, bound), mathToText(p.children[0]!, ctx, bound), out);
  }
  return out;
}
