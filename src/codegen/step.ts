/**
 * The step attempt of every method, written once and printed for two targets: WGSL (f32, the
 * batched kernels) and JavaScript (f64, the CPU reference and its adjoint). As for the model's
 * right-hand side (src/codegen/emit.ts), both targets come from the same generator, so the CPU
 * path checks the same algorithm the shader runs and a new method is a tableau, nothing else.
 *
 * What differs between the targets is only spelling, and lives in `StepTarget`: literals, how a
 * vector is declared (a WGSL private array, a preallocated Float64Array in JS), how a function
 * that returns a vector is called, and loops over states (unrolled in WGSL, so private arrays are
 * indexed only by constants — WEBGPU.md; real loops in JS). Everything numeric — stages, the
 * embedded error estimate, the PI controller, dense output, compensated sums, the initial step,
 * the scaled norm, LU with partial pivoting, and the stage adjoint — is written once below.
 *
 * Registers every attempt expects in scope (the drivers in src/codegen/kernel.ts,
 * src/codegen/adjoint.ts and src/solvers/cpu/integrate.ts declare them): y, yc (Kahan compensation),
 * time as hi + lo (`T.tHi`, `T.tLo`), h, err_prev, f0 (f at t, y), p, status, steps, rejected, nfev,
 * save, flags, remaining (distance to t1).
 */
import type { ExplicitTableau, Method, RosenbrockTableau } from '../methods/tableaus.js';
import { CONTROLLER, stiffnessProbe } from '../methods/controller.js';
import { FLAGS, STATUS } from '../methods/status.js';
import { f32Literal, f64Literal } from './emit.js';

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** An index that is a constant (WGSL, unrolled) or a loop variable (JS). */
export type Index = number | string;

/** The spelling of one target; see the file comment. */
export interface StepTarget {
  readonly name: 'wgsl' | 'js';
  /** States. */
  readonly N: number;
  /** A float literal (exact f32 in WGSL, round-trip f64 in JS). */
  lit(x: number): string;
  /** A counter or index literal (u32 in WGSL). */
  u(x: Index): string;
  /** An immutable scalar. */
  let(name: string, expr: string): string;
  /** A mutable scalar. */
  var(name: string, expr: string): string;
  /** Declares a vector of `size` (default N) floats, or u32 with `int`. */
  vec(name: string, size?: number, int?: boolean): string;
  /** dst ← src, element by element. */
  copy(dst: string, src: string): string;
  /** Another name for vector `src` (WGSL: an immutable copy; JS: the same array, no copy), read-only. */
  alias(name: string, src: string): string;
  /** dst ← fn(args…) for a function returning a vector; `declare` defines dst. */
  call(dst: string, fn: string, args: string[], declare: boolean): string;
  /** body(v) for v in [from, to) (descending with `down`): unrolled in WGSL, a loop in JS. */
  for(v: string, from: Index, to: Index, body: (v: Index) => string, down?: boolean): string;
  /** An endless loop left by `break`. */
  forever(body: string): string;
  /** Scalar built-ins. */
  min(a: string, b: string): string;
  max(a: string, b: string): string;
  abs(a: string): string;
  sqrt(a: string): string;
  pow(a: string, b: string): string;
  /** `cond ? ifTrue : ifFalse`. */
  select(ifFalse: string, ifTrue: string, cond: string): string;
  finite(a: string): string;
  /** Hides a rounding step from a reassociating optimiser (WGSL; the identity in JS). */
  opaque(a: string): string;
  /** The time registers (hi, lo). */
  readonly tHi: string;
  readonly tLo: string;
  /** A run-time setting: atol, rtol, dt, n_save, max_steps, t1_hi, t1_lo. */
  cfg(name: 'atol' | 'rtol' | 'dt' | 'n_save' | 'max_steps' | 't1_hi' | 't1_lo'): string;
  /** Save time `s` as (hi, lo). */
  saveTime(s: string): [string, string];
  /** Where save `save`'s state starts in `out`. */
  readonly saveBase: string;
  /** A function definition: params as [name, kind]; `returns` a scalar type or nothing. */
  fn(name: string, params: Array<[string, ParamKind]>, returns: 'f32' | 'bool', body: string): string;
  /** A function of vectors that returns the vector `result` (WGSL) or writes it to its last argument (JS). */
  vecFn(name: string, params: Array<[string, ParamKind]>, result: string, init: string, body: string): string;
  /** JS only: a line that replaces hs by a recorded step (SolveOptions.steps); '' elsewhere. */
  readonly replayStep: string;
}

export type ParamKind = 'f32' | 'vec' | 'params' | 'mat' | 'piv';

/** WGSL: unrolled over states, f32 literals, values returned by functions. */
export function wgslTarget(N: number, P: number): StepTarget {
  const types: Record<ParamKind, string> = {
    f32: 'f32', vec: `array<f32, ${N}>`, params: `array<f32, ${P}>`, mat: `array<f32, ${N * N}>`, piv: `array<u32, ${N}>`,
  };
  const num = (x: Index, what: string) => {
    if (typeof x !== 'number') throw new Error(`internal: WGSL loops are unrolled; ${what} must be a constant`);
    return x;
  };
  return {
    name: 'wgsl', N,
    lit: f32Literal,
    u: (x) => (typeof x === 'number' ? `${x}u` : x),
    let: (n, e) => `let ${n} = ${e};`,
    var: (n, e) => `var ${n} = ${e};`,
    vec: (n, size = N, int = false) => `var ${n}: array<${int ? 'u32' : 'f32'}, ${size}>;`,
    copy: (d, s) => `${d} = ${s};`,
    alias: (n, s) => `let ${n} = ${s};`,
    call: (d, fn, args, declare) => `${declare ? 'let ' : ''}${d} = ${fn}(${args.join(', ')});`,
    for: (_v, from, to, body, down = false) => {
      const a = num(from, 'a loop bound'), b = num(to, 'a loop bound');
      const idx = range(Math.max(0, b - a)).map((k) => a + k);
      return (down ? idx.reverse() : idx).map(body).filter(Boolean).join('\n');
    },
    forever: (body) => `loop {\n${body}\n}`,
    min: (a, b) => `min(${a}, ${b})`,
    max: (a, b) => `max(${a}, ${b})`,
    abs: (a) => `abs(${a})`,
    sqrt: (a) => `sqrt(${a})`,
    pow: (a, b) => `pow(${a}, ${b})`,
    select: (f, t, c) => `select(${f}, ${t}, ${c})`,
    finite: (a) => `finite(${a})`,
    opaque: (a) => `opaque(${a})`,
    tHi: 't.x', tLo: 't.y',
    cfg: (n) => `cfg.${n}`,
    saveTime: (s) => [`save_t[2u * ${s}]`, `save_t[2u * ${s} + 1u]`],
    saveBase: '(i * cfg.n_save + save) * N',
    fn: (name, params, returns, body) =>
      `fn ${name}(${params.map(([n, k]) => `${n}: ${types[k]}`).join(', ')}) -> ${returns} {\n${body}\n}`,
    vecFn: (name, params, result, init, body) =>
      `fn ${name}(${params.map(([n, k]) => `${n}: ${types[k]}`).join(', ')}) -> ${types.vec} {\n  var ${result} = ${init};\n${body}\n  return ${result};\n}`,
    replayStep: '',
  };
}

/** Loops of at most this many iterations with constant bounds are unrolled in the JS target. */
const JS_UNROLL = 8;

/**
 * JS: loops over states, f64 literals, vectors preallocated once per compiled function (listed in
 * `vectors` for the factory to allocate) and written through output arguments.
 */
