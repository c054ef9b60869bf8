/** The full model form: named expressions, observables, conserved laws, the neural section, units. */
import { describe, expect, it } from 'vitest';
import { parseModel, ModelError, parseUnit } from '../src/index.js';
import { compileF64, printExpr, rateAt } from '../src/internals.js';

// A two-state exchange with units: TF in the dilute phase (c) and bound (b), total T = c + b.
const base = {
  name: 'exchange', time_unit: 's',
  states: { c: { value: 1, unit: 'uM' }, b: { value: 0, unit: 'uM' } },
  params: {
    k_on: { value: 0.5, unit: '1/s' }, k_off: { value: 0.2, unit: '1/s' },
    K: { value: 2, unit: 'uM' }, n: { value: 2, unit: '1' },
  },
  expressions: { occ: '(c/K)^n / (1 + (c/K)^n)', flux: 'k_on*c*occ - k_off*b' },
  equations: { c: '-flux', b: 'flux' },
  observables: { total: { expression: 'c + b', unit: 'uM' }, bound_fraction: 'b/(c + b)' },
  conserved: { T: { expression: 'c + b', rate: '0*T/K', unit: 'uM' } },
};
const text = (m: object) => JSON.stringify(m, null, 2);
const withChange = (f: (m: any) => void) => { const m = structuredClone(base) as any; f(m); return text(m); };

describe('the full model form', () => {
  it('inlines named expressions, compiles observables and conserved laws', () => {
    const m = parseModel(text(base), 'x.json');
    expect(m.expressions.map((e) => e.name)).toEqual(['occ', 'flux']);
    expect(printExpr(m.equations[0]!)).not.toMatch(/flux|occ/);
    const f = compileF64(m);
    const y = new Float64Array([1.5, 0.3]), p = new Float64Array([0.5, 0.2, 2, 2]), dy = new Float64Array(2);
    f.rhs(0, y, p, dy);
    const occ = (1.5 / 2) ** 2 / (1 + (1.5 / 2) ** 2);
    expect(dy[0]).toBeCloseTo(-(0.5 * 1.5 * occ - 0.2 * 0.3), 14);
    expect(dy[0]! + dy[1]!).toBe(0);
    expect(m.observables.map((o) => o.name)).toEqual(['total', 'bound_fraction']);
    expect(printExpr(rateAt(m.conserved[0]!, m.conserved[0]!.expr))).toBe('0*(c + b)/K');
  });

  it('reads mathjs units with molar concentrations', () => {
    expect(parseUnit('uM').factor).toBeCloseTo(1e-3, 15);
    expect(parseUnit('nM^-1 s^-1').dims).toEqual(parseUnit('1/(uM*min)').dims);
    expect(parseUnit('1').dims.every((d) => d === 0)).toBe(true);
  });

  const cases: Array<[string, string, RegExp]> = [
    ['self-referencing expressions', withChange((m) => { m.expressions.occ = 'flux/k_on'; }), /x\.json:\d+:\d+: expression "occ" depends on itself \(occ → flux → occ\)/],
    ['unknown symbol in an expression', withChange((m) => { m.expressions.flux = 'k_on*c*occ - k_of*b'; }), /expression "flux": unknown symbol "k_of"/],
    ['expression named like a state', withChange((m) => { m.expressions.c = '1'; }), /duplicate name "c": it is already a state/],
    ['conserved law without a rate', withChange((m) => { delete m.conserved.T.rate; }), /conserved quantity "T" needs a "rate"/],
    ['observable with an unknown field', withChange((m) => { m.observables.total.units = 'uM'; }), /unknown field "units" in observable "total"/],
    // Units: each error names the term and its units.
    ['adds uM to 1/s', withChange((m) => { m.expressions.flux = 'k_on*c*occ - k_off'; }), /expression "flux": subtracts "k_on\*c\*.*" \[.*\] and "k_off" \[1\/s\].*units differ/],
    ['rate in the wrong time unit', withChange((m) => { m.params.k_off.unit = '1/min'; }), /expression "flux": subtracts .* \[1\/min·uM\]|units differ/],
    ['equation with the wrong unit', withChange((m) => { m.equations.b = 'flux*K'; }), /equation for "b" has unit \[.*\] but must be \[uM\/s\]/],
    ['a state without a unit', withChange((m) => { m.states.b = 0; }), /"b" has no "unit", but the model uses units/],
    ['an unknown unit', withChange((m) => { m.params.K.unit = 'uMol'; }), /unit of "K": "uMol" is not a unit mathjs knows/],
    ['missing time_unit', withChange((m) => { delete m.time_unit; }), /declares units but no "time_unit"/],
    ['a non-time time_unit', withChange((m) => { m.time_unit = 'uM'; }), /"time_unit" "uM" is not a unit of time/],
    ['exp of a concentration', withChange((m) => { m.expressions.occ = 'exp(c)'; }), /exp\(\) needs a dimensionless argument, but "c" has unit \[uM\]/],
    ['Hill term with a dimensional base', withChange((m) => { m.expressions.occ = 'c^n/(K^n + c^n)'; }), /a power with a non-numeric exponent needs a dimensionless base.*\(c\/K\)\^n/],
    ['a number added to a concentration', withChange((m) => { m.expressions.flux = 'k_on*(c + 1)*occ - k_off*b'; }), /adds "c" \[uM\] and "1" \[1\]/],
    ['observable with a wrong declared unit', withChange((m) => { m.observables.total.unit = 'nM'; }), /observable "total" has unit \[uM\] but must be \[nM\]/],
    ['conserved rate with the wrong unit', withChange((m) => { m.conserved.T.rate = 'k_on'; }), /rate of conserved quantity "T" has unit \[1\/s\] but must be \[uM\/s\]/],
    // The neural section.
    ['neural without inputs', withChange((m) => { m.neural = { outputs: ['c'] }; }), /"neural" needs "inputs"/],
    ['neural output not a state', withChange((m) => { m.neural = { inputs: ['c'], outputs: ['q'] }; }), /neural output "q" is not a state/],
    ['neural output listed twice', withChange((m) => { m.neural = { inputs: ['c'], outputs: ['c', { state: 'c', scale: 2 }] }; }), /neural output "c" is listed twice/],
    ['unknown activation', withChange((m) => { m.neural = { inputs: ['c'], outputs: ['c'], activation: 'gelu' }; }), /unknown activation "gelu" \(choose tanh, sigmoid, softplus, relu\)/],
    ['bad hidden width', withChange((m) => { m.neural = { inputs: ['c'], outputs: ['c'], hidden: [16, 0] }; }), /each hidden layer width must be an integer from 1 to 256/],
    ['unknown neural field', withChange((m) => { m.neural = { inputs: ['c'], outputs: ['c'], layers: [4] }; }), /unknown field "layers" in "neural"/],
    ['neural input with an unknown symbol', withChange((m) => { m.neural = { inputs: ['c', 'log(z)'], outputs: ['c'] }; }), /neural input 2: unknown symbol "z"/],
    ['negative seed', withChange((m) => { m.neural = { inputs: ['c'], outputs: ['c'], seed: -1 }; }), /"neural.seed" must be a non-negative integer/],
  ];
  it.each(cases)('rejects %s with a located message', (_name, src, message) => {
    let error: unknown;
    try { parseModel(src, 'x.json'); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/^x\.json:\d+:\d+: /);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps accepting models without units (the minimal form)', () => {
    const m = parseModel({ name: 'd', states: { x: 1 }, params: { k: 1 }, equations: { x: '-k*x + 1' } });
    expect(m.timeUnit).toBeUndefined();
  });
});
