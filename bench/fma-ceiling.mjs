// The f32 FMA rate a WGSL compute shader actually reaches on this adapter (run by hand after
// `npm run build`: node bench/fma-ceiling.mjs [--runs 5]). bench/run.mjs reports the UDE's MLP
// FLOP rate against the CPU's theoretical peak (cores × clock × 2 FMA units × 2 × 8 lanes); this
// measures what the same hardware gives through Dawn and llvmpipe when the shader does nothing but
// independent FMAs, so the UDE's fraction can also be read against an attainable ceiling.
//
// Two shapes, 16 independent FMA chains per invocation (enough to hide the FMA latency):
//   straight — 16 × 256 FMAs as straight-line code (`let` chains), no control flow;
//   loop     — 16 FMAs per iteration of a 256-trip loop on `var`s (the shape of an integrator's
//              step loop, where llvmpipe carries every variable under the lanes' execution mask).
//   tanh     — 16 independent chains of 64 calls of the network's `nn_tanh` (src/codegen/neural.ts),
//              each on 1.7·(previous) + x: what one activation costs, in CPU cycles per 8 lanes.
// Each prints the median GFLOP/s over --runs dispatches of 2^20 invocations and its fraction of
// the theoretical peak (for tanh, its 2 FLOPs per call between calls only), and the CPU cycles per
// operation on 8 lanes (CPU time of llvmpipe's threads × clock, so time the hypervisor took from
// the cores does not count). The result is read back with the engine's own readBuffer (no polling).
import { acquireGpu, releaseGpu } from '../dist/index.js';
import { readBuffer } from '../dist/gpu/runtime.js';
import { NN_TANH_WGSL } from '../dist/codegen/neural.js';
import { peak } from './machine.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('runs', '5'));
const CHAINS = 16, DEPTH = 256, TANH_DEPTH = 64, INVOCATIONS = 1 << 20;

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
};

const { device, info } = await acquireGpu();
const machine = peak();
console.log(JSON.stringify({ gpu: info.description, machine }));
const out = device.createBuffer({ size: INVOCATIONS * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const groups = INVOCATIONS / 64, gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
for (const [shape, make] of Object.entries(SHAPES)) {
  const { body, result, prelude = '', ops = CHAINS * DEPTH, flopsPerOp = 2 } = make();
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
    rates.push((flopsPerOp * ops * INVOCATIONS) / seconds / 1e9);
    if (machine.ghz) cycles.push(((cpu.user + cpu.system) / 1e6) * machine.ghz * 1e9 / (ops * INVOCATIONS / 8));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const gflops = median(rates);
  console.log(JSON.stringify({ shape, ops_per_invocation: ops, runs, median_gflop_per_s: +gflops.toFixed(1),
    min: +Math.min(...rates).toFixed(1), max: +Math.max(...rates).toFixed(1), fraction_of_f32_peak: machine.f32_gflops ? +(gflops / machine.f32_gflops).toFixed(3) : null,
    cpu_cycles_per_op_on_8_lanes: cycles.length ? +median(cycles).toFixed(2) : null }));
}
out.destroy();
await releaseGpu();