export function jsTarget(N: number): StepTarget & { vectors: Map<string, { size: number; int: boolean }> } {
  const vectors = new Map<string, { size: number; int: boolean }>();
  return {
    name: 'js', N, vectors,
    lit: f64Literal,
    u: (x) => String(x),
    let: (n, e) => `const ${n} = ${e};`,
    var: (n, e) => `let ${n} = ${e};`,
    vec: (n, size = N, int = false) => { vectors.set(n, { size, int }); return ''; },
    copy: (d, s) => `${d}.set(${s});`,
    alias: (n, s) => `const ${n} = ${s};`,
    // In place (dst among the arguments) goes through a scratch vector: the generated functions
    // write their output while still reading their input.
    call: (d, fn, args, _declare) => {
      if (!args.includes(d)) return `${fn}(${args.join(', ')}, ${d});`;
      vectors.set('_scratch', { size: N, int: false });
      return `${fn}(${args.join(', ')}, _scratch); ${d}.set(_scratch);`;
    },
    // Short loops with constant bounds are unrolled, as in WGSL: for the small N of most models a
    // loop's counter and bounds checks cost as much as its body.
    for: (v, from, to, body, down = false) => {
      if (typeof from === 'number' && typeof to === 'number' && to - from <= JS_UNROLL) {
        const idx = range(Math.max(0, to - from)).map((k) => from + k);
        return (down ? idx.reverse() : idx).map(body).filter(Boolean).join('\n');
      }
      return down
        ? `for (let ${v} = (${to}) - 1; ${v} >= ${from}; ${v}--) {\n${body(v)}\n}`
        : `for (let ${v} = ${from}; ${v} < ${to}; ${v}++) {\n${body(v)}\n}`;
    },
    forever: (body) => `for (;;) {\n${body}\n}`,
    min: (a, b) => `Math.min(${a}, ${b})`,
    max: (a, b) => `Math.max(${a}, ${b})`,
    abs: (a) => `Math.abs(${a})`,
    sqrt: (a) => `Math.sqrt(${a})`,
    pow: (a, b) => `Math.pow(${a}, ${b})`,
    select: (f, t, c) => `((${c}) ? (${t}) : (${f}))`,
    finite: (a) => `Number.isFinite(${a})`,
    opaque: (a) => `(${a})`,
    tHi: 'tx', tLo: 'ty',
    cfg: (n) => ({ atol: 'atol', rtol: 'rtol', dt: 'dt', n_save: 'nSave', max_steps: 'maxSteps', t1_hi: 't1', t1_lo: '0' })[n],
    saveTime: (s) => [`saveat[${s}]`, '0'],
    saveBase: 'outOffset + save * N',
    fn: (name, params, _returns, body) => `function ${name}(${params.map(([n]) => n).join(', ')}) {\n${body}\n}`,
    vecFn: (name, params, result, init, body) =>
      `function ${name}(${params.map(([n]) => n).join(', ')}, ${result}) {\n  ${result}.set(${init});\n${body}\n}`,
    replayStep: 'if (replay !== undefined) { hs = steps < replay.length ? replay[steps] : remaining; }',
  };
}

/**
 * Re-indents generated source by its braces (two spaces per level) and drops empty lines, so the
 * pieces above can be written flush left and the result still reads like hand-written code.
 */
export function formatSource(src: string): string {
  let depth = 0;
  const out: string[] = [];
  for (const raw of src.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const opens = (line.match(/[{(\[]/g) ?? []).length, closes = (line.match(/[})\]]/g) ?? []).length;
    const leading = /^[})\]]/.test(line) ? 1 : 0;
    out.push('  '.repeat(Math.max(0, depth - leading)) + line);
    depth = Math.max(0, depth + opens - closes);
  }
  return `${out.join('\n')}\n`;
}

/** Constants every attempt reads: status codes, flags, ε and the end slack. */
export function stepConstants(T: StepTarget): string {
  const c = (name: string, v: string, type: string) => (T.name === 'wgsl' ? `const ${name}: ${type} = ${v};` : `const ${name} = ${v};`);
  return [
    ...Object.entries(STATUS).map(([k, v]) => c(`STATUS_${k.toUpperCase()}`, T.u(v), 'u32')),
    ...Object.entries(FLAGS).map(([k, v]) => c(`FLAG_${k}`, T.u(v), 'u32')),
    c('EPS', T.name === 'wgsl' ? '1.1920929e-7' : '2.220446049250313e-16', 'f32'),
    // t counts as t1 once within this many ulps of it (the rest is rounding in the sum of steps).
    c('END_SLACK', '8.0 * EPS', 'f32'),
  ].join('\n');
}

/** Σ coef_j · vec_j[i], skipping zero coefficients. */
export function lincomb(T: StepTarget, coefs: number[], vecs: string[], i: Index): string {
  const terms = coefs.map((c, j) => (c === 0 ? '' : `${T.lit(c)} * ${vecs[j]}[${i}]`)).filter(Boolean);
  return terms.length ? terms.join(' + ') : '0.0';
}

/** i + 1 for a constant or a loop variable. */
const next = (i: Index): Index => (typeof i === 'number' ? i + 1 : `${i} + 1`);

/** Element (r, c) of a row-major N×N matrix, folded when both are constants. */
const at = (N: number, r: Index, c: Index) => (typeof r === 'number' && typeof c === 'number' ? `${r * N + c}` : `${r} * ${N} + ${c}`);

/** (a_hi + a_lo) − (t_hi + t_lo), accurate while the two are close. */
export const timeUntil = (T: StepTarget, hi: string, lo: string, tHi = T.tHi, tLo = T.tLo) => `((${hi} - ${tHi}) + (${lo} - ${tLo}))`;

/** t ← t + h kept as an unevaluated sum hi + lo (Knuth's TwoSum), so 1e6 f32 steps do not drift by 1e6 ulps. */
function addTime(T: StepTarget, h: string): string {
  const o = T.opaque;
  return `{
  ${T.let('ts_s', o(`${T.tHi} + ${h}`))}
  ${T.let('ts_bp', o(`ts_s - ${T.tHi}`))}
  ${T.let('ts_e', `(${T.tHi} - ${o('ts_s - ts_bp')}) + (${h} - ts_bp)`)}
  ${T.let('ts_lo', o(`${T.tLo} + ts_e`))}
  ${T.tHi} = ${o('ts_s + ts_lo')};
  ${T.tLo} = ts_lo - ${o(`${T.tHi} - ts_s`)};
}`;
}

/**
 * The functions every attempt calls: land_on, scaled_norm, all_finite, initial_step, and for
 * Rosenbrock methods lu_solve.
 */
