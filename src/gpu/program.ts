/**
 * The host side of the program descriptors (src/codegen/programs.ts): bind groups built by binding
 * name and uniform bytes written by field name, from the same objects the WGSL was printed from.
 */
import type { ProgramSpec, UniformSpec } from '../codegen/programs.js';
import { uniformBytes } from '../codegen/programs.js';

/**
 * A bind group for `pipeline` (layout 'auto') from buffers named as the program's WGSL variables.
 * Every buffer must name a binding of the program; which ones a kernel declares is its business
 * (WebGPU validation, inside the caller's error scope, reports a missing one).
 */
export function bindGroupFor<K extends string>(
  device: GPUDevice, pipeline: GPUComputePipeline, program: ProgramSpec<K>, buffers: Partial<Record<K, GPUBuffer>>, label: string,
): GPUBindGroup {
  const entries: GPUBindGroupEntry[] = [];
  for (const [name, buffer] of Object.entries(buffers) as Array<[K, GPUBuffer | undefined]>) {
    if (!buffer) continue;
    const spec = program.bindings[name];
    if (!spec) throw new Error(`internal: program ${program.label} has no binding "${name}"`);
    entries.push({ binding: spec.binding, resource: { buffer } });
  }
  return device.createBindGroup({ label: `${label} (${program.label} bindings)`, layout: pipeline.getBindGroupLayout(0), entries });
}

/** The bytes of a uniform struct from its field values (f32 fields rounded to f32, u32 fields as integers). */
export function uniformData<F extends string>(u: UniformSpec<F>, values: Record<F, number>): ArrayBuffer {
  const bytes = new ArrayBuffer(uniformBytes(u));
  const f = new Float32Array(bytes), i = new Uint32Array(bytes);
  (Object.keys(u.fields) as F[]).forEach((name, k) => {
    const v = values[name];
    if (v === undefined || Number.isNaN(v)) throw new Error(`internal: ${u.struct}.${name} has no value`);
    if (u.fields[name] === 'f32') f[k] = v; else i[k] = v;
  });
  return bytes;
}
