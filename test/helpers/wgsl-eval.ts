/** Evaluates a WGSL expression of `x` (f32) at many points on the GPU: for function-accuracy tests. */
import { acquireGpu, checked, computePipeline, readBuffer } from '../../src/gpu/runtime.js';

/** `expr` may call the functions in `prelude`; returns expr(x) for every x (as f32). */
export async function evalWgsl(expr: string, xs: Float32Array, prelude = ''): Promise<Float32Array> {
  const { device } = await acquireGpu();
  const n = xs.length;
  const code = `${prelude}
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read_write> ys: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65536u * 64u;
  if (i >= ${n}u) { return; }
  let x = xs[i];
  ys[i] = ${expr};
}`;
  const { pipeline } = await computePipeline(device, `eval ${expr}`, code);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const inBuf = device.createBuffer({ size: Math.max(16, n * 4), usage, label: 'eval xs' });
  const outBuf = device.createBuffer({ size: Math.max(16, n * 4), usage, label: 'eval ys' });
  try {
    device.queue.writeBuffer(inBuf, 0, xs);
    await checked(device, `eval ${expr}`, () => {
      const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [inBuf, outBuf].map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bind);
      const groups = Math.ceil(n / 64);
      pass.dispatchWorkgroups(Math.min(groups, 65536), Math.ceil(groups / 65536));
      pass.end();
      device.queue.submit([enc.finish()]);
    });
    return new Float32Array(await readBuffer(device, outBuf, n * 4, 'eval ys'));
  } finally {
    inBuf.destroy(); outBuf.destroy();
  }
}