export function stepHelpers(T: StepTarget, rosenbrock: boolean): string {
  const N = T.N;
  const sq = (e: string) => `(${e}) * (${e})`;
  const sk = (yv: string, i: Index) => `(${T.cfg('atol')} + ${T.cfg('rtol')} * ${T.abs(`${yv}[${i}]`)})`;
  // The mean squares of f₀ and y₀ scaled by the tolerances (Hairer's d₁², d₀²).
  const norms = `  ${T.var('dnf', '0.0')}
  ${T.var('dny', '0.0')}
${T.for('i', 0, N, (i) => `  dnf += ${sq(`f0[${i}] / ${sk('y0', i)}`)};\n  dny += ${sq(`y0[${i}] / ${sk('y0', i)}`)};`)}
  dnf = dnf / ${T.lit(N)};
  dny = dny / ${T.lit(N)};`;
  return [
    // The whole remaining distance when h would overshoot it or stop a sliver short of it (a sliver
    // being < 1e-6·h, or so close to t that the step underflow test would refuse it).
    T.fn('land_on', [['h', 'f32'], ['distance', 'f32'], ['t', 'f32']], 'f32',
      `  return ${T.select('h', 'distance', `distance <= h * (1.0 + 1e-6) + 16.0 * EPS * ${T.abs('t')}`)};`),
    // RMS of e_i / (atol + rtol·max(|y_i|, |ynew_i|)) — Hairer's scaled error norm.
    T.fn('scaled_norm', [['e', 'vec'], ['y', 'vec'], ['ynew', 'vec']], 'f32', `  ${T.var('acc', '0.0')}
${T.for('i', 0, N, (i) => `  acc += ${sq(`e[${i}] / (${T.cfg('atol')} + ${T.cfg('rtol')} * ${T.max(T.abs(`y[${i}]`), T.abs(`ynew[${i}]`))})`)};`)}
  return ${T.sqrt(`acc / ${T.lit(N)}`)};`),
    // The high part of t + h as addTime leaves it: the FSAL stage f(t + h, y₁) is evaluated at this
    // time, so that it is bit for bit the f₀ that a new dispatch, or the adjoint's replay from a
    // checkpoint, computes from the stored (t, y) — for non-autonomous models too.
    T.fn('time_after', [['t_hi', 'f32'], ['t_lo', 'f32'], ['h', 'f32']], 'f32', `  ${T.let('ts_s', T.opaque('t_hi + h'))}
  ${T.let('ts_bp', T.opaque('ts_s - t_hi'))}
  ${T.let('ts_e', `(t_hi - ${T.opaque('ts_s - ts_bp')}) + (h - ts_bp)`)}
  ${T.let('ts_lo', T.opaque('t_lo + ts_e'))}
  return ${T.opaque('ts_s + ts_lo')};`),
    T.fn('all_finite', [['v', 'vec']], 'bool', `  ${T.var('ok', 'true')}
${T.for('i', 0, N, (i) => `  ok = ok && ${T.finite(`v[${i}]`)};`)}
  return ok;`),
    // Hairer's starting step (HNW I, §II.4, DOPRI5's HINIT): h₀ from ‖y₀‖/‖f₀‖ (initial_guess),
    // refined with one explicit Euler step so that h^(q+1)·max(‖f'‖, ‖f₀‖) ≈ 0.01 (initial_refine
    // with f₁ = f(t₀ + h₀, y₀ + h₀ f₀)). Split so a kernel can make that call of f at a call site
    // it shares (`startLooped`).
    T.fn('initial_guess', [['y0', 'vec'], ['f0', 'vec'], ['hmax', 'f32']], 'f32', `${norms}
  ${T.var('h', T.select(`${T.sqrt('dny / dnf')} * 0.01`, '1e-6', 'dnf <= 1e-10 || dny <= 1e-10'))}
  return ${T.min('h', 'hmax')};`),
    T.fn('initial_refine', [['y0', 'vec'], ['f0', 'vec'], ['hinit_f1', 'vec'], ['h', 'f32'], ['order', 'f32'], ['hmax', 'f32']], 'f32', `${norms}
  ${T.var('der2', '0.0')}
${T.for('i', 0, N, (i) => `  der2 += ${sq(`(hinit_f1[${i}] - f0[${i}]) / ${sk('y0', i)}`)};`)}
  der2 = ${T.sqrt(`der2 / ${T.lit(N)}`)} / h;
  ${T.let('der12', T.max(T.abs('der2'), T.sqrt('dnf')))}
  ${T.let('h1', T.select(T.pow('0.01 / der12', '1.0 / order'), T.max('1e-6', 'h * 1e-3'), `der12 <= 1e-15 || !${T.finite('der12')}`))}
  ${T.let('hn', T.min(T.min('100.0 * h', 'h1'), 'hmax'))}
  return ${T.select(T.min('1e-6', 'hmax'), 'hn', `${T.finite('hn')} && hn > 0.0`)};`),
    T.fn('initial_step', [['t0', 'f32'], ['y0', 'vec'], ['f0', 'vec'], ['p', 'params'], ['order', 'f32'], ['hmax', 'f32']], 'f32', `  ${T.let('h', 'initial_guess(y0, f0, hmax)')}
  ${T.vec('hinit_y1')}
${T.for('i', 0, N, (i) => `  hinit_y1[${i}] = y0[${i}] + h * f0[${i}];`)}
  ${T.vec('hinit_f1')}
  ${T.call('hinit_f1', 'rhs', ['t0 + h', 'hinit_y1', 'p'], false)}
  return initial_refine(y0, f0, hinit_f1, h, order, hmax);`),
    rosenbrock ? luSolve(T) : '',
  ].filter(Boolean).join('\n\n');
}

/**
 * LU with partial pivoting of the N×N matrix `W` in place; `piv[c]` is the row swapped with row c
 * (LAPACK's ipiv). Unrolled in WGSL, the pivot row is found with comparisons and swapped in with
 * branches on constants, so every array index stays a constant. Pivoting matters when
 * W = I/(hγ) − J has small diagonal entries (large steps on oscillatory stiff problems); without
 * it the factors grow like 1/pivot. A zero pivot gives non-finite factors, which the attempt
 * rejects like any non-finite trial.
 */
export function luFactor(T: StepTarget): string {
  const N = T.N;
  return T.for('c', 0, N, (c) => `{
  ${T.var('pr', T.u(c))}
  ${T.var('best', T.abs(`W[${at(N, c, c)}]`))}
${T.for('r', next(c), N, (r) => `  if (${T.abs(`W[${at(N, r, c)}]`)} > best) { best = ${T.abs(`W[${at(N, r, c)}]`)}; pr = ${T.u(r)}; }`)}
  piv[${c}] = pr;
${T.for('r', next(c), N, (r) => `  if (pr == ${T.u(r)}) {
${T.for('j', 0, N, (j) => `    { ${T.let('sw', `W[${at(N, c, j)}]`)} W[${at(N, c, j)}] = W[${at(N, r, j)}]; W[${at(N, r, j)}] = sw; }`)}
  }`)}
${T.for('r', next(c), N, (r) => `  W[${at(N, r, c)}] = W[${at(N, r, c)}] / W[${at(N, c, c)}];
${T.for('j', next(c), N, (j) => `  W[${at(N, r, j)}] = W[${at(N, r, j)}] - W[${at(N, r, c)}] * W[${at(N, c, j)}];`)}`)}
}`);
}

/** Solves (LU) x = P b for the factors of `luFactor`: row swaps, forward, back substitution. */
export function luSolve(T: StepTarget): string {
  const N = T.N;
  return T.vecFn('lu_solve', [['W', 'mat'], ['piv', 'piv'], ['b', 'vec']], 'x', 'b', [
    T.for('c', 0, N - 1, (c) => T.for('r', next(c), N, (r) =>
      `  if (piv[${c}] == ${T.u(r)}) { ${T.let('sw', `x[${c}]`)} x[${c}] = x[${r}]; x[${r}] = sw; }`)),
    T.for('i', 0, N, (i) => T.for('j', 0, i, (j) => `  x[${i}] = x[${i}] - W[${at(N, i, j)}] * x[${j}];`)),
    T.for('i', 0, N, (i) => [
      T.for('j', next(i), N, (j) => `  x[${i}] = x[${i}] - W[${at(N, i, j)}] * x[${j}];`),
      `  x[${i}] = x[${i}] / W[${at(N, i, i)}];`,
    ].filter(Boolean).join('\n'), true),
  ].filter(Boolean).join('\n'));
}

/**
 * Solves Wᵀ x = b for the factors of `luFactor` (W = Pᵀ L U with P = P_(N−2)⋯P_0, so
 * Wᵀ = Uᵀ Lᵀ P): Uᵀ z = b, Lᵀ w = z, then the row swaps in reverse order. The Rosenbrock adjoint
 * needs it: the cotangent of U_s = W⁻¹ r_s is r̄_s = W⁻ᵀ Ū_s.
 */
export function luSolveTransposed(T: StepTarget): string {
  const N = T.N;
  return T.vecFn('lu_solve_t', [['W', 'mat'], ['piv', 'piv'], ['b', 'vec']], 'x', 'b', [
    T.for('i', 0, N, (i) => [
      T.for('j', 0, i, (j) => `  x[${i}] = x[${i}] - W[${at(N, j, i)}] * x[${j}];`),
      `  x[${i}] = x[${i}] / W[${at(N, i, i)}];`,
    ].filter(Boolean).join('\n')),
    T.for('i', 0, N, (i) => T.for('j', next(i), N, (j) => `  x[${i}] = x[${i}] - W[${at(N, j, i)}] * x[${j}];`), true),
    T.for('c', 0, N - 1, (c) => T.for('r', next(c), N, (r) =>
      `  if (piv[${c}] == ${T.u(r)}) { ${T.let('sw', `x[${c}]`)} x[${c}] = x[${r}]; x[${r}] = sw; }`), true),
  ].filter(Boolean).join('\n'));
}

