/**
 * The MLP of a neural term as generated code, printed for WGSL (f32) and JavaScript (f64) by the
 * same generator (STYLE.md §7): forward pass, Jacobian ∂g/∂u (forward mode, one tangent per input,
 * for the Rosenbrock methods' W = I/(hγ) − J) and the vector–Jacobian product (reverse mode, for
 * the adjoint).
 *
 * Compile-light shape (issue 15): the first hidden layer is a loop over its units j, and each unit's
 * activation a1_j is consumed inside the same iteration — it adds its column W2[:, j]·a1_j to the
 * second layer's pre-activations, which stay named scalars (registers). The VJP runs the same loop
 * once more, backwards through unit j: g1_j = σ'(z1_j)·(W2[:, j]·g2), x̄ += W1[j, :]ᵀ g1_j. So the
 * n1 × n2 block between the first two hidden layers is one loop body, and the straight-line code
 * grows only with the second layer's width and the layers after it (for 3→16→16→3: 16 accumulators
 * and the 16 × 3 output layer).
 *
 * The same pieces print in three forms (`Dialect`): the units' loop as a loop (compile-light; the
 * adjoint's kernels above 512 weights, `adjointNetworkLooped`), unrolled (every other kernel: on
 * llvmpipe a weight read whose index varies in a loop is a per-lane gather), and unrolled with the
 * weight gradient at constant indices (the adjoint sweep's private θ̄). Measured figures are in
 * bench/README.md ("The UDE's GPU adjoint").
 *
 * In WGSL the trip count is written `min(n1, arrayLength(&nn_w))`, which equals n1 but is unknown
 * to the compiler, so that it does not unroll the loop back into straight-line code.
 */
import { layerSizes, weightLayout, type Activation, type NeuralSpec } from '../physics/neural.js';
import type { Target } from './emit.js';

/**
 * WGSL: the network's tanh, a rational x·P(x²)/Q(x²) of degree 9/8 on |x| ≤ 9 (beyond, tanh 9 is
 * 1 to within 3e-8), fitted by scripts/fit-nn-tanh.py (Lawson's reweighted least squares), which
 * also prints its f32 error in the form below: 3.3e-7 absolute on [−20, 20] (test/neural.test.ts
 * checks it on the GPU: 2.7e-7 on [−12, 12] on llvmpipe). Why not the builtin: llvmpipe evaluates
 * tanh as (e^2x − 1)/(e^2x + 1) with a polynomial exp2, and that was 36 % of the UDE forward
 * solve's time; this form is 8 FMAs, three multiplications and a division.
 * Written for latency, since llvmpipe runs a network's tanh as chains that wait on each other: the
 * argument is limited through u = min(x², 81) rather than by clamping x (one operation fewer on the
 * path; beyond |x| = 9 the quotient is x/9 times the rational at 9, past ±1, and the clamp below
 * gives ±1), and P, Q are evaluated in Estrin's form (depth 3 instead of Horner's 4). Same
 * coefficients; the UDE forward solve's CPU time at B = 1e5 on llvmpipe fell by 4–11 %
 * (bench/README.md, "tanh for latency").
 * Exactly odd (u is the same for ±x), and clamped to [−1, 1] (the quotient can round one ulp
 * past it), so σ'(z) = 1 − a² stays ≥ 0. σ' is the exact tanh's at the rational's value: it differs
 * from the rational's own derivative by at most 2.9e-7 on |x| ≤ 9 (computed in f64 from the coefficients).
 */
export const NN_TANH_WGSL = `fn nn_tanh(x: f32) -> f32 {
  let u = min(x * x, 81.0);
  let u2 = u * u;
  let num = x * ((0.9999999076270334 + u * 0.13374796836574096) + u2 * ((0.0034884349880586417 + u * 2.0500261001474025e-05) + u2 * 1.3219408512288311e-08));
  let den = (1.0 + u * 0.46708095143091144) + u2 * ((0.025849151316805114 + u * 0.0003274329263215833) + u2 * 7.717971392644241e-07);
  return clamp(num / den, -1.0, 1.0);
}
`;

