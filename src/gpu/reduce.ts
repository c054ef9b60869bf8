/**
 * Column sums of a rows × cols f32 matrix on the GPU by a tree reduction in workgroup memory: the
 * shared-weight gradient θ̄ = Σ_trajectories θ̄_b of the adjoint (WGSL has no float atomics, and
 * a fixed tree gives the same sum on every run, unlike atomics would). Each pass reduces blocks of
 * 2·WG rows per column to one row (pairwise summation: error ~ log₂(rows)·ε instead of rows·ε);
 * passes repeat until one row is left.
 */
import { acquireGpu, bufferPool, checked, computePipeline, readBuffer } from './runtime.js';
import { REDUCE_DIMS, REDUCE_PROGRAM, uniformBytes, wgslBindings, wgslStruct } from '../codegen/programs.js';
import { bindGroupFor, uniformData } from './program.js';
import { storageUsage } from './dispatch.js';

const WG = 256;
/** The reduction kernel (golden: test/golden/reduce.wgsl). */
export const REDUCE_WGSL = /* wgsl */ `
${wgslStruct(REDUCE_DIMS)}
${wgslBindings(REDUCE_PROGRAM, ['dims', 'src', 'dst'])}
var<workgroup> part: array<f32, ${WG}>;

// Element (r, c): row-major, or column-major (c·rows + r) for the first pass over a [column][row] input.
fn at(r: u32, c: u32) -> u32 {
  return select(r * dims.cols + c, c * dims.rows + r, dims.transposed != 0u);
}

// Workgroup (c, g): column c, rows [g·2·WG, (g+1)·2·WG) → dst[g·cols + c].
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.x;
  let g = wg.y;
  let r0 = g * ${2 * WG}u + li;
  var v = 0.0;
  if (r0 < dims.rows) { v = src[at(r0, c)]; }
  if (r0 + ${WG}u < dims.rows) { v = v + src[at(r0 + ${WG}u, c)]; }
  part[li] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { part[li] = part[li] + part[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { dst[g * dims.cols + c] = part[0]; }
}
`;

/**
 * Sums the rows of `input` (rows × cols, a STORAGE buffer; row-major, or column-major where
 * element (r, c) is at c·rows + r) into a cols-long buffer.
 */
export async function sumRowsOnGpu(device: GPUDevice, input: GPUBuffer, rows: number, cols: number, columnMajor = false): Promise<GPUBuffer> {
  if (rows * cols * 4 > device.limits.maxStorageBufferBindingSize) {
    throw new RangeError(`column sums: ${rows} × ${cols} f32 exceed one storage binding (${device.limits.maxStorageBufferBindingSize} bytes); reduce chunks of rows separately`);
  }
  const { pipeline } = await computePipeline(device, 'column sums', REDUCE_WGSL);
  const pool = bufferPool(device);
  const STORAGE = storageUsage();
  let src = input, n = rows;
  const owned: GPUBuffer[] = [];
  while (n > 1) {
    const groups = Math.ceil(n / (2 * WG));
    if (groups > device.limits.maxComputeWorkgroupsPerDimension || cols > device.limits.maxComputeWorkgroupsPerDimension) {
      throw new RangeError(`column sums: ${cols} columns × ${groups} row blocks exceed the dispatch limit`);
    }
    const dst = pool.acquire(device, groups * cols * 4, STORAGE, 'column sums (partial)');
    const dims = pool.acquire(device, uniformBytes(REDUCE_DIMS), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'column sums (dims)');
    await checked(device, 'column sums pass', () => {
      device.queue.writeBuffer(dims, 0, uniformData(REDUCE_DIMS, { rows: n, cols, out_rows: groups, transposed: columnMajor && src === input ? 1 : 0 }));
      const bind = bindGroupFor(device, pipeline, REDUCE_PROGRAM, { dims, src, dst }, 'column sums');
      const enc = device.createCommandEncoder({ label: 'column sums' });
      const pass = enc.beginComputePass({ label: 'column sums' });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(cols, groups);
      pass.end();
      device.queue.submit([enc.finish()]);
    });
    pool.release(dims);
    owned.push(dst);
    src = dst;
    n = groups;
  }
  // Release the intermediate buffers once the queue has used them; keep the result.
  await device.queue.onSubmittedWorkDone();
  for (const b of owned) if (b !== src) pool.release(b);
  return src;
}

/** Host convenience: column sums of a Float32Array on the GPU. */
export async function sumRows(data: Float32Array, rows: number, cols: number, columnMajor = false): Promise<Float32Array> {
  const { device } = await acquireGpu();
  const pool = bufferPool(device);
  const input = pool.acquire(device, data.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'column sums (input)');
  try {
    device.queue.writeBuffer(input, 0, data);
    const out = rows > 1 ? await sumRowsOnGpu(device, input, rows, cols, columnMajor) : input;
    const result = new Float32Array(await readBuffer(device, out, cols * 4, 'column sums'));
    if (out !== input) pool.release(out);
    return result;
  } finally {
    pool.release(input);
  }
}