/** Stages the step itself uses (the rest, if any, serve only the dense output). */
export const stepStages = (m: Method) => m.c.length - (m.kind === 'explicit' ? (m.interpolationStages ?? 0) : 0);

/** The PI controller's exponents for a method (HNW I §II.4; CONTROLLER). */
function controllerExponents(m: Method): { expo: number; beta: number } {
  const beta = CONTROLLER.betaFor(m);
  const q = m.kind === 'explicit' ? (m.errorOrder ?? m.order) : m.errorOrder;
  return { expo: 1 / q - 0.75 * beta, beta };
}

/** y ← y + v with Kahan compensation: ynew = y + (Σ w_j V_j·scale − yc), ycn the new compensation. */
function compensatedUpdate(T: StepTarget, w: number[], V: string[], scale = '', declare = true): string {
  return `${declare ? `${T.vec('ynew')}\n${T.vec('ycn')}` : ''}
${T.for('i', 0, T.N, (i) => `{ ${T.let('v', `${scale}(${lincomb(T, w, V, i)}) - yc[${i}]`)} ynew[${i}] = ${T.opaque(`y[${i}] + v`)}; ycn[${i}] = ${T.opaque(`ynew[${i}] - y[${i}]`)} - v; }`)}`;
}

/**
 * The explicit stages k_from … k_(to−1) from (t, y) with step h: u_s = y + h Σ_j a_sj k_j (the stage
 * point), k_s = f(t + c_s h, u_s). k_0 is defined by the caller.
 */
export function explicitStages(
  T: StepTarget, tab: ExplicitTableau, from: number, to: number, h: string, t: string,
  { declareK = true, needK = () => true, looped }: { declareK?: boolean; needK?: (s: number) => boolean; looped?: string } = {},
): string {
  const k = range(tab.c.length).map((s) => `k${s}`);
  // The stages whose k is needed, as one loop (see `loopedStages`); the points of any after them unrolled.
  const lastK = range(to - from).map((d) => from + d).filter(needK).pop() ?? from - 1;
  if (looped !== undefined && lastK > from) {
    const unrolled = explicitStages(T, tab, lastK + 1, to, h, t, { declareK, needK });
    return `${loopedStages(T, tab, from, lastK + 1, h, t, looped, declareK)}\n${unrolled}`;
  }
  return range(to - from).map((d) => {
    const s = from + d;
    return `${T.vec(`u${s}`)}
${T.for('i', 0, T.N, (i) => `u${s}[${i}] = y[${i}] + ${h} * (${lincomb(T, tab.a[s]!, k, i)});`)}
${needK(s) ? `${declareK ? T.vec(`k${s}`) : ''}\n${T.call(`k${s}`, 'rhs', [`${t} + ${T.lit(tab.c[s]!)} * ${h}`, `u${s}`, 'p'], false)}` : ''}`;
  }).join('\n');
}

/**
 * Stages from … to−1 (from = 0: k_0 = f(t, y) too) as one WGSL loop: a switch builds the stage's point u_s and picks c_s
 * (with `fsalUpdate`, the last stage's point is y₁ that the update computes into `ynew`), one call
 * of f computes k_s, another switch stores both. With a neural term each call of f inlines the
 * network, and llvmpipe's code generation grew faster than linearly with the copies, so one copy
 * instead of one per stage is what keeps the UDE kernels' compile time down; the mechanistic models'
 * f is cheap and they keep the unrolled form. `one` is 1u at run time, unknown to the compiler,
 * which would otherwise unroll the loop again.
 */
function loopedStages(T: StepTarget, tab: ExplicitTableau, from: number, to: number, h: string, t: string, one: string, declareK: boolean, fsalUpdate?: string): string {
  const N = T.N;
  const k = range(tab.c.length).map((s) => `k${s}`);
  const stages = range(to - from).map((d) => from + d);
  const cases = (body: (s: number) => string) => switchCases(stages, body);
  return `${stages.map((s) => `${T.vec(`u${s}`)}${declareK ? `\n${T.vec(`k${s}`)}` : ''}`).join('\n')}
for (var sq = 0u; sq < ${to - from}u * ${one}; sq += 1u) {
  let st = ${from}u + sq;
  var pt: array<f32, ${N}>;
  var cs = 0.0;
  switch st {
${cases((s) => `${s === 0 ? '    pt = y;' : fsalUpdate && s === to - 1 ? `${fsalUpdate}\n    pt = ynew;` : T.for('i', 0, N, (i) => `    pt[${i}] = y[${i}] + ${h} * (${lincomb(T, tab.a[s]!, k, i)});`)}\n    cs = ${T.lit(tab.c[s]!)};`)}
  default: {}
  }
  var te = ${t} + cs * ${h};
${fsalUpdate ? `  if (st == ${to - 1}u) { te = time_after(${T.tHi}, ${T.tLo}, ${h}); }
` : ''}  let kk = rhs(te, pt, p);
  switch st {
${cases((s) => `    u${s} = pt;\n    k${s} = kk;`)}
  default: {}
  }
}`;
}

/** The cases of a WGSL `switch` over stage indices; a stage whose body is empty gets none. */
function switchCases(stages: number[], body: (s: number) => string): string {
  return stages.map((s) => [s, body(s)] as const).filter(([, b]) => b).map(([s, b]) => `  case ${s}u: {\n${b}\n  }`).join('\n');
}

/**
 * The stage vectors the CPU adjoint keeps per explicit step, in the order of its StageRecord
 * (src/training/adjoint.ts): k_0, then per stage s ≥ 1 the point u_s and k_s where a later stage or
 * y₁ reads it (b_s ≠ 0).
 */
export function explicitRecordNames(tab: ExplicitTableau): string[] {
  const later = readByLaterStage(tab);
  return ['k0', ...range(tab.c.length).slice(1).flatMap((s) => [`u${s}`, ...(later(s) || (tab.b[s] ?? 0) !== 0 ? [`k${s}`] : [])])];
}

/**
 * The forward step's names for `explicitRecordNames` when it has them all at acceptance (every
 * stage is a step stage): the FSAL stage's point u_last is y₁ itself, `ynew` (with its compensated
 * sum, as the forward step evaluated k_last there). Undefined when a stage is computed only for
 * interpolation, or for a Rosenbrock method.
 */
export function acceptedStageNames(m: Method): string[] | undefined {
  if (m.kind !== 'explicit' || stepStages(m) !== m.c.length) return undefined;
  const last = m.c.length - 1;
  return explicitRecordNames(m).map((n) => (m.fsal && n === `u${last}` ? 'ynew' : n));
}

/** Whether k_s is read by a later stage (the adjoint's replay needs only those, plus the points). */
export const readByLaterStage = (tab: ExplicitTableau) => (s: number) => tab.a.some((row, j) => j > s && (row[s] ?? 0) !== 0);

/**
 * The weight of stage j in the dense output at `theta` ∈ [0, 1) within the step, or undefined when
 * it is 0: explicit y(θ) = y + h Σ b_j(θ) k_j with b_j(θ) = Σ_m dense[j][m] θ^(m+1) in Horner form;
 * Rosenbrock y(θ) = y + Σ (θ m_j + θ(1−θ)(h2_j + θ h3_j)) U_j (Hairer's CONT form with the
 * increment, which keeps f32 digits). Explicit weights exclude the factor h.
 */
export function denseWeight(T: StepTarget, m: Method, j: number, theta: string): string | undefined {
  if (!m.dense) return undefined;
  if (m.kind === 'rosenbrock') {
    const d = m.dense;
    const mj = m.m[j]!, h2 = d.h2[j]!, h3 = d.h3[j]!;
    if (mj === 0 && h2 === 0 && h3 === 0) return undefined;
    return `(${theta} * ${T.lit(mj)} + ${theta} * (1.0 - ${theta}) * (${T.lit(h2)} + ${theta} * ${T.lit(h3)}))`;
  }
  const row = m.dense[j]!;
  if (row.every((x) => x === 0)) return undefined;
  let acc = T.lit(row[row.length - 1]!);
  for (let q = row.length - 2; q >= 0; q--) acc = `(${T.lit(row[q]!)} + ${theta} * ${acc})`;
  return `${acc} * ${theta}`;
}

