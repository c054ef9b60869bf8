// Shader compile cost of the GPU adjoint (issue #4; by hand after `npm run build`:
// node bench/adjoint-compile.mjs [--neural [--hidden 32,32] [--network looped|unrolled]] [--replay]).
// By default the kernels gradientGpu runs for dopri5: forward with the stage tape and the sweep
// that reads it; --replay: forward with checkpoints and the sweep that replays from them. lavapipe/llvmpipe generates machine code at a
// pipeline's first dispatch, so each kernel is timed as pipeline creation plus one dispatch over
// zero trajectories (every invocation returns at once). Prints JSON lines.
import { acquireGpu, condensateModel, condensateModelSpec, parseModel, releaseGpu } from '../dist/index.js';
import { computePipeline } from '../dist/gpu/runtime.js';
import { buildSolverKernel } from '../dist/codegen/kernel.js';
import { buildAdjointKernel } from '../dist/codegen/adjoint.js';
import { methodByName } from '../dist/methods/tableaus.js';

const neural = process.argv.includes('--neural');
// The network's first layer as a loop (compile-light) instead of unrolled (src/codegen/neural.ts).
const networkLooped = process.argv.includes('looped') ? true : process.argv.includes('unrolled') ? false : undefined;
const stageTape = !process.argv.includes('--replay');
const hiddenAt = process.argv.indexOf('--hidden');
const hidden = hiddenAt > 0 ? process.argv[hiddenAt + 1].split(',').map(Number) : undefined;
let model = condensateModel({ neural });
if (neural && hidden) {
  const spec = condensateModelSpec({ neural: true });
  spec.neural.hidden = hidden;
  model = parseModel(spec, `condensate UDE ${hidden.join('→')}`);
}
const method = methodByName('dopri5');
const { device, info } = await acquireGpu();
const kernels = [
  [stageTape ? 'forward + stage tape' : 'forward + checkpoints', buildSolverKernel(model, method, false, true, { networkLooped, stageTape })],
  [stageTape ? 'adjoint sweep (stage tape)' : 'adjoint sweep (replay)', buildAdjointKernel(model, method, false, { networkLooped, stageTape })],
];
for (const [name, code] of kernels) {
  const t0 = performance.now();
  const { pipeline } = await computePipeline(device, name, code);
  const created = performance.now();
  // A zero uniform (batch = 0) and small storage buffers at every binding the kernel uses.
  const layout = pipeline.getBindGroupLayout(0);
  const entries = [];
  for (let binding = 0; binding < 9; binding++) {
    const usage = binding === 0 ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
    entries.push({ binding, resource: { buffer: device.createBuffer({ size: binding === 0 ? 64 : 256, usage }) } });
  }
  // Bind exactly the bindings the layout has: try them all, drop the ones it refuses.
  let bindGroup;
  for (let used = entries; !bindGroup; ) {
    device.pushErrorScope('validation');
    const bg = device.createBindGroup({ layout, entries: used });
    const err = await device.popErrorScope();
    if (!err) { bindGroup = bg; break; }
    const missing = Number(/binding index (\d+) not present/.exec(err.message)?.[1]);
    if (!Number.isInteger(missing)) throw new Error(err.message);
    used = used.filter((e) => e.binding !== missing);
  }
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(1);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  const done = performance.now();
  console.log(JSON.stringify({
    device: info.description, model: model.name, neural, hidden: model.neural?.hidden, network: networkLooped === undefined ? 'default' : networkLooped ? 'looped' : 'unrolled', kernel: name, wgsl_chars: code.length,
    create_ms: Math.round(created - t0), first_dispatch_ms: Math.round(done - created),
  }));
}
await releaseGpu();
