// The f32 FMA rate a WGSL compute shader actually reaches on this adapter (run by hand after
// `npm run build`: node bench/fma-ceiling.mjs [--runs 5] [--shapes mlp,mlp-clamp], where --shapes
// names the shapes below to run, all by default). bench/run.mjs reports the UDE's MLP
// FLOP rate against the CPU's theoretical peak (cores × clock × 2 FMA units × 2 × 8 lanes); this
// measures what the same hardware gives through Dawn and llvmpipe when the shader does nothing but
// independent FMAs, so the UDE's fraction can also be read against an attainable ceiling. llvmpipe
// issues each fma() as a multiplication and an addition (Mesa's NIR options for llvmpipe set
// lower_ffma32), so every shape here pays two vector operations per multiply–add;
// bench/mlp-native.mjs runs the `mlp` shape's network as native C, with and without FMAs.
//
// The first two shapes run 16 independent FMA chains per invocation (enough to hide the FMA latency):
//   straight — 16 × 256 FMAs as straight-line code (`let` chains), no control flow;
//   loop     — 16 FMAs per iteration of a 256-trip loop on `var`s (the shape of an integrator's
//              step loop, where llvmpipe carries every variable under the lanes' execution mask).
//   tanh     — 16 independent chains of 64 calls of the network's `nn_tanh` (src/codegen/neural.ts),
//              each on 1.7·(previous) + x: what one activation costs, in CPU cycles per 8 lanes.
//   mlp      — the UDE's own network (the default 3→16→16→3 tanh, the engine's generated WGSL with
//              the weights compiled in, as the forward solver runs it at B = 1e5) evaluated 48 times
//              in a loop, each evaluation on x + 10⁻³·g(x) of the last, as an integrator's stages
//              chain: what the UDE forward can reach at most (2^16 invocations), counted as bench/run.mjs counts it
//              (2 FLOPs per multiply–add plus the biases, tanh not counted); cycles per 8-lane evaluation.
//   mlp-clamp — the same network with each tanh replaced by clamp(z, −1, 1): the layers' share.
// Each prints the median GFLOP/s over --runs dispatches (2^20 invocations unless said) and its
// fraction of the theoretical peak (for tanh, its 2 FLOPs per call between calls only), and the CPU
// cycles per unit (an operation, or a network evaluation) on 8 lanes (CPU time of llvmpipe's
// threads × clock, so time the hypervisor took from the cores does not count). The result is read
// back with the engine's own readBuffer (no polling).
import { acquireGpu, releaseGpu, condensateModel } from '../dist/index.js';
import { readBuffer } from '../dist/gpu/runtime.js';
import { NN_TANH_WGSL } from '../dist/codegen/neural.js';
import { mlpWgsl, defaultWeights, weightsConstant } from '../dist/internals.js';
import { peak, mlpFlops } from './machine.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('runs', '5'));
const only = arg('shapes', undefined)?.split(',');
const CHAINS = 16, DEPTH = 256, TANH_DEPTH = 64, INVOCATIONS = 1 << 20;
const MLP_EVALS = 48, MLP_INVOCATIONS = 1 << 16;

/** The default UDE's network as the forward solver compiles it (weights compiled in), evaluated MLP_EVALS times. */
function network(clampOnly) {
  const model = condensateModel({ rna: false, neural: true });
  const { code: mlp, nIn } = mlpWgsl(model.neural);
  if (!mlp.includes(NN_TANH_WGSL)) throw new Error('the default network no longer calls nn_tanh: update this bench');
  const code = clampOnly ? mlp.replace(NN_TANH_WGSL, 'fn nn_tanh(x: f32) -> f32 { return clamp(x, -1.0, 1.0); }\n') : mlp;
  const step = Array.from({ length: nIn }, (_, m) => `u[${m}] = u[${m}] + 1e-3 * g[${m}];`).join(' ');
  return {
    prelude: `${weightsConstant(defaultWeights(model))}\n${code}`,
    body: `var u: array<f32, ${nIn}>;
  for (var m = 0u; m < ${nIn}u; m++) { u[m] = x + 0.1 * f32(m); }
  for (var e = 0u; e < ${MLP_EVALS}u; e++) { let g = nn_forward(u); ${step} }`,
    result: Array.from({ length: nIn }, (_, m) => `u[${m}]`).join(' + '),
    ops: MLP_EVALS, flopsPerOp: mlpFlops(model.neural), invocations: MLP_INVOCATIONS, unit: 'network evaluation',
  };
}