/**
 * The interpolation-only stages of an explicit tableau (`interpolationStages`), evaluated once per
 * accepted step and only when a save falls strictly inside it. Needs k_(FSAL) = f(t + h, y₁).
 */
function interpolationStages(T: StepTarget, tab: ExplicitTableau): string {
  const first = stepStages(tab);
  if (first === tab.c.length) return '';
  return `if (!interp_ready) {
${explicitStages(T, tab, first, tab.c.length, 'hs', T.tHi, { declareK: false })}
  interp_ready = true;
}`;
}

/**
 * The forward solvers' `onAccept`: writes the saves in (t, t + hs] from the dense output (or y₁
 * for a method without one).
 */
export function saveLoop(T: StepTarget, m: Method, projects: boolean, next?: NextSave): string {
  const N = T.N, nStages = m.c.length;
  const [hi, lo] = nextSaveTime(T, next);
  const explicit = m.kind === 'explicit';
  const V = range(nStages).map((j) => (explicit ? `k${j}` : `U${j}`));
  let dense = '';
  if (m.dense) {
    const w = range(nStages).map((j) => denseWeight(T, m, j, 'theta'));
    const sum = (i: Index) => w.map((wj, j) => (wj ? `dw${j} * ${V[j]}[${i}]` : '')).filter(Boolean).join(' + ');
    dense = `${explicit ? interpolationStages(T, m) : ''}
${w.map((wj, j) => (wj ? T.let(`dw${j}`, wj) : '')).filter(Boolean).join('\n')}
${T.for('i', 0, N, (i) => `ys[${i}] = y[${i}] + ${explicit ? `hs * (${sum(i)})` : sum(i)};`)}`;
  }
  const needsInterp = explicit && m.dense && stepStages(m) < nStages;
  return `{
${needsInterp ? `${T.var('interp_ready', 'false')}\n${range(nStages - stepStages(m)).map((d) => T.vec(`k${stepStages(m) + d}`)).join('\n')}` : ''}
${T.forever(`if (save >= ${T.cfg('n_save')}) { break; }
${T.let('dist', timeUntil(T, hi, lo))}
if (dist > hs * (1.0 + 4.0 * EPS)) { break; }
${T.let('theta', 'dist / hs')}
${T.let('ob', T.saveBase)}
${T.vec('ys')}
${m.dense ? `if (theta >= 1.0) {\n${T.copy('ys', 'ynew')}\n} else {\n${dense}\n}` : T.copy('ys', 'ynew')}
${projects ? `// Saved states lie on the projection manifold too.\n${T.call('ys', 'project', [`${T.tHi} + dist`, 'ys', 'p'], false)}` : ''}
${T.for('i', 0, N, (i) => `out[ob + ${T.u(i)}] = ys[${i}];`)}
save += ${T.u(1)};${next ? `\n${next.reload}` : ''}`)}
}`;
}

/**
 * The time of save `save` as a driver keeps it in registers (WGSL forward kernels): its hi and lo
 * parts, and the statement that reloads them after `save` moves. Why: llvmpipe reads a storage
 * buffer lane by lane, each read bounds-checked, and the save loop's test read save_t[save] at
 * every accepted step (bench/README.md, "The next save time in registers").
 */
export interface NextSave { hi: string; lo: string; reload: string }

/** Save `save`'s time as (hi, lo): from the driver's registers if it keeps them, else from the array. */
const nextSaveTime = (T: StepTarget, next?: NextSave): [string, string] => (next ? [next.hi, next.lo] : T.saveTime('save'));

export interface AttemptOptions {
  /** Fixed steps of dt (no error control). */
  fixedStep: boolean;
  /** The model has a projection applied after each accepted step. */
  projects: boolean;
  /**
   * Runs after an accepted step, before t and y advance, with hs, ynew and the stages in scope:
   * the forward solvers write the saves (`saveLoop`), the adjoint's replay tapes the step.
   */
  onAccept: string;
  /** WGSL: the explicit stages as one loop (`loopedStages`), with this expression of value 1u unknown to the compiler. */
  loopStages?: string;
  /** The starting step was chosen before the attempts (`startLooped`): the attempt does not call initial_step. */
  startChosen?: boolean;
  /** The driver keeps save `save`'s time in registers (`NextSave`); onAccept must reload it. */
  nextSave?: NextSave;
}

/** Whether an explicit method runs with error control (else fixed steps of cfg.dt). */
export const explicitAdaptive = (tab: ExplicitTableau, fixedStep: boolean) => tab.btilde !== undefined && !fixedStep;

/**
 * WGSL: f₀ = f(t, y) where a dispatch (or a replayed segment) starts and, before a trajectory's
 * first attempt with no step size yet, Hairer's starting step (initial_guess, f at the Euler
 * point, initial_refine), with one call of f for both: in the adjoint's kernels that call inlines
 * the network, and initial_step's own call would be one more copy of it. The same arithmetic as
 * initial_step, so the same steps. `one` as in `loopedStages`.
 */
function startLooped(T: StepTarget, m: ExplicitTableau, fixedStep: boolean, one: string): string {
  if (!explicitAdaptive(m, fixedStep)) return `var f0 = rhs(${T.tHi}, y, p);`;
  const hmax = timeUntil(T, T.cfg('t1_hi'), T.cfg('t1_lo'));
  return `var f0: array<f32, ${T.N}>;
let choose_h = steps + rejected == 0u && (flags & FLAG_LAST_REJECTED) == 0u && h == 0.0;
var h_guess = 0.0;
for (var e = 0u; e < select(1u, 2u, choose_h) * ${one}; e += 1u) {
  var pt = y;
  var te = ${T.tHi};
  if (e == 1u) {
${range(T.N).map((i) => `    pt[${i}] = y[${i}] + h_guess * f0[${i}];`).join('\n')}
    te = ${T.tHi} + h_guess;
  }
  let fe = rhs(te, pt, p);
  if (e == 0u) {
    f0 = fe;
    h_guess = initial_guess(y, f0, ${hmax});
  } else {
    h = initial_refine(y, f0, fe, h_guess, ${T.lit(m.order)}, ${hmax});
    nfev += 1u;
  }
}`;
}

/**
 * How a driver starts before its step loop: f₀ = f(t, y), and with looped stages (`one` as in
 * `loopedStages`) f₀ and the starting step at one call site (`startLooped`). The forward kernel and
 * the GPU adjoint's replay both start here, so that the replay retraces the forward pass's steps bit
 * for bit; `startChosen` goes to `stepAttempt` with them.
 */
export function driverStart(T: StepTarget, m: Method, fixedStep: boolean, loopStages?: string): { start: string; startChosen: boolean } {
  if (loopStages !== undefined && m.kind === 'explicit') return { startChosen: true, start: startLooped(T, m, fixedStep, loopStages) };
  return { startChosen: false, start: `var f0 = rhs(${T.tHi}, y, p);` };
}

/** The loop head shared by every driver: success at t1, max_steps, then `budget` (GPU: attempts per dispatch). */
export function loopHead(T: StepTarget, budget = ''): string {
  return `if (status != STATUS_RUNNING) { break; }
${T.let('remaining', timeUntil(T, T.cfg('t1_hi'), T.cfg('t1_lo')))}
if (remaining <= END_SLACK * ${T.abs(T.cfg('t1_hi'))}) { status = STATUS_SUCCESS; break; }
${budget}
if (steps + rejected >= ${T.cfg('max_steps')}) { status = STATUS_MAX_STEPS; break; }`;
}


/**
 * One step attempt, the body of the step loop: `continue` after a rejection, `break` with a final
 * status. The forward solvers on both targets and the GPU adjoint's replay share it, so the replay
 * takes the steps the forward pass took.
 */
export function stepAttempt(T: StepTarget, m: Method, o: AttemptOptions): string {
  return m.kind === 'rosenbrock' ? rosenbrockAttempt(T, m, o) : explicitAttempt(T, m, o);
}

