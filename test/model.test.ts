/** The model compiler: validation errors with places, golden WGSL, and the f64 twin. */
import { describe, expect, it } from 'vitest';
import { parseModel, ModelError, makeProblem, remake } from '../src/index.js';
import { compileF64, emitModelWgsl, symbolicJacobian } from '../src/internals.js';
import { f32Literal } from '../src/codegen/emit.js';

const lorenzText = `{ "name": "lorenz",
  "states": { "x": 1, "y": 0, "z": 0 },
  "params": { "sigma": 10, "rho": 28, "beta": 2.6667 },
  "equations": { "x": "sigma*(y-x)", "y": "x*(rho-z)-y", "z": "x*y-beta*z" } }`;

describe('malformed models give an error naming the place and the culprit', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['invalid JSON', '{ "states": { "x": 1, }', /m\.json:1:\d+: invalid JSON/],
    ['unknown symbol', lorenzText.replace('sigma*(y-x)', 'sigma*(y-w)'), /m\.json:4:33: equation for "x": unknown symbol "w"/],
    ['missing equation', lorenzText.replace(', "z": "x*y-beta*z"', ''), /missing equation for state "z"/],
    ['equation for a non-state', lorenzText.replace('"z": "x*y', '"q": "x*y'), /equation for "q", which is not a state/],
    ['duplicate state', lorenzText.replace('"z": 0 }', '"x": 0 }'), /m\.json:2:\d+: duplicate name "x" in "states"/],
    ['state and param share a name', lorenzText.replace('"beta": 2.6667', '"x": 2.6667'), /duplicate name "x": it is both a state and a parameter/],
    ['non-finite constant', lorenzText.replace('"rho": 28', '"rho": 1e400'), /m\.json:3:\d+: the value of "rho" in "params" is not finite/],
    ['non-finite literal in an equation', lorenzText.replace('x*y-beta*z', 'x*y-1e400*z'), /not finite/],
    ['unknown function', lorenzText.replace('sigma*(y-x)', 'sigma*foo(y)'), /unknown function "foo"/],
    ['unsupported operator', lorenzText.replace('sigma*(y-x)', 'sigma*(y-x)!'), /operator|not allowed/],
    ['parse error', lorenzText.replace('sigma*(y-x)', 'sigma*(y-'), /cannot parse/],
    ['string value', lorenzText.replace('"rho": 28', '"rho": "28"'), /must be a number/],
    ['missing section', '{ "states": { "x": 1 }, "params": {} }', /missing section "equations"/],
    ['empty states', '{ "states": {}, "params": {}, "equations": {} }', /"states" is empty/],
    ['reserved name', '{ "states": { "t": 1 }, "params": {}, "equations": { "t": "1" } }', /"t" is reserved/],
    ['unknown section', lorenzText.replace('"name": "lorenz"', '"nmae": "lorenz"'), /unknown section "nmae"/],
    ['bad quantity field', lorenzText.replace('"rho": 28', '"rho": {"value": 28, "units": "uM"}'), /unknown field "units" for "rho"/],
    ['min above max', lorenzText.replace('"rho": 28', '"rho": {"value": 28, "min": 5, "max": 1}'), /min 5 > max 1/],
  ];
  it.each(cases)('%s', (_name, text, message) => {
    let error: unknown;
    try { parseModel(text, 'm.json'); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('code generation', () => {
  const model = parseModel(lorenzText, 'lorenz.json');

  it('emits golden WGSL for the Lorenz right-hand side and Jacobian', async () => {
    await expect(emitModelWgsl(model, true)).toMatchFileSnapshot('./golden/lorenz.wgsl');
  });

  it('emits shortest exact f32 literals', () => {
    expect(f32Literal(0.1)).toBe('0.1');
    expect(f32Literal(2)).toBe('2.0');
    expect(f32Literal(-0.25)).toBe('(-0.25)');
    expect(f32Literal(1e-20)).toBe('1e-20');
    expect(Math.fround(Number(f32Literal(35 / 384)))).toBe(Math.fround(35 / 384));
    expect(() => f32Literal(1e39)).toThrow(/overflows f32/);
  });

  it('the f64 twin and the symbolic Jacobian agree with finite differences', () => {
    const f = compileF64(model);
    const y = new Float64Array([1.3, -0.7, 20.1]), p = new Float64Array([10, 28, 2.6667]);
    const dy = new Float64Array(3);
    f.rhs(0, y, p, dy);
    expect(Array.from(dy)).toEqual([10 * (-0.7 - 1.3), 1.3 * (28 - 20.1) + 0.7, 1.3 * -0.7 - 2.6667 * 20.1]);
    const J = new Float64Array(9);
    f.jacobian(0, y, p, J);
    for (let j = 0; j < 3; j++) {
      const h = 1e-6, yp = y.slice(), ym = y.slice(), fp = new Float64Array(3), fm = new Float64Array(3);
      yp[j]! += h; ym[j]! -= h;
      f.rhs(0, yp, p, fp); f.rhs(0, ym, p, fm);
      for (let i = 0; i < 3; i++) expect(J[i * 3 + j]).toBeCloseTo((fp[i]! - fm[i]!) / (2 * h), 6);
    }
  });

  it('differentiates min, max, abs, pow and conditionals piecewise', () => {
    const m = parseModel({ name: 'pw', states: { a: 2, b: 3 }, params: { n: 2.5 },
      equations: { a: 'max(a, b)^2 + abs(a - 4)', b: 'a^n + (t > 1 ? b : 2*b) + min(a, 1)' } });
    const { jacobian, timeDerivative } = symbolicJacobian(m);
    expect(jacobian).toHaveLength(4);
    expect(timeDerivative).toHaveLength(2);
    const f = compileF64(m);
    const y = new Float64Array([2, 3]), p = new Float64Array([2.5]), J = new Float64Array(4);
    f.jacobian(0.5, y, p, J);
    // ∂/∂a: 0 (b is the max) + sign(a−4) = −1;  ∂/∂b: 2·max = 6
    // ∂/∂a: n·a^(n−1) + 0 (min picks 1) = 2.5·2^1.5;  ∂/∂b: 2 (t ≤ 1 branch)
    expect(Array.from(J)).toEqual([-1, 6, 2.5 * 2 ** 1.5, 2]);
  });
});

describe('the "initial" section (initial values from the parameters)', () => {
  const spec = { name: 'ia', states: { x: 1, y: 0 }, params: { a: 2, b: 3 }, expressions: { ab: 'a*b' }, equations: { x: '-x', y: 'x' }, initial: { x: 'ab + 1' } };
  it('makeProblem evaluates it per trajectory from that trajectory\'s parameters; given initial values win', () => {
    const model = parseModel(spec);
    const problem = makeProblem(model, { t1: 1, params: Float64Array.from([2, 3, 1, 1]) });
    expect(Array.from(problem.initial)).toEqual([7, 0, 2, 0]);
    expect(Array.from(makeProblem(model, { t1: 1, params: Float64Array.from([2, 3]), initial: Float64Array.from([5, 5]) }).initial)).toEqual([5, 5]);
    expect(Array.from(makeProblem(model, { t1: 1 }).initial)).toEqual([7, 0]); // the model's own parameters
    // remake with new parameters: the computed initial values follow them, the others stay.
    const base = makeProblem(model, { t1: 1, params: Float64Array.from([2, 3]), initial: Float64Array.from([9, 4]) });
    expect(Array.from(remake(base, { params: Float64Array.from([1, 1]) }).initial)).toEqual([2, 4]);
  });
  it('refuses a state, time or an unknown state name in it, with the line', () => {
    expect(() => parseModel({ ...spec, initial: { x: 'y + a' } })).toThrow(/initial value of "x" depends on "y"; it may use parameters and constants only/);
    expect(() => parseModel({ ...spec, initial: { x: 't' } })).toThrow(/depends on time/);
    expect(() => parseModel({ ...spec, initial: { z: 'a' } })).toThrow(/<model>:\d+:\d+: initial value for "z", which is not a state/);
  });
});