function act(target: Target, a: Activation, z: string): string {
  const js = target === 'js';
  switch (a) {
    case 'tanh': return js ? `Math.tanh(${z})` : `nn_tanh(${z})`;
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

/** Adds `value` to the weight gradient at weight `index` (an index expression of the target). */
export type Accumulate = (index: string, value: string) => string;

/** The target's spelling of what the generator writes. */
interface Dialect {
  target: Target;
  /** Weight k, k an index expression. */
  w(index: string): string;
  /** An index literal. */
  n(k: number): string;
  /** Immutable and mutable declarations. */
  let: string;
  var: string;
  zero: string;
  /** The loop over the first hidden layer's units `j` around `body` (or, unrolled, `body` once per unit). */
  units(count: number, body: string[]): string[];
  /** Whether `units` unrolls (every weight index a constant). */
  unrolled?: boolean;
  /**
   * Adds the outer product rows ⊗ cols to the weights at base + o·stride + q (o over rows, q over
   * cols) and, with `bias`, rows to bias + o. JS unrolls it; WGSL loops over private arrays, because
   * each unrolled read-modify-write of a storage buffer cost llvmpipe's code generation dearly.
   */
  outer(acc: Accumulate, base: string, stride: number, rows: string[], cols: string[], bias?: number): string[];
}

const hidden = (count: number) => `min(${count}u, arrayLength(&nn_w))`;
/** `Dialect.outer` as straight-line code, every weight index base + a literal (`n` spells it). */
const unrolledOuter = (n: (k: number) => string): Dialect['outer'] => (acc, base, stride, rows, cols, bias) => rows.flatMap((r, o) => [
  ...cols.map((c, q) => acc(`${base} + ${n(o * stride + q)}`, `${r} * ${c}`)),
  ...(bias === undefined ? [] : [acc(n(bias + o), r)]),
]);
const JS: Dialect = {
  target: 'js', w: (k) => `w[${k}]`, n: (k) => String(k), let: 'const', var: 'let', zero: '0',
  units: (count, body) => [`  for (let j = 0; j < ${count}; j++) {`, ...body, '  }'],
  outer: unrolledOuter(String),
};
const WGSL: Dialect = {
  target: 'wgsl', w: (k) => `nn_w[${k}]`, n: (k) => `${k}u`, let: 'let', var: 'var', zero: '0.0',
  units: (count, body) => [`  for (var j = 0u; j < ${hidden(count)}; j += 1u) {`, ...body, '  }'],
  outer: (acc, base, stride, rows, cols, bias) => [
    '{',
    `  var ro = array<f32, ${rows.length}>(${rows.join(', ')});`,
    `  var co = array<f32, ${cols.length}>(${cols.join(', ')});`,
    `  for (var o = 0u; o < ${hidden(rows.length)}; o += 1u) {`,
    `    for (var q = 0u; q < ${hidden(cols.length)}; q += 1u) { ${acc(`${base} + o * ${stride}u + q`, 'ro[o] * co[q]')} }`,
    ...(bias === undefined ? [] : [`    ${acc(`${bias}u + o`, 'ro[o]')}`]),
    '  }',
    '}',
  ],
};
/**
 * WGSL with the units' loop unrolled: each weight is read at a constant index (`let j = …u` folds),
 * which llvmpipe turns into one load per SIMD group, where an index that varies in a loop is a
 * per-lane gather: the loop form ran the UDE's forward 4.5× slower there (bench/README.md).
 */
const WGSL_UNROLLED: Dialect = {
  ...WGSL,
  units: (count, body) => Array.from({ length: count }, (_, j) => ['  {', `    let j = ${j}u;`, ...body, '  }']).flat(),
  unrolled: true,
};
/**
 * WGSL, unrolled, with the weight gradient's outer products unrolled too, for an accumulator whose
 * indices must be constants (the adjoint sweep's private θ̄: a constant index is a plain vector access
 * there, where a varying one is a per-lane gather and scatter).
 */
const WGSL_UNROLLED_ACC: Dialect = { ...WGSL_UNROLLED, outer: unrolledOuter(WGSL.n) };

/**
 * The pieces of the network's code for one dialect. Names: z{l}_i and a{l}_i for the layers after the
 * first (l ≥ 2), z1/a1/d1/g1 for the looped first layer's unit j; the output is z{L}_i.
 */
function pieces(spec: NeuralSpec, D: Dialect) {
  const sizes = layerSizes(spec);
  const L = sizes.length - 1;
  const { W, b } = weightLayout(sizes);
  const s0 = sizes[0]!, s1 = sizes[1]!;
  const x = (m: number) => `x[${m}]`;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const sum = (terms: string[]) => terms.join(' + ');
  // Weight of layer l (1-based) at row i, column j, both constants.
  const wc = (l: number, i: number, j: number) => D.w(D.n(W[l - 1]! + i * sizes[l - 1]! + j));
  const aName = (l: number, j: number) => (l === 0 ? x(j) : `a${l}_${j}`);
  const dAct = (z: string, a: string) => actDeriv(D.target, spec.activation, z, a);

  /** Layers `from`..L unrolled over constant indices (for L = 1, the whole network). */
  const unrolledForward = (from: number): string[] => {
    const lines: string[] = [];
    for (let l = from; l <= L; l++) {
      const n0 = sizes[l - 1]!;
      for (let i = 0; i < sizes[l]!; i++) {
        lines.push(`  ${D.let} z${l}_${i} = ${sum(range(n0).map((j) => `${wc(l, i, j)} * ${aName(l - 1, j)}`))} + ${D.w(D.n(b[l - 1]! + i))};`);
      }
      if (l < L) for (let i = 0; i < sizes[l]!; i++) lines.push(`  ${D.let} a${l}_${i} = ${act(D.target, spec.activation, `z${l}_${i}`)};`);
    }
    return lines;
  };

  // The first layer's unit j inside the loop: z1, a1 (its row of W1 starts at r1).
  const unitHead = [
    `    ${D.let} r1 = ${D.target === 'js' ? `${W[0]} + j * ${s0}` : `${W[0]}u + j * ${s0}u`};`,
    `    ${D.let} z1 = ${sum(range(s0).map((m) => `${D.w(`r1 + ${D.n(m)}`)} * ${x(m)}`))} + ${D.w(D.target === 'js' ? `${b[0]} + j` : `${b[0]}u + j`)};`,
    `    ${D.let} a1 = ${act(D.target, spec.activation, 'z1')};`,
  ];
  // W2[i, j]: column j of the second layer.
  const w2 = (i: number) => D.w(D.target === 'js' ? `${W[1]! + i * s1} + j` : `${W[1]! + i * s1}u + j`);

  /**
   * Forward pass; `inLoop` adds lines to the first layer's loop body (after z1, a1 and the
   * second layer's accumulation).
   */
  const forward = (inLoop: string[] = []): string[] => {
    // Unrolled, with nothing to add per unit: layer by layer, every first-layer activation before the
    // second layer's sums. Accumulated unit by unit instead, each unit's tanh sat between two runs of
    // multiply–adds, and the next evaluation (the next stage) waited on the result; llvm-mca put the
    // network at 1 072 cycles per 8-lane evaluation against 747 layer by layer (bench/README.md).
    if (L === 1 || (D.unrolled && inLoop.length === 0)) return unrolledForward(1);
    const s2 = sizes[2]!;
    return [
      ...range(s2).map((i) => `  ${D.var} z2_${i} = ${D.w(D.n(b[1]! + i))};`),
      ...D.units(s1, [
        ...unitHead,
        ...range(s2).map((i) => `    z2_${i} += ${w2(i)} * a1;`),
        ...inLoop,
      ]),
      ...(L > 2 ? range(s2).map((i) => `  ${D.let} a2_${i} = ${act(D.target, spec.activation, `z2_${i}`)};`) : []),
      ...unrolledForward(3),
    ];
  };

  /** Forward-mode Jacobian into out[j·n_in + m]. */
  const jacobian = (): string[] => {
    if (L === 1) return range(sizes[1]!).flatMap((i) => range(s0).map((m) => `  out[${i * s0 + m}] = ${wc(1, i, m)};`));
    const s2 = sizes[2]!;
    // T2[i][m] = ∂z2_i/∂x_m = Σ_j W2[i, j] σ'(z1_j) W1[j, m], accumulated in the loop.
    const lines = [
      ...range(s2).flatMap((i) => range(s0).map((m) => `  ${D.var} t2_${i}_${m} = ${D.zero};`)),
      ...forward([
        `    ${D.let} d1 = ${dAct('z1', 'a1')};`,
        ...range(s0).map((m) => `    ${D.let} v${m} = d1 * ${D.w(`r1 + ${D.n(m)}`)};`),
        ...range(s2).flatMap((i) => range(s0).map((m) => `    t2_${i}_${m} += ${w2(i)} * v${m};`)),
      ]),
    ];
    // Then the later layers, one input m at a time: t{l} = W_l (σ'(z_{l−1}) ⊙ t_{l−1}).
    for (let m = 0; m < s0; m++) {
      lines.push('  {');
      for (let l = 3; l <= L; l++) {
        const n0 = sizes[l - 1]!;
        for (let j = 0; j < n0; j++) lines.push(`    ${D.let} d${l - 1}_${j} = ${dAct(`z${l - 1}_${j}`, `a${l - 1}_${j}`)} * t${l - 1}_${j}${l === 3 ? `_${m}` : ''};`);
        for (let i = 0; i < sizes[l]!; i++) lines.push(`    ${D.let} t${l}_${i} = ${sum(range(n0).map((j) => `${wc(l, i, j)} * d${l - 1}_${j}`))};`);
      }
      for (let i = 0; i < sizes[L]!; i++) lines.push(`    out[${i * s0 + m}] = t${L}_${i}${L === 2 ? `_${m}` : ''};`);
      lines.push('  }');
    }
    return lines;
  };

  /**
   * Reverse mode: x̄ into gx_m (named), and through `acc` the weight gradient, ∂(ȳ·g)/∂W_l = g_l ⊗ a_(l−1)
   * (a_0 = x), ∂(ȳ·g)/∂b_l = g_l, where g_l = ∂(ȳ·g)/∂z_l. Every caller wants both (the adjoint sums
   * θ̄ where it computes x̄), so `acc` is required.
   */
  const vjp = (acc: Accumulate): string[] => {
    const lines = forward();
    const outs = sizes[L]!;
    lines.push(...range(outs).map((i) => `  ${D.let} g${L}_${i} = gy[${i}];`));
    if (L === 1) {
      lines.push(...range(s0).map((m) => `  ${D.let} gx_${m} = ${sum(range(outs).map((i) => `${wc(1, i, m)} * g1_${i}`))};`));
      for (let i = 0; i < outs; i++) {
        lines.push(...range(s0).map((m) => `  ${acc(D.n(W[0]! + i * s0 + m), `g1_${i} * ${x(m)}`)}`), `  ${acc(D.n(b[0]! + i), `g1_${i}`)}`);
      }
      return lines;
    }
    // Layers L … 3 unrolled, down to g2.
    for (let l = L; l >= 3; l--) {
      const n0 = sizes[l - 1]!;
      for (let j = 0; j < n0; j++) {
        lines.push(`  ${D.let} g${l - 1}_${j} = ${dAct(`z${l - 1}_${j}`, `a${l - 1}_${j}`)} * (${sum(range(sizes[l]!).map((i) => `${wc(l, i, j)} * g${l}_${i}`))});`);
      }
    }
    const names = (prefix: string, n: number) => range(n).map((i) => `${prefix}_${i}`);
    for (let l = 3; l <= L; l++) {
      lines.push(...D.outer(acc, D.n(W[l - 1]!), sizes[l - 1]!, names(`g${l}`, sizes[l]!), names(`a${l - 1}`, sizes[l - 1]!), b[l - 1]!).map((x) => `  ${x}`));
    }
    lines.push(...D.outer(acc, D.n(b[1]!), 1, names('g2', sizes[2]!), [D.target === 'js' ? '1' : '1.0']).map((x) => `  ${x}`));
    // The first layer's loop once more, backwards through unit j. JS adds unit j's share of the
    // weight gradient in the loop; WGSL keeps g1_j and a1_j in private arrays and adds the outer
    // products after it, in `outer`'s loops (read-modify-writes of storage in every unit were what
    // cost llvmpipe's code generation).
    const s2 = sizes[2]!;
    const wgslAcc = D.target === 'wgsl';
    lines.push(
      ...range(s0).map((m) => `  ${D.var} gx_${m} = ${D.zero};`),
      ...(wgslAcc ? [`  var g1v: array<f32, ${s1}>;`, `  var a1v: array<f32, ${s1}>;`] : []),
      ...D.units(s1, [
        ...unitHead,
        `    ${D.let} g1 = ${dAct('z1', 'a1')} * (${sum(range(s2).map((i) => `${w2(i)} * g2_${i}`))});`,
        ...range(s0).map((m) => `    gx_${m} += ${D.w(`r1 + ${D.n(m)}`)} * g1;`),
        ...(wgslAcc ? ['    g1v[j] = g1;', '    a1v[j] = a1;'] : [
          ...range(s0).map((m) => `    ${acc(`r1 + ${D.n(m)}`, `g1 * ${x(m)}`)}`),
          `    ${acc(`${b[0]} + j`, 'g1')}`,
          ...D.outer(acc, `${W[1]} + j`, s1, names('g2', s2), ['a1']).map((x) => `    ${x}`),
        ]),
      ]),
    );
    if (wgslAcc) {
      const elems = (v: string, n: number) => range(n).map((i) => `${v}[${i}]`);
      lines.push(
        ...D.outer(acc, D.n(W[0]!), s0, elems('g1v', s1), range(s0).map(x), b[0]!).map((l) => `  ${l}`),
        ...D.outer(acc, D.n(W[1]!), s1, names('g2', s2), elems('a1v', s1)).map((l) => `  ${l}`),
      );
    }
    return lines;
  };

  return { sizes, L, s0, outs: sizes[L]!, total: weightLayout(sizes).total, forward, jacobian, vjp };
}

/**
 * Whether the adjoint's kernels take the network's compile-light form (the first layer's units as
 * a loop): from more than 512 weights on. Measured on llvmpipe, cold (`bench/adjoint-compile.mjs
 * --neural [--hidden 32,32] [--network looped|unrolled]`, bench/README.md): for 3→16→16→3 (387
 * weights) the unrolled sweep compiles in 20.4 s against 12.8 s, and its weight reads are not
 * per-lane gathers; for 3→32→32→3 (1283 weights) it takes 190 s against 28.5 s.
 */
export const adjointNetworkLooped = (spec: NeuralSpec | undefined) => spec !== undefined && weightLayout(layerSizes(spec)).total > 512;

export interface MlpSource {
  /** The functions (see mlpWgsl and mlpJs). */
  code: string;
  nIn: number;
  nOut: number;
  weightCount: number;
}

export interface MlpWgslOptions {
  /** The first hidden layer's units as a loop (compile-light, the adjoint's kernels) or unrolled (fast on llvmpipe, the default). */
  looped?: boolean;
  /**
   * Also `fn nn_vjp_acc(x, gy) -> array<f32, NIN>`: x̄ = (∂g/∂u)ᵀȳ, and the weight gradient
   * (∂g/∂θ)ᵀȳ added through `add(index, value)` (index: a u32 expression of the weight) — for the
   * adjoint sweep's private θ̄. With `constant`, every index is a constant expression (the form
   * must not be `looped`).
   */
  accumulate?: { add: Accumulate; constant?: boolean };
}

/**
 * WGSL: `fn nn_forward(x: array<f32, NIN>) -> array<f32, NOUT>`, `fn nn_jacobian(x) -> array<f32, NOUT·NIN>`
 * (row-major ∂g_j/∂u_m) and what `options` asks for, reading the weights from the storage buffer `nn_w`.
 */
export function mlpWgsl(spec: NeuralSpec, options: MlpWgslOptions = {}): MlpSource {
  if (options.looped && options.accumulate?.constant) throw new Error('internal: constant accumulator indices need the unrolled form');
  const P = pieces(spec, options.looped ? WGSL : options.accumulate?.constant ? WGSL_UNROLLED_ACC : WGSL_UNROLLED);
  const arr = (n: number) => `array<f32, ${n}>`;
  const { L, s0, outs } = P;
  const gx = `${arr(s0)}(${Array.from({ length: s0 }, (_, m) => `gx_${m}`).join(', ')})`;
  const code = `// MLP ${P.sizes.join('→')} (${spec.activation}), ${P.total} weights (src/codegen/neural.ts)
${spec.activation === 'tanh' ? NN_TANH_WGSL : ''}fn nn_forward(x: ${arr(s0)}) -> ${arr(outs)} {
${P.forward().join('\n')}
  return ${arr(outs)}(${Array.from({ length: outs }, (_, j) => `z${L}_${j}`).join(', ')});
}

fn nn_jacobian(x: ${arr(s0)}) -> ${arr(outs * s0)} {
  var out: ${arr(outs * s0)};
${P.jacobian().join('\n')}
  return out;
}
${options.accumulate ? `
fn nn_vjp_acc(x: ${arr(s0)}, gy: ${arr(outs)}) -> ${arr(s0)} {
${P.vjp(options.accumulate.add).join('\n')}
  return ${gx};
}
` : ''}`;
  return { code, nIn: s0, nOut: outs, weightCount: P.total };
}

/**
 * JavaScript f64 twin: the source of a function `(w) => ({ forward(x, out), jacobian(x, out), vjp(x, gy, gx, gw) })`
 * where `w` is the weight vector θ (Float64Array), built by the same generator as the WGSL.
 */
export function mlpJs(spec: NeuralSpec): MlpSource {
  const P = pieces(spec, JS);
  const { L, s0, outs } = P;
  const code = `// MLP ${P.sizes.join('→')} (${spec.activation}), ${P.total} weights (src/codegen/neural.ts)
return {
  forward(x, out) {
${P.forward().join('\n')}
${Array.from({ length: outs }, (_, j) => `  out[${j}] = z${L}_${j};`).join('\n')}
  },
  jacobian(x, out) {
${P.jacobian().join('\n')}
  },
  vjp(x, gy, gx, gw) {
${P.vjp((k, v) => `gw[${k}] += ${v};`).join('\n')}
${Array.from({ length: s0 }, (_, m) => `  gx[${m}] = gx_${m};`).join('\n')}
  },
};`;
  return { code, nIn: s0, nOut: outs, weightCount: P.total };
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