/** First attempt: the starting step; then hs (landing on t1, and on saves without dense output). */
function stepSize(T: StepTarget, m: Method, adaptive: boolean, order: number, startChosen = false, next?: NextSave): string {
  const [hi, lo] = nextSaveTime(T, next);
  return `${adaptive && startChosen ? '' : `if (steps + rejected == ${T.u(0)} && (flags & FLAG_LAST_REJECTED) == ${T.u(0)} && h == 0.0) {
  ${adaptive ? `h = initial_step(${T.tHi}, y, f0, p, ${T.lit(order)}, ${timeUntil(T, T.cfg('t1_hi'), T.cfg('t1_lo'))});\n  nfev += ${T.u(1)};` : `h = ${T.cfg('dt')};`}
}`}
${T.var('hs', `land_on(h, remaining, ${T.tHi})`)}
${m.dense ? '' : `// Without a dense output the step lands exactly on the next save time.
if (save < ${T.cfg('n_save')}) { hs = land_on(hs, ${timeUntil(T, hi, lo)}, ${T.tHi}); }`}
${T.replayStep}
if (!(hs > EPS * ${T.abs(T.tHi)}) || !(hs > 0.0)) {
  status = ${T.select('STATUS_DT_UNDERFLOW', 'STATUS_NON_FINITE', `(flags & FLAG_LAST_NONFINITE) != ${T.u(0)}`)};
  break;
}`;
}

/** A non-finite trial: rejected with a much smaller step (adaptive), or the end of the trajectory (fixed steps are the caller's). */
function nonFiniteTrial(T: StepTarget, adaptive: boolean): string {
  return adaptive ? `rejected += ${T.u(1)};
  flags = flags | FLAG_LAST_REJECTED | FLAG_LAST_NONFINITE;
  h = hs * ${T.lit(CONTROLLER.nonFiniteShrink)};
  continue;` : `status = STATUS_NON_FINITE;
  break;`;
}

/** err > 1: rejected, the step shrinks by the controller's rule (no PI memory); `fac11` = err^expo in scope. */
function rejection(T: StepTarget, adaptive: boolean): string {
  return adaptive ? `if (err > 1.0) {
  rejected += ${T.u(1)};
  h = hs / ${T.min(T.lit(1 / CONTROLLER.minShrink), `fac11 / ${T.lit(CONTROLLER.safety)}`)};
  flags = flags | FLAG_LAST_REJECTED;
  continue;
}` : '';
}

/** After an accepted step: advance t, y, the compensation; project; f at the new point (FSAL reuses the last stage). */
function advance(T: StepTarget, fsal: boolean, projects: boolean, lastStage: string): string {
  return `${addTime(T, 'hs')}
${T.copy('y', 'ynew')}
${T.copy('yc', 'ycn')}
steps += ${T.u(1)};
${projects ? T.call('y', 'project', [T.tHi, 'y', 'p'], false) : ''}
${fsal && !projects ? T.copy('f0', lastStage) : `${T.call('f0', 'rhs', [T.tHi, 'y', 'p'], false)}\nnfev += ${T.u(1)};`}`;
}

/** The accepted step's new h: PI control (Gustafsson 1991) clamped, no growth right after a rejection. */
function nextStep(T: StepTarget, beta: number, withMemory: boolean): string {
  const memory = beta !== 0 ? ` / ${T.pow('err_prev', T.lit(beta))}` : '';
  return `${T.let('fac', T.max(T.lit(1 / CONTROLLER.maxGrowth), T.min(T.lit(1 / CONTROLLER.minShrink), `fac11${memory} / ${T.lit(CONTROLLER.safety)}`)))}
${T.var('hn', 'hs / fac')}
if ((flags & FLAG_LAST_REJECTED) != ${T.u(0)}) { hn = ${T.min('hn', 'hs')}; }
${withMemory ? `err_prev = ${T.max('err', '1e-4')};` : ''}
h = hn;`;
}

function explicitAttempt(T: StepTarget, tab: ExplicitTableau, o: AttemptOptions): string {
  const N = T.N;
  const nStep = stepStages(tab);
  const adaptive = explicitAdaptive(tab, o.fixedStep);
  const k = range(tab.c.length).map((s) => `k${s}`);
  const { expo, beta } = controllerExponents(tab);
  const lastK = `k${nStep - 1}`;
  return `${stepSize(T, tab, adaptive, tab.order, o.startChosen, o.nextSave)}
${T.alias('k0', 'f0')}
${tab.fsal && o.loopStages !== undefined ? `// y₁ = y + h Σ b_i k_i, then the FSAL stage f(t + h, y₁) at y₁ itself, in the stages' loop.
${T.vec('ynew')}
${T.vec('ycn')}
${loopedStages(T, tab, 1, nStep, 'hs', T.tHi, o.loopStages, true, compensatedUpdate(T, tab.b.slice(0, nStep), k, 'hs * ', false))}`
    : `${explicitStages(T, tab, 1, tab.fsal ? nStep - 1 : nStep, 'hs', T.tHi, { looped: o.loopStages })}
// y₁ = y + h Σ b_i k_i
${compensatedUpdate(T, tab.b.slice(0, nStep), k, 'hs * ')}
${tab.fsal ? `// The FSAL stage is f(t + h, y₁) at y₁ itself (with its compensated sum).\n${T.vec(lastK)}\n${T.call(lastK, 'rhs', ['time_after(' + T.tHi + ', ' + T.tLo + ', hs)', 'ynew', 'p'], false)}` : ''}`}
nfev += ${T.u(nStep - 1)};
${adaptive ? `${T.vec('e')}
${T.for('i', 0, N, (i) => `e[${i}] = hs * (${lincomb(T, tab.btilde!.slice(0, nStep), k, i)});`)}
${T.let('err', 'scaled_norm(e, y, ynew)')}` : T.let('err', '0.0')}
if (!${T.finite('err')} || !all_finite(ynew)${tab.fsal ? ` || !all_finite(${lastK})` : ''}) {
  ${nonFiniteTrial(T, adaptive)}
}
flags = flags & ~FLAG_LAST_NONFINITE;
${adaptive ? `${T.let('fac11', T.pow('err', T.lit(expo)))}\n${rejection(T, true)}` : ''}
${o.onAccept}
${advance(T, tab.fsal, o.projects, lastK)}
${adaptive ? `${nextStep(T, beta, true)}\n${stabilityCap(T, tab)}\nflags = flags & ~FLAG_LAST_REJECTED;` : ''}`;
}

/**
 * After an accepted explicit step: ρ ≈ ‖f(ĝ) − f(g)‖ / ‖ĝ − g‖ from two stages at the same time
 * (updated only where ĝ − g is more than rounding), and h ≤ stabilitySafety·β/ρ. Why the error
 * estimate alone is not enough: src/methods/controller.ts, `stiffnessProbe`.
 */
function stabilityCap(T: StepTarget, tab: ExplicitTableau): string {
  const nStep = stepStages(tab);
  const probe = stiffnessProbe(tab, nStep);
  if (!probe) return '';
  const [i, j] = probe.stages;
  // The FSAL stage's point is y₁ itself (the unrolled step has no separate u for it).
  const point = (s: number) => (tab.fsal && s === nStep - 1 ? 'ynew' : `u${s}`);
  const d = (v: (s: number) => string, q: Index) => `(${v(j)}[${q}] - ${v(i)}[${q}])`;
  const sq = (x: string) => `${x} * ${x}`;
  const floor = CONTROLLER.stiffnessUlps;
  return `{
  // Stability cap (HNW II §IV.2, DOPRI5's stiffness detection): stages ${i} and ${j} are both at t + ${tab.c[j]}h.
  ${T.var('dg2', '0.0')}
  ${T.var('dk2', '0.0')}
  ${T.var('yy', '0.0')}
  ${T.for('i', 0, T.N, (q) => `dg2 += ${sq(d(point, q))};
dk2 += ${sq(d((s) => `k${s}`, q))};
yy += ynew[${q}] * ynew[${q}];`)}
  if (dg2 > ${T.lit(floor * floor)} * EPS * EPS * yy) {
    ${T.let('rho_new', T.sqrt('dk2 / dg2'))}
    if (${T.finite('rho_new')}) { rho = rho_new; }
  }
  if (rho > 0.0) { h = ${T.min('h', `${T.lit(CONTROLLER.stabilitySafety * probe.boundary)} / rho`)}; }
}`;
}

