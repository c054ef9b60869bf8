/**
 * Dimensional analysis of a model (DESIGN.md: every equation dimensionally consistent, or an error
 * that names the term). mathjs parses the unit strings ("uM", "1/s", "nM^-1 s^-1", "um^3"); the
 * checker then walks the expression tree with (dimension vector, SI factor) pairs, so that
 * uM/s vs uM/min or µM vs nM is caught as well as length vs time: a model whose numbers are in
 * different units of the same dimension is as wrong as one with mismatched dimensions.
 */
import type { MathJsInstance, Unit } from 'mathjs';
import { print, type Expr, type SymbolRef } from './expr.js';
import type { Model } from './model.js';
import { mathjs } from './mathjs.js';

let unitMath: MathJsInstance | undefined;
/** A mathjs instance of our own with the units we add, built on first use (models without units never pay for it). */
function units(): MathJsInstance {
  if (unitMath) return unitMath;
  const math = mathjs.create(mathjs.all);
  // Molar concentration (mol/L) with SI prefixes: M, mM, uM, nM, pM.
  math.createUnit('M', { definition: '1 mol/L', prefixes: 'short' });
  // Arbitrary units of fluorescence intensity (imaging data): a base dimension of its own.
  math.createUnit('au');
  // Percent (w/v or v/v) of a compound in the medium, e.g. 1.5 % 1,6-hexanediol: a dimension of its own.
  math.createUnit('percent');
  return (unitMath = math);
}

export interface Dim {
  /** Exponents of mathjs's base dimensions. */
  dims: number[];
  /** Value of one unit in SI (1 uM = 1e-3 mol/m³). */
  factor: number;
  /** As the user wrote it, or composed from the operands. */
  text: string;
}

/** Number of base dimensions (mathjs's nine plus the ones created above). */
let dimensionless: Dim | undefined;
const DIMENSIONLESS_DIM = (): Dim => (dimensionless ??= { dims: new Array<number>((units().unit('s').dimensions as number[]).length).fill(0), factor: 1, text: '1' });
const DIMENSIONLESS_NAMES = new Set(['', '1', 'dimensionless', 'fraction']);

/** Parses a unit string; throws with the reason.
 * @example
 * const perMicromolarSecond = parseUnit('uM^-1 s^-1'); // dims and SI factor
 */
