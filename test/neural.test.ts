/**
 * The neural term: the generated MLP (forward, Jacobian, VJP) in f64 against a plain-loop reference
 * and finite differences, the WGSL version against the f64 one, and a UDE solved on both backends.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseModel, initialWeights, makeProblem, solve, solveInChunks, type NeuralSpec, type Activation } from '../src/index.js';
import { compileF64, compileMlpF64, layerSizes, referenceForward, referenceVjp, mlpWgsl } from '../src/internals.js';
import { acquireGpu, releaseGpu, checked, computePipeline, readBuffer } from '../src/gpu/runtime.js';
import { requireGpu } from './helpers/gpu.js';
import { evalWgsl } from './helpers/wgsl-eval.js';
import { NN_TANH_WGSL } from '../src/codegen/neural.js';
import { buildSolverKernel, withWeightsCompiledIn } from '../src/codegen/kernel.js';
import { resolveMethod } from '../src/methods/tableaus.js';

afterAll(releaseGpu);

const spec = (activation: Activation, hidden = [16, 16]): NeuralSpec => ({
  inputs: [{ k: 'num', v: 0 }, { k: 'num', v: 0 }, { k: 'num', v: 0 }], inputNames: ['a', 'b', 'c'],
  outputs: [{ state: 0, scale: 1 }, { state: 1, scale: 1 }, { state: 2, scale: 1 }], hidden, activation, seed: 7,
});
const rand = (() => { let s = 12345; return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; }; })();
/** ‖a − b‖/max(‖b‖, floor): where b can cancel to near zero (x̄ of a deep network), f32 keeps only absolute accuracy. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>, floor = 0) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num / Math.max(den, floor * floor, 1e-300));
};

// The generator loops over the first hidden layer and unrolls what follows the second (src/codegen/neural.ts):
// every depth from no hidden layer to three takes a different path through it.
describe.each([
  ['tanh', [16, 16]], ['sigmoid', [16, 16]], ['softplus', [16, 16]],
  ['tanh', []], ['relu', [5]], ['tanh', [8, 6, 5]],
] as const)('MLP (%s, hidden %j), f64', (activation, hidden) => {
  const s = spec(activation, [...hidden]);
  const sizes = layerSizes(s);
  const w = initialWeights(s);
  const mlp = compileMlpF64(s, w);
  const x = [0.3, -1.2, 0.8];

  it('the generated forward pass equals the plain-loop reference', () => {
    const out = new Float64Array(3);
    mlp.forward(x, out);
    expect(relErr(out, referenceForward(sizes, activation, w, x).y)).toBeLessThan(1e-14);
  });

  it('the Jacobian ∂g/∂u matches central finite differences', () => {
    const J = new Float64Array(9);
    mlp.jacobian(x, J);
    const fd = new Float64Array(9), h = 1e-6;
    for (let m = 0; m < 3; m++) {
      const xp = [...x], xm = [...x];
      xp[m]! += h; xm[m]! -= h;
      const yp = referenceForward(sizes, activation, w, xp).y, ym = referenceForward(sizes, activation, w, xm).y;
      for (let j = 0; j < 3; j++) fd[j * 3 + m] = (yp[j]! - ym[j]!) / (2 * h);
    }
    expect(relErr(J, fd)).toBeLessThan(1e-8);
  });

  it('the VJP equals the reference and finite differences in the weights', () => {
    const gy = [0.7, -0.4, 1.1];
    const gx = new Float64Array(3), gw = new Float64Array(w.length);
    mlp.vjp(x, gy, gx, gw);
    const gwRef = new Float64Array(w.length);
    const gxRef = referenceVjp(sizes, activation, w, x, gy, gwRef);
    expect(relErr(gx, gxRef)).toBeLessThan(1e-13);
    expect(relErr(gw, gwRef)).toBeLessThan(1e-13);
    // ȳ·g(x; θ) differentiated by central differences in 40 random weights.
    const dot = (theta: Float64Array) => referenceForward(sizes, activation, theta, x).y.reduce((a, v, j) => a + v * gy[j]!, 0);
    const h = 1e-6;
    for (let n = 0; n < 40; n++) {
      const k = Math.floor(rand() * w.length);
      const wp = Float64Array.from(w), wm = Float64Array.from(w);
      wp[k]! += h; wm[k]! -= h;
      const fd = (dot(wp) - dot(wm)) / (2 * h);
      expect(Math.abs(gw[k]! - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe("the network's tanh in WGSL (a rational, src/codegen/neural.ts)", () => {
  it('is within 4e-7 of tanh on [−12, 12], 3e-7 relative near 0, odd, and never past ±1', async (ctx) => {
    requireGpu(ctx);
    const n = 40_001;
    const xs = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
    const near0 = Float32Array.from({ length: 2001 }, (_, i) => 1e-3 * (i - 1000) / 1000);
    const [ys, ys0] = [await evalWgsl('nn_tanh(x)', xs, NN_TANH_WGSL), await evalWgsl('nn_tanh(x)', near0, NN_TANH_WGSL)];
    let worst = 0, worstRel = 0;
    xs.forEach((x, i) => { worst = Math.max(worst, Math.abs(ys[i]! - Math.tanh(x))); });
    near0.forEach((x, i) => { if (x !== 0) worstRel = Math.max(worstRel, Math.abs(ys0[i]! - Math.tanh(x)) / Math.abs(Math.tanh(x))); });
    console.log(`nn_tanh: worst absolute error ${worst.toExponential(2)} on [−12, 12], worst relative ${worstRel.toExponential(2)} on [−1e-3, 1e-3]`);
    expect(worst).toBeLessThan(4e-7);
    expect(worstRel).toBeLessThan(3e-7);
    expect(ys0[1000]).toBe(0);
    for (let i = 0; i < n; i++) {
      expect(Math.abs(ys[i]!)).toBeLessThanOrEqual(1);
      expect(ys[n - 1 - i] === -ys[i]!, `odd at x = ${xs[i]}`).toBe(true);
    }
  });

  it('is ±1 far out, up to the largest f32 and infinity (the argument is limited through x², not x)', async (ctx) => {
    requireGpu(ctx);
    const far = [9.0001, 9.5, 12.5, 20, 100, 1e4, 1e10, 1e19, 3.4e38, Infinity];
    const xs = Float32Array.from([...far, ...far.map((x) => -x)]);
    const ys = await evalWgsl('nn_tanh(x)', xs, NN_TANH_WGSL);
    xs.forEach((x, i) => expect(ys[i], `nn_tanh(${x})`).toBe(Math.sign(x)));
  });
});

describe('MLP in WGSL (f32) against the f64 twin', () => {
  // Three forms of the same network (src/codegen/neural.ts): the first layer's units unrolled (the
  // default), as a loop (compile-light), and unrolled with the weight gradient at constant indices (θ̄).
  it.for([
    ['tanh', [16, 12], 'unrolled'], ['sigmoid', [16, 12], 'unrolled'], ['softplus', [16, 12], 'unrolled'], ['relu', [16, 12], 'unrolled'],
    ['tanh', [], 'unrolled'], ['tanh', [5], 'unrolled'], ['tanh', [8, 6, 5], 'unrolled'],
    ['tanh', [16, 12], 'looped'], ['softplus', [8, 6, 5], 'looped'], ['tanh', [5], 'looped'],
    ['tanh', [16, 12], 'constant'], ['sigmoid', [8, 6, 5], 'constant'],
  ] as const)('%s, hidden %j, %s: forward, Jacobian and VJP on 256 random inputs', async ([activation, hidden, form], ctx) => {
    requireGpu(ctx);
    const s = spec(activation, [...hidden]);
    const w = Float64Array.from(initialWeights(s), Math.fround);
    const NW = w.length, B = 256;
    const xs = Float32Array.from({ length: B * 3 }, () => 4 * rand() - 2);
    const gys = Float32Array.from({ length: B * 3 }, () => 2 * rand() - 1);
    // Per input: y (3), J (9), x̄ (3), then the weight gradient (NW), which nn_vjp_acc adds into a zeroed row.
    const R = 15 + NW;
    const accumulate = { add: (k: string, v: string) => `res[row + 15u + ${k}] += ${v};`, constant: form === 'constant' };
    const code = `
@group(0) @binding(0) var<storage, read> nn_w: array<f32>;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> gys: array<f32>;
@group(0) @binding(3) var<storage, read_write> res: array<f32>;
var<private> row: u32;
${mlpWgsl(s, { accumulate, looped: form === 'looped' }).code}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= ${B}u) { return; }
  let x = array<f32, 3>(xs[3u * i], xs[3u * i + 1u], xs[3u * i + 2u]);
  let gy = array<f32, 3>(gys[3u * i], gys[3u * i + 1u], gys[3u * i + 2u]);
  let y = nn_forward(x);
  let J = nn_jacobian(x);
  row = i * ${R}u;
  let gx = nn_vjp_acc(x, gy);
${[0, 1, 2].map((j) => `  res[i * ${R}u + ${j}u] = y[${j}];`).join('\n')}
${[...Array(9).keys()].map((j) => `  res[i * ${R}u + ${3 + j}u] = J[${j}];`).join('\n')}
${[0, 1, 2].map((j) => `  res[i * ${R}u + ${12 + j}u] = gx[${j}];`).join('\n')}
}`;
    const { device } = await acquireGpu();
    const { pipeline } = await computePipeline(device, `mlp test ${activation} ${JSON.stringify(hidden)} ${form}`, code);
    const mk = (data: Float32Array | number, label: string) => {
      const size = typeof data === 'number' ? data * 4 : data.byteLength;
      const buf = device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      if (typeof data !== 'number') device.queue.writeBuffer(buf, 0, data);
      return buf;
    };
    const bufs = [mk(Float32Array.from(w), 'w'), mk(xs, 'xs'), mk(gys, 'gys'), mk(B * R, 'res')];
    await checked(device, 'mlp test dispatch', () => {
      const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(B / 64); pass.end();
      device.queue.submit([enc.finish()]);
    });
    const res = new Float32Array(await readBuffer(device, bufs[3]!, B * R * 4, 'res'));
    bufs.forEach((buf) => buf.destroy());

    const mlp = compileMlpF64(s, w);
    let worst = 0;
    for (let i = 0; i < B; i++) {
      const x = xs.subarray(3 * i, 3 * i + 3), gy = gys.subarray(3 * i, 3 * i + 3);
      const y = new Float64Array(3), J = new Float64Array(9), gx = new Float64Array(3), gw = new Float64Array(NW);
      mlp.forward(x, y); mlp.jacobian(x, J); mlp.vjp(x, gy, gx, gw);
      const r = res.subarray(i * R, (i + 1) * R);
      worst = Math.max(worst, relErr(r.subarray(0, 3), y), relErr(r.subarray(3, 12), J), relErr(r.subarray(12, 15), gx, 0.1), relErr(r.subarray(15), gw));
    }
    console.log(`MLP ${activation} ${JSON.stringify(hidden)} ${form}: worst norm-relative f32 vs f64 difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('a UDE: mechanistic terms plus the network', () => {
  const ude = parseModel({
    name: 'ude', states: { c: 1, phi: 0.1, P: 0 }, params: { k: 0.5, csat: 0.8, kp: 1, kr: 0.2 },
    equations: { c: '-k*(c - csat)*phi', phi: 'k*(c - csat)*phi*(1 - phi)', P: 'kp*phi - kr*P' },
    neural: { inputs: ['c', 'phi', 'P'], outputs: [{ state: 'c', scale: 0.05 }, { state: 'phi', scale: 0.05 }, { state: 'P', scale: 0.05 }], hidden: [16, 16], seed: 3 },
  }, 'ude.json');

  it('the symbolic Jacobian (network by the chain rule) matches finite differences', () => {
    const f = compileF64(ude);
    const y = new Float64Array([1.1, 0.3, 0.2]), p = new Float64Array([0.5, 0.8, 1, 0.2]);
    const J = new Float64Array(9);
    f.jacobian(0, y, p, J);
    const fd = new Float64Array(9), h = 1e-6, fp = new Float64Array(3), fm = new Float64Array(3);
    for (let j = 0; j < 3; j++) {
      const yp = Float64Array.from(y), ym = Float64Array.from(y);
      yp[j]! += h; ym[j]! -= h;
      f.rhs(0, yp, p, fp); f.rhs(0, ym, p, fm);
      for (let i = 0; i < 3; i++) fd[i * 3 + j] = (fp[i]! - fm[i]!) / (2 * h);
    }
    expect(relErr(J, fd)).toBeLessThan(1e-8);
  });

  const B = 512;
  const udeParams = new Float64Array(B * 4);
  for (let b = 0; b < B; b++) udeParams.set([0.3 + 0.4 * rand(), 0.6 + 0.4 * rand(), 1, 0.2], b * 4);
  const problem = makeProblem(ude, { t1: 20, saveat: [5, 10, 20], params: udeParams });

  it.for(['dopri5', 'rodas4'] as const)('%s: different weights change the solution (CPU)', async (method) => {
    const noNet = makeProblem(ude, { t1: 20, saveat: [5, 10, 20], params: udeParams, weights: new Float64Array(problem.weights.length) });
    const cpu = await solve(problem, method, { backend: 'cpu' });
    const cpu0 = await solve(noNet, method, { backend: 'cpu' });
    expect(cpu.status.every((s) => s === 1)).toBe(true);
    expect(relErr(cpu.y, cpu0.y)).toBeGreaterThan(1e-3);
  });

  it.for(['dopri5', 'rodas4'] as const)('%s: GPU (f32) and CPU (f64) agree over 512 trajectories', async (method, ctx) => {
    requireGpu(ctx);
    const cpu = await solve(problem, method, { backend: 'cpu', rtol: 1e-10, atol: 1e-12 });
    const gpu = await solve(problem, method, { backend: 'gpu' });
    expect(gpu.status.every((s) => s === 1)).toBe(true);
    const err = relErr(gpu.y, cpu.y);
    console.log(`UDE ${method}: GPU vs CPU norm-relative difference ${err.toExponential(2)} over ${B} trajectories`);
    expect(err).toBeLessThan(1.5e-6); // measured 1.4e-7 (dopri5), 1.1e-7 (rodas4)
  });

  // bakeWeights: the network's weights as a constant of the kernel (withWeightsCompiledIn), a
  // pipeline per weight set. Two weight sets in turn: a pipeline cached under the wrong key would
  // give the first set's answer for the second.
  it.for(['dopri5', 'rodas4'] as const)('%s: with the weights compiled into the kernel, as with the weight buffer, for each weight set', async (method, ctx) => {
    requireGpu(ctx);
    const params = udeParams.subarray(0, 128 * 4);
    const one = makeProblem(ude, { t1: 20, saveat: [5, 10, 20], params });
    const other = makeProblem(ude, { t1: 20, saveat: [5, 10, 20], params, weights: one.weights.map((w, k) => w * (k % 2 ? 1.5 : -0.5)) });
    for (const p of [one, other]) {
      const cpu = await solve(p, method, { backend: 'cpu', rtol: 1e-10, atol: 1e-12 });
      const baked = await solve(p, method, { backend: 'gpu', bakeWeights: true });
      const plain = await solve(p, method, { backend: 'gpu', bakeWeights: false });
      expect(baked.status.every((s) => s === 1)).toBe(true);
      expect(relErr(baked.y, cpu.y)).toBeLessThan(1.5e-6);
      // The same f32 arithmetic on the same f32 weights: identical on llvmpipe; a GPU compiler may fuse differently.
      expect(relErr(baked.y, plain.y)).toBeLessThan(1e-6);
    }
  });
});

describe('withWeightsCompiledIn', () => {
  const ude = parseModel({
    name: 'ude', states: { c: 1, phi: 0.1, P: 0 }, params: { k: 0.5 },
    equations: { c: '-k*c', phi: '0', P: '0' },
    neural: { inputs: ['c', 'phi', 'P'], outputs: [{ state: 'c', scale: 1 }], hidden: [4], seed: 3 },
  }, 'ude.json');
  const plain = buildSolverKernel(ude, resolveMethod('dopri5'));
  const n = initialWeights(ude.neural!).length;

  it("replaces the weight binding with a constant holding each weight's f32 bit pattern", () => {
    const w = new Float64Array(n).fill(0.5);
    w[0] = 0.1; w[1] = -0; w[n - 1] = 3e-39; // f32(0.1) = 0x3dcccccd; −0; a subnormal f32
    const code = withWeightsCompiledIn(plain, w)!;
    expect(plain).toMatch(/var<storage, read> nn_w: array<f32>;/);
    expect(code).not.toMatch(/var<storage, read> nn_w/);
    const literals = [...code.matchAll(/bitcast<f32>\(0x([0-9a-f]{8})u\)/g)].map((m) => parseInt(m[1]!, 16));
    expect(literals).toHaveLength(n);
    expect(literals.slice(0, 2)).toEqual([0x3dcccccd, 0x80000000]);
    expect(literals[n - 1]).toBe(new Uint32Array(Float32Array.of(3e-39).buffer)[0]);
    expect(code).toContain(`const nn_w = array<f32, ${n}>(`);
  });

  it('leaves the binding where a weight is not finite (a WGSL constant cannot be)', () => {
    for (const bad of [NaN, Infinity, 1e39]) { // 1e39 overflows f32
      const w = new Float64Array(n).fill(0.5);
      w[2] = bad;
      expect(withWeightsCompiledIn(plain, w)).toBeUndefined();
    }
  });

  it('solveInChunks compiles the weights in over several chunks and gives the states of one whole solve', async (ctx) => {
    requireGpu(ctx);
    const p = makeProblem(ude, { t1: 5, saveat: [1, 5], params: Float64Array.from({ length: 96 }, (_, b) => 0.2 + 0.01 * b) });
    const whole = await solve(p, 'dopri5', { backend: 'gpu' });
    const y = new Float64Array(whole.y.length);
    const summary = await solveInChunks(p, 'dopri5', { backend: 'gpu' }, 40, (sol, start) => { y.set(sol.y, start * 2 * 3); });
    expect(summary.chunks).toBe(3);
    expect(relErr(y, whole.y)).toBeLessThan(1e-6);
    expect(relErr(y, (await solve(p, 'dopri5', { backend: 'cpu', rtol: 1e-10, atol: 1e-12 })).y)).toBeLessThan(1.5e-6);
  });

  it('bakeWeights must be a boolean', async () => {
    const p = makeProblem(ude, { t1: 5, saveat: [5] });
    await expect(solve(p, 'dopri5', { backend: 'cpu', bakeWeights: 'yes' as unknown as boolean })).rejects.toThrow(/bakeWeights must be true or false/);
  });
});