/**
 * The stages of a Rosenbrock step in the transformed form (see `RosenbrockTableau`): W = I/(hγ) − J
 * factored once, then per stage W U_s = f(t + c_s h, u_s) + h d_s ∂f/∂t + (1/h) Σ C_sj U_j with
 * u_s = y + Σ a_sj U_j. With `fsalAtYnew` the FSAL stage is evaluated at the compensated y₁
 * (forward; defines ynew and ycn first); the adjoint's replay evaluates it at its stage point.
 */
export function rosenbrockStages(T: StepTarget, tab: RosenbrockTableau, fsalAtYnew: boolean): string {
  const N = T.N, NN = N * N, nStages = tab.c.length;
  const U = range(nStages).map((s) => `U${s}`);
  const stages: string[] = [];
  for (let s = 0; s < nStages; s++) {
    if (s === 0) stages.push(T.alias('fs0', 'f0'));
    else if (fsalAtYnew && tab.fsal && s === nStages - 1) {
      stages.push(compensatedUpdate(T, tab.m, U), T.vec(`fs${s}`), T.call(`fs${s}`, 'rhs', [`${T.tHi} + hs`, 'ynew', 'p'], false));
    } else {
      stages.push(T.vec(`u${s}`), T.for('i', 0, N, (i) => `u${s}[${i}] = y[${i}] + ${lincomb(T, tab.a[s]!, U, i)};`));
      stages.push(T.vec(`fs${s}`), T.call(`fs${s}`, 'rhs', [`${T.tHi} + ${T.lit(tab.c[s]!)} * hs`, `u${s}`, 'p'], false));
    }
    const Cs = tab.C[s]!;
    const terms = (i: Index) => [
      `fs${s}[${i}]`,
      tab.d[s] !== 0 ? `hs * ${T.lit(tab.d[s]!)} * dT[${i}]` : '',
      Cs.some((c) => c !== 0) ? `inv_h * (${lincomb(T, Cs, U, i)})` : '',
    ].filter(Boolean).join(' + ');
    stages.push(T.vec(`r${s}`), T.for('i', 0, N, (i) => `r${s}[${i}] = ${terms(i)};`));
    stages.push(T.vec(`U${s}`), T.call(`U${s}`, 'lu_solve', ['W', 'piv', `r${s}`], false));
  }
  return `${T.vec('J', NN)}
${T.call('J', 'jac', [T.tHi, 'y', 'p'], false)}
${T.vec('dT')}
${T.call('dT', 'dfdt', [T.tHi, 'y', 'p'], false)}
${T.let('inv_h', '1.0 / hs')}
${T.let('inv_hg', `inv_h * ${T.lit(1 / tab.gamma)}`)}
// W = I/(hγ) − J, factored once for all stages.
${T.vec('W', NN)}
${T.for('q', 0, NN, (q) => `W[${q}] = -J[${q}];`)}
${T.for('i', 0, N, (i) => `W[${at(N, i, i)}] = inv_hg - J[${at(N, i, i)}];`)}
${T.vec('piv', N, true)}
${luFactor(T)}
${stages.filter(Boolean).join('\n')}`;
}

function rosenbrockAttempt(T: StepTarget, tab: RosenbrockTableau, o: AttemptOptions): string {
  const N = T.N, nStages = tab.c.length;
  const { expo } = controllerExponents(tab);
  const U = range(nStages).map((s) => `U${s}`);
  return `${stepSize(T, tab, !o.fixedStep, tab.errorOrder, false, o.nextSave)}
${rosenbrockStages(T, tab, true)}
nfev += ${T.u(nStages - 1)};
${tab.fsal ? '' : compensatedUpdate(T, tab.m, U)}
${T.vec('e')}
${T.for('i', 0, N, (i) => `e[${i}] = ${lincomb(T, tab.e, U, i)};`)}
${T.let('err', 'scaled_norm(e, y, ynew)')}
if (!${T.finite('err')} || !all_finite(ynew)${tab.fsal ? ` || !all_finite(fs${nStages - 1})` : ''}) {
  ${nonFiniteTrial(T, !o.fixedStep)}
}
flags = flags & ~FLAG_LAST_NONFINITE;
${T.let('fac11', T.pow('err', T.lit(expo)))}
${rejection(T, !o.fixedStep)}
${o.onAccept}
${advance(T, tab.fsal, o.projects, `fs${nStages - 1}`)}
${o.fixedStep ? '' : nextStep(T, 0, false)}
flags = flags & ~FLAG_LAST_REJECTED;`;
}

/**
 * The adjoint of one explicit step with frozen h, given its stages (k_s, and the stage points u_s,
 * y for s = 0; every stage evaluated at its point, including FSAL and interpolation stages):
 *   k̄_s = h b_s ȳ₁ + Σ_saves h b_s(θ) ȳ_save,  then for s = last … 0:
 *   Ȳ_s = vjp(f at stage s)ᵀ k̄_s, ȳ₀ += Ȳ_s, k̄_j += h a_sj Ȳ_s (j < s).
 * Split in three so the drivers can read the saves' cotangents their own way:
 * `initKbar` (from ybar = ȳ₁), `saveKbar` (one save with `theta` and `bar` in scope) and `reverse`
 * (`vjp(s, point, t, v)` must leave the stage's ȳ contribution vᵀ∂f in `yb` and add p̄, θ̄ itself).
 */