export function parseUnit(text: string): Dim {
  const s = text.trim() === '%' ? 'percent' : text.trim();
  if (DIMENSIONLESS_NAMES.has(s)) return DIMENSIONLESS_DIM();
  let u: Unit;
  try {
    u = units().unit(s);
  } catch (err) {
    throw new Error(`"${text}" is not a unit mathjs knows (${(err as Error).message}); examples: "uM", "1/s", "nM^-1 s^-1", "um^3", "1"`);
  }
  // "1/s" parses as the number 1 divided by a unit; any other number is a value, not a unit.
  if (/^[\s(]*[-+.\d]/.test(s) && !/^1\s*\//.test(s)) throw new Error(`"${text}" has a number in it; write the unit only (e.g. "uM", "1/s")`);
  const one = u.value === null ? u.multiply(1 as unknown as Unit) as Unit : u;
  return { dims: [...(one.dimensions as number[])], factor: one.value as number, text: s };
}

const sameDims = (a: Dim, b: Dim) => a.dims.every((d, i) => Math.abs(d - b.dims[i]!) < 1e-12);
const sameUnit = (a: Dim, b: Dim) => sameDims(a, b) && Math.abs(a.factor - b.factor) <= 1e-9 * Math.max(Math.abs(a.factor), Math.abs(b.factor));
const isDimensionless = (a: Dim) => sameUnit(a, DIMENSIONLESS_DIM());
const mulDim = (a: Dim, b: Dim): Dim => ({ dims: a.dims.map((d, i) => d + b.dims[i]!), factor: a.factor * b.factor, text: a.text === '1' ? b.text : b.text === '1' ? a.text : `${a.text}·${b.text}` });
const powDim = (a: Dim, n: number): Dim => ({ dims: a.dims.map((d) => d * n), factor: a.factor ** n, text: a.text === '1' ? '1' : `(${a.text})^${n}` });
const divDim = (a: Dim, b: Dim): Dim => ({ ...mulDim(a, powDim(b, -1)), text: b.text === '1' ? a.text : `${a.text}/${/[·/^ ]/.test(b.text) ? `(${b.text})` : b.text}` });
const show = (d: Dim) => (sameDims(d, DIMENSIONLESS_DIM()) && d.factor !== 1 ? `${d.text} (a pure number times ${d.factor})` : d.text);

export class UnitError extends Error {}

/**
 * The unit of `e`, or a UnitError naming the offending term. A literal number is dimensionless,
 * except 0, which fits any unit (so `max(c - c_sat, 0)` is fine).
 */
export function inferUnit(e: Expr, unitOf: (ref: SymbolRef) => Dim): Dim | 'any' {
  const rec = (u: Expr) => inferUnit(u, unitOf);
  const need = (u: Expr): Dim => { const d = rec(u); return d === 'any' ? DIMENSIONLESS_DIM() : d; };
  const same = (a: Expr, b: Expr, what: string): Dim | 'any' => {
    const da = rec(a), db = rec(b);
    if (da === 'any') return db;
    if (db === 'any') return da;
    if (!sameUnit(da, db)) {
      throw new UnitError(`${what} "${print(a)}" [${show(da)}] and "${print(b)}" [${show(db)}] in "${print(e)}": their units differ`);
    }
    return da;
  };
  const dimensionlessArg = (a: Expr, fn: string) => {
    const d = rec(a);
    if (d !== 'any' && !isDimensionless(d)) {
      throw new UnitError(`${fn}() needs a dimensionless argument, but "${print(a)}" has unit [${show(d)}]; divide it by a parameter with that unit`);
    }
  };
  switch (e.k) {
    case 'num': return e.v === 0 ? 'any' : DIMENSIONLESS_DIM();
    case 'sym': return unitOf(e.ref);
    case 'neg': return rec(e.a);
    case 'add': return same(e.a, e.b, 'adds');
    case 'sub': return same(e.a, e.b, 'subtracts');
    case 'mul': {
      const a = rec(e.a), b = rec(e.b);
      if (a === 'any' || b === 'any') return 'any';
      return mulDim(a, b);
    }
    case 'div': {
      const a = rec(e.a), b = need(e.b);
      return a === 'any' ? 'any' : divDim(a, b);
    }
    case 'fn1':
      switch (e.fn) {
        case 'abs': return rec(e.a);
        case 'sign': rec(e.a); return DIMENSIONLESS_DIM();
        case 'sqrt': {
          const a = rec(e.a);
          if (a === 'any') return 'any';
          if (a.dims.some((d) => Math.abs(d / 2 - Math.round(d / 2)) > 1e-9)) {
            throw new UnitError(`sqrt("${print(e.a)}") of unit [${show(a)}] has no unit with whole exponents`);
          }
          return powDim(a, 0.5);
        }
        default: dimensionlessArg(e.a, e.fn); return DIMENSIONLESS_DIM();
      }
    case 'fn2': {
      if (e.fn !== 'pow') return same(e.a, e.b, `${e.fn}() of`);
      const base = rec(e.a);
      const expo = rec(e.b);
      if (expo !== 'any' && !isDimensionless(expo)) throw new UnitError(`the exponent "${print(e.b)}" in "${print(e)}" must be dimensionless, but has unit [${show(expo)}]`);
      if (base === 'any') return 'any';
      if (e.b.k === 'num') return powDim(base, e.b.v);
      if (!isDimensionless(base)) {
        throw new UnitError(`"${print(e)}": a power with a non-numeric exponent needs a dimensionless base, but "${print(e.a)}" has unit [${show(base)}]; write it as (${print(e.a)}/K)^${print(e.b)} with K in [${show(base)}]`);
      }
      return DIMENSIONLESS_DIM();
    }
    case 'cond': {
      same(e.a, e.b, 'compares');
      return same(e.then, e.else, 'chooses between');
    }
  }
}

export interface UnitProblem {
  message: string;
  /** Where to point: a section and an entry name (or the time_unit field). */
  at: { section: string; name: string };
}

/** Checks every unit of the model when it declares any; returns the first problem found. */
export function checkModelUnits(model: Model): UnitProblem | undefined {
  const declared = model.timeUnit !== undefined || [...model.states, ...model.params].some((s) => s.unit !== undefined)
    || model.observables.some((o) => o.unit !== undefined) || model.conserved.some((c) => c.unit !== undefined);
  if (!declared) return undefined;
  if (model.timeUnit === undefined) {
    return { message: 'the model declares units but no "time_unit"; add e.g. "time_unit": "s" at the top level', at: { section: 'states', name: model.states[0]!.name } };
  }
  let time: Dim;
  try { time = parseUnit(model.timeUnit); } catch (err) { return { message: `"time_unit": ${(err as Error).message}`, at: { section: 'time_unit', name: '' } }; }
  if (!sameDims(time, parseUnit('s'))) return { message: `"time_unit" "${model.timeUnit}" is not a unit of time`, at: { section: 'time_unit', name: '' } };

  const symbolUnits = (section: 'states' | 'params') => model[section].map((s) => {
    if (s.unit === undefined) throw Object.assign(new UnitError(`"${s.name}" has no "unit", but the model uses units; give one ("1" for dimensionless)`), { at: { section, name: s.name } });
    try { return parseUnit(s.unit); } catch (err) { throw Object.assign(new UnitError(`unit of "${s.name}": ${(err as Error).message}`), { at: { section, name: s.name } }); }
  });
  let stateUnits: Dim[], paramUnits: Dim[];
  try {
    stateUnits = symbolUnits('states');
    paramUnits = symbolUnits('params');
  } catch (err) {
    return { message: (err as Error).message, at: (err as unknown as { at: UnitProblem['at'] }).at };
  }
  const base = (ref: SymbolRef): Dim => {
    switch (ref.kind) {
      case 'time': return time;
      case 'state': return stateUnits[ref.index]!;
      case 'param': return paramUnits[ref.index]!;
      default: throw new Error(`internal: unit of ${ref.kind}`);
    }
  };
  const check = (at: UnitProblem['at'], what: string, e: Expr, unitOf: (r: SymbolRef) => Dim, expected?: Dim): UnitProblem | undefined => {
    try {
      const got = inferUnit(e, unitOf);
      if (expected && got !== 'any' && !sameUnit(got, expected)) {
        return { message: `${what} has unit [${show(got)}] but must be [${show(expected)}]`, at };
      }
      return undefined;
    } catch (err) {
      if (err instanceof UnitError) return { message: `${what}: ${err.message}`, at };
      throw err;
    }
  };

  for (const x of model.expressions) {
    const p = check({ section: 'expressions', name: x.name }, `expression "${x.name}"`, x.expr, base);
    if (p) return p;
  }
  for (let i = 0; i < model.states.length; i++) {
    const s = model.states[i]!;
    const rate = divDim(stateUnits[i]!, time);
    // A neural output j scaled into d(state)/dt carries the unit of that derivative.
    const unitOf = (r: SymbolRef) => (r.kind === 'nn' ? rate : base(r));
    const p = check({ section: 'equations', name: s.name }, `equation for "${s.name}"`, model.equations[i]!, unitOf, rate);
    if (p) return p;
  }
  for (const o of model.observables) {
    let expected: Dim | undefined;
    try { expected = o.unit === undefined ? undefined : parseUnit(o.unit); } catch (err) { return { message: `unit of observable "${o.name}": ${(err as Error).message}`, at: { section: 'observables', name: o.name } }; }
    const p = check({ section: 'observables', name: o.name }, `observable "${o.name}"`, o.expr, base, expected);
    if (p) return p;
  }
  for (const c of model.conserved) {
    const at = { section: 'conserved', name: c.name };
    let q: Dim;
    try {
      const got = inferUnit(c.expr, base);
      q = got === 'any' ? DIMENSIONLESS_DIM() : got;
      if (c.unit !== undefined && !sameUnit(q, parseUnit(c.unit))) return { message: `conserved quantity "${c.name}" has unit [${show(q)}], not the declared [${c.unit}]`, at };
    } catch (err) {
      return { message: `conserved quantity "${c.name}": ${(err as Error).message}`, at };
    }
    const unitOf = (r: SymbolRef) => (r.kind === 'expr' ? q : base(r));
    const p = check(at, `rate of conserved quantity "${c.name}"`, c.rate, unitOf, divDim(q, time));
    if (p) return p;
  }
  return undefined;
}