const init = Array.from({ length: CHAINS }, (_, c) => `x + ${c}.0`);
const SHAPES = {
  straight: () => {
    const lines = init.map((v, c) => `let a${c}_0 = ${v};`);
    for (let d = 1; d <= DEPTH; d++) for (let c = 0; c < CHAINS; c++) lines.push(`let a${c}_${d} = fma(a${c}_${d - 1}, 0.9999, x);`);
    return { body: lines.join('\n  '), result: init.map((_, c) => `a${c}_${DEPTH}`).join(' + ') };
  },
  loop: () => ({
    body: [...init.map((v, c) => `var a${c} = ${v};`),
      `for (var i = 0u; i < ${DEPTH}u; i++) {`, ...init.map((_, c) => `  a${c} = fma(a${c}, 0.9999, x);`), '}'].join('\n  '),
    result: init.map((_, c) => `a${c}`).join(' + '),
  }),
  tanh: () => {
    const lines = init.map((v, c) => `let a${c}_0 = ${v};`);
    for (let d = 1; d <= TANH_DEPTH; d++) for (let c = 0; c < CHAINS; c++) lines.push(`let a${c}_${d} = nn_tanh(a${c}_${d - 1} * 1.7 + x);`);
    return { prelude: NN_TANH_WGSL, body: lines.join('\n  '), result: init.map((_, c) => `a${c}_${TANH_DEPTH}`).join(' + '), ops: CHAINS * TANH_DEPTH, flopsPerOp: 2 };
  },
  mlp: () => network(false),
  'mlp-clamp': () => network(true),
};

const { device, info } = await acquireGpu();
const machine = peak();
console.log(JSON.stringify({ gpu: info.description, machine }));
const out = device.createBuffer({ size: INVOCATIONS * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
for (const [shape, make] of Object.entries(SHAPES)) {
  if (only && !only.includes(shape)) continue;
  const { body, result, prelude = '', ops = CHAINS * DEPTH, flopsPerOp = 2, invocations = INVOCATIONS, unit = 'op' } = make();
  const groups = invocations / 64, gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
  const code = `${prelude}@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x + g.y * ${gx * 64}u;
  let x = f32(i) * 1e-9;
  ${body}
  o[i] = ${result};
}`;
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] });
  const rates = [], cycles = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now(), cpu0 = process.cpuUsage();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
    pass.end();
    device.queue.submit([enc.finish()]);
    await readBuffer(device, out, 4, 'fma ceiling');
    const seconds = (performance.now() - start) / 1000, cpu = process.cpuUsage(cpu0);
    if (r === 0) continue; // run 0 warms up (page faults)
    rates.push((flopsPerOp * ops * invocations) / seconds / 1e9);
    if (machine.ghz) cycles.push(((cpu.user + cpu.system) / 1e6) * machine.ghz * 1e9 / (ops * invocations / 8));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const gflops = median(rates);
  console.log(JSON.stringify({ shape, unit, units_per_invocation: ops, runs, median_gflop_per_s: +gflops.toFixed(1),
    min: +Math.min(...rates).toFixed(1), max: +Math.max(...rates).toFixed(1), fraction_of_f32_peak: machine.f32_gflops ? +(gflops / machine.f32_gflops).toFixed(3) : null,
    cpu_cycles_per_unit_on_8_lanes: cycles.length ? +median(cycles).toFixed(2) : null }));
}
out.destroy();
await releaseGpu();