export function explicitStepAdjoint(T: StepTarget, tab: ExplicitTableau) {
  const N = T.N, nStages = tab.c.length;
  const b = (s: number) => tab.b[s] ?? 0;
  const initKbar = range(nStages).map((s) => `${T.vec(`kb${s}`)}
${T.for('i', 0, N, (i) => `kb${s}[${i}] = ${b(s) === 0 ? '0.0' : `hs * ${T.lit(b(s))} * ybar[${i}]`};`)}`).join('\n');
  const w = range(nStages).map((j) => (tab.dense ? denseWeight(T, tab, j, 'theta') : undefined));
  const addSave = (weights: Array<string | undefined>) => range(nStages).map((j) => (weights[j] === undefined ? ''
    : T.for('i', 0, N, (i) => `kb${j}[${i}] += ${weights[j]} * bar[${i}];`))).filter(Boolean).join('\n');
  const atEnd = range(nStages).map((j) => (b(j) === 0 ? undefined : `hs * ${T.lit(b(j))}`));
  const saveKbar = `${tab.dense ? `if (theta >= 1.0) {
${addSave(atEnd)}
} else {
${addSave(w.map((x) => (x === undefined ? undefined : `hs * ${x}`)))}
}` : `// No dense output: the step ended on the save time, y_s = y₁.\n${addSave(atEnd)}`}
${T.for('i', 0, N, (i) => `ybar[${i}] += bar[${i}];`)}`;
  // A stage that neither y₁ nor a later stage reads (dopri5's and tsit5's FSAL stage) has k̄ = 0
  // unless a save falls inside the step: with `savesHere` (an expression), its VJP runs only then.
  const laterStage = readByLaterStage(tab);
  // Ȳ_s into ȳ_n and, through a_sj, into the earlier stages' k̄_j.
  const intoY = T.for('i', 0, N, (i) => `ybar[${i}] += yb[${i}];`);
  const intoEarlier = (s: number) => range(s).map((j) => (tab.a[s]![j] === 0 ? '' : T.for('i', 0, N, (i) => `kb${j}[${i}] += hs * ${T.lit(tab.a[s]![j]!)} * yb[${i}];`))).filter(Boolean).join('\n');
  const reverse = (vjp: (s: number, point: string, t: string, v: string) => string, t: string, savesHere?: string) => range(nStages).reverse().map((s) => {
    const body = `${vjp(s, s === 0 ? 'y' : `u${s}`, `${t} + ${T.lit(tab.c[s]!)} * hs`, `kb${s}`)}
${intoY}
${intoEarlier(s)}`;
    return savesHere && b(s) === 0 && !laterStage(s) ? `if (${savesHere}) {\n${body}\n}` : `{\n${body}\n}`;
  }).join('\n');
  /**
   * `reverse` as one WGSL loop over the stages, last first: a switch picks the stage's point, k̄ and
   * c, another adds h a_sj Ȳ_s to the earlier k̄_j, so `vjp` — with a neural term, the network's
   * VJP — is inlined once instead of once per stage (llvmpipe's code generation grew faster than
   * linearly with the copies). `vjp` gets the stage index as the WGSL expression `st`; `one` is 1u
   * at run time but unknown to the compiler, which would otherwise unroll the loop again. With
   * `savesHere`, as in `reverse`, plus `onSkip` run for a skipped stage.
   */
  const reverseLooped = (vjp: (s: string, point: string, t: string, v: string) => string, t: string, one: string, savesHere?: string, onSkip = '') => {
    const cases = (body: (s: number) => string) => switchCases(range(nStages), body);
    const skippable = range(nStages).filter((s) => b(s) === 0 && !laterStage(s));
    return `for (var sr = 0u; sr < ${nStages}u * ${one}; sr += 1u) {
  let st = ${nStages - 1}u - sr;
${savesHere && skippable.length ? `  if (!(${savesHere}) && (${skippable.map((s) => `st == ${s}u`).join(' || ')})) {
${onSkip}
    continue;
  }` : ''}
  var pt: array<f32, ${N}>;
  var kv: array<f32, ${N}>;
  var cs = 0.0;
  switch st {
${cases((s) => `    pt = ${s === 0 ? 'y' : `u${s}`};\n    kv = kb${s};\n    cs = ${T.lit(tab.c[s]!)};`)}
  default: {}
  }
${vjp('st', 'pt', `${t} + cs * hs`, 'kv')}
${intoY}
  switch st {
${cases(intoEarlier)}
  default: {}
  }
}`;
  };
  return { initKbar, saveKbar, reverse, reverseLooped };
}

/**
 * The adjoint of one Rosenbrock step in the transformed form with frozen h (Sandu 2008), given the
 * replayed stages (`rosenbrockStages` with fsalAtYnew = false: W's LU and piv, U_s, the points u_s,
 * y for s = 0). y₁ = y + Σ m_j U_j, a save at θ reads y + Σ w_j(θ) U_j, and
 * U_s = W⁻¹ r_s with r_s = f(t + c_s h, u_s) + h d_s ∂f/∂t + (1/h) Σ_(j<s) C_sj U_j, so for s = last … 0:
 *   r̄_s = W⁻ᵀ Ū_s,  J̄ += r̄_s U_sᵀ (W = I/(hγ) − J),  w̄ += h d_s r̄_s,  Ū_j += (C_sj/h) r̄_s,
 *   ū_s = (∂f/∂y at u_s)ᵀ r̄_s (with p̄ += (∂f/∂p)ᵀ r̄_s),  ȳ₀ += ū_s,  Ū_j += a_sj ū_s (j < s),
 * and J(y_n, p), ∂f/∂t(y_n, p) close the chain through the model's second derivatives, contracted
 * with `Jb` (J̄) and `wdT` (w̄) by the caller. Split like `explicitStepAdjoint`: `initKbar`
 * (Ū from ybar = ȳ₁), `saveKbar` (one save with `theta` and `bar` in scope) and `reverse`
 * (`vjp(s, point, t, v)` must leave ū_s = vᵀ∂f in `yb` and add p̄ itself).
 */
export function rosenbrockStepAdjoint(T: StepTarget, tab: RosenbrockTableau) {
  const N = T.N, NN = N * N, nStages = tab.c.length;
  const initKbar = range(nStages).map((j) => `${T.vec(`Ub${j}`)}
${T.for('i', 0, N, (i) => `Ub${j}[${i}] = ${tab.m[j] === 0 ? '0.0' : `${T.lit(tab.m[j]!)} * ybar[${i}]`};`)}`).join('\n');
  const addSave = (weights: Array<string | undefined>) => range(nStages).map((j) => (weights[j] === undefined ? ''
    : T.for('i', 0, N, (i) => `Ub${j}[${i}] += ${weights[j]} * bar[${i}];`))).filter(Boolean).join('\n');
  const atEnd = range(nStages).map((j) => (tab.m[j] === 0 ? undefined : T.lit(tab.m[j]!)));
  const saveKbar = `${tab.dense ? `if (theta >= 1.0) {
${addSave(atEnd)}
} else {
${addSave(range(nStages).map((j) => denseWeight(T, tab, j, 'theta')))}
}` : `// No dense output: the step ended on the save time, y_s = y₁.\n${addSave(atEnd)}`}
${T.for('i', 0, N, (i) => `ybar[${i}] += bar[${i}];`)}`;
  const reverse = (vjp: (s: number, point: string, t: string, v: string) => string, t: string) => `${T.vec('Jb', NN)}
${T.for('q', 0, NN, (q) => `Jb[${q}] = 0.0;`)}
${T.vec('wdT')}
${T.for('i', 0, N, (i) => `wdT[${i}] = 0.0;`)}
${range(nStages).reverse().map((s) => `{
${T.vec('Fb')}
${T.call('Fb', 'lu_solve_t', ['W', 'piv', `Ub${s}`], false)}
${T.for('a', 0, N, (a) => T.for('c', 0, N, (c) => `Jb[${at(N, a, c)}] += Fb[${a}] * U${s}[${c}];`))}
${tab.d[s] === 0 ? '' : T.for('i', 0, N, (i) => `wdT[${i}] += hs * ${T.lit(tab.d[s]!)} * Fb[${i}];`)}
${range(s).map((j) => (tab.C[s]![j] === 0 ? '' : T.for('i', 0, N, (i) => `Ub${j}[${i}] += inv_h * ${T.lit(tab.C[s]![j]!)} * Fb[${i}];`))).filter(Boolean).join('\n')}
${vjp(s, s === 0 ? 'y' : `u${s}`, `${t} + ${T.lit(tab.c[s]!)} * hs`, 'Fb')}
${T.for('i', 0, N, (i) => `ybar[${i}] += yb[${i}];`)}
${range(s).map((j) => (tab.a[s]![j] === 0 ? '' : T.for('i', 0, N, (i) => `Ub${j}[${i}] += ${T.lit(tab.a[s]![j]!)} * yb[${i}];`))).filter(Boolean).join('\n')}
}`).join('\n')}`;
  return { initKbar, saveKbar, reverse };
}

/**
 * Compiles generated JS: allocates the target's vectors once, then runs `body` (which may read the
 * vectors and the `env` entries by name) and returns what it returns, with the vectors.
 */
export function compileJs<R>(T: ReturnType<typeof jsTarget>, env: Record<string, unknown>, body: string): { value: R; vectors: Record<string, Float64Array | Int32Array> } {
  const vectors = Object.fromEntries([...T.vectors].map(([name, { size, int }]) => [name, int ? new Int32Array(size) : new Float64Array(size)]));
  const names = [...Object.keys(vectors), ...Object.keys(env)];
  // The generated source is built only from our own IR (numbers and indices), never user text.
  const value = new Function(...names, formatSource(`"use strict";\n${body}`))(...Object.values(vectors), ...Object.values(env)) as R;
  return { value, vectors };
}

/**
 * The dense-output weights of a method at θ as an f64 function (from `denseWeight`, JS target),
 * for code that needs them as numbers: out[j] = weight of stage j (explicit: without the h).
 */
export function compileDenseWeights(m: Method): (theta: number, out: Float64Array) => void {
  const T = jsTarget(1);
  const lines = range(m.c.length).map((j) => `out[${j}] = ${denseWeight(T, m, j, 'theta') ?? '0'};`);
  return compileJs<(theta: number, out: Float64Array) => void>(T, {}, `return function (theta, out) {\n${lines.join('\n')}\n};`).value;
}
