/**
 * GPU program descriptors: each kernel kind's bindings and uniform layout, declared once. The WGSL
 * declarations are printed from here (`wgslBindings`, `wgslStruct`), and the host builds its bind
 * groups and uniform bytes from the same objects (src/gpu/program.ts), by name — never by a binding
 * number or an array position written twice (ONNX Runtime Web's ProgramInfo, STYLE.md §5–6).
 */

export type Access = 'uniform' | 'read' | 'read_write';

export interface BindingSpec {
  binding: number;
  access: Access;
  /** The WGSL type of the variable, e.g. `array<f32>`, `atomic<u32>`, or a uniform struct's name. */
  type: string;
}

/** A kernel kind: a label and its bindings by WGSL variable name (group 0). */
export interface ProgramSpec<K extends string = string> {
  label: string;
  bindings: Record<K, BindingSpec>;
}

function defineProgram<K extends string>(label: string, bindings: Record<K, BindingSpec>): ProgramSpec<K> {
  const seen = new Map<number, string>();
  for (const [name, b] of Object.entries<BindingSpec>(bindings)) {
    if (seen.has(b.binding)) throw new Error(`internal: program ${label} binds ${seen.get(b.binding)} and ${name} at ${b.binding}`);
    seen.set(b.binding, name);
  }
  return { label, bindings };
}

/** `@group(0) @binding(n) var<…> name: type;` for the named bindings of `program`, in binding order. */
export function wgslBindings<K extends string>(program: ProgramSpec<K>, names: readonly K[]): string {
  return [...names].sort((a, b) => program.bindings[a].binding - program.bindings[b].binding).map((name) => {
    const b = program.bindings[name];
    const space = b.access === 'uniform' ? 'uniform' : `storage, ${b.access}`;
    return `@group(0) @binding(${b.binding}) var<${space}> ${name}: ${b.type};`;
  }).join('\n');
}

/** A uniform struct: scalar fields in order, each 4 bytes; the struct is padded to 16 bytes. */
export interface UniformSpec<F extends string = string> {
  struct: string;
  fields: Record<F, 'f32' | 'u32'>;
}

/** Byte size of a uniform struct (a multiple of 16, as WGSL's uniform layout rules require). */
export const uniformBytes = (u: UniformSpec) => Math.ceil((Object.keys(u.fields).length * 4) / 16) * 16;

/** The WGSL declaration of a uniform struct, with explicit padding to its byte size. */
export function wgslStruct(u: UniformSpec): string {
  const names = Object.keys(u.fields) as Array<keyof typeof u.fields>;
  const pad = uniformBytes(u) / 4 - names.length;
  return `struct ${u.struct} {\n${names.map((n) => `  ${String(n)}: ${u.fields[n]},`).join('\n')}\n${Array.from({ length: pad }, (_, i) => `  _pad${i}: u32,`).join('\n')}${pad ? '\n' : ''}};`;
}

/** The run-time configuration of the solver-like kernels (forward, adjoint sweep, θ̄). */
export const SOLVER_CONFIG: UniformSpec<
  't1_hi' | 't1_lo' | 'rtol' | 'atol' | 'dt' | 'max_steps' | 'step_budget' | 'batch' | 'n_save' | 'row_width' | 'one' | 'ckpt_every' | 'ckpt_capacity'
> = {
  struct: 'Config',
  fields: {
    // t1 as an unevaluated f32 sum hi + lo.
    t1_hi: 'f32', t1_lo: 'f32', rtol: 'f32', atol: 'f32', dt: 'f32',
    max_steps: 'u32', step_budget: 'u32', batch: 'u32', n_save: 'u32', row_width: 'u32',
    // Always 1.0 but unknown to the compiler: see `opaque` in wgsl/solver_common.wgsl.
    one: 'f32',
    // Adjoint only: the controller state is stored every `ckpt_every` accepted steps (0: never), at most `ckpt_capacity` times.
    ckpt_every: 'u32', ckpt_capacity: 'u32',
  },
};

/** The forward solver (src/codegen/kernel.ts); nn_w with a neural term, ckpt when the adjoint asks for checkpoints. */
export const SOLVER_PROGRAM = defineProgram('solver', {
  cfg: { binding: 0, access: 'uniform', type: SOLVER_CONFIG.struct },
  params: { binding: 1, access: 'read', type: 'array<f32>' },
  state: { binding: 2, access: 'read_write', type: 'array<f32>' },
  counters: { binding: 3, access: 'read_write', type: 'array<u32>' },
  /** Save times as (hi, lo) pairs. */
  save_t: { binding: 4, access: 'read', type: 'array<f32>' },
  out: { binding: 5, access: 'read_write', type: 'array<f32>' },
  n_running: { binding: 6, access: 'read_write', type: 'atomic<u32>' },
  nn_w: { binding: 7, access: 'read', type: 'array<f32>' },
  ckpt: { binding: 8, access: 'read_write', type: 'array<f32>' },
  /** The stage tape (src/codegen/kernel.ts, stageTapeWords), in place of ckpt. */
  tape: { binding: 9, access: 'read_write', type: 'array<vec4<f32>>' },
});

/** The adjoint's backward sweep (src/codegen/adjoint.ts); nn_w and wbar (θ̄ per trajectory) with a neural term. */
export const ADJOINT_PROGRAM = defineProgram('adjoint sweep', {
  cfg: { binding: 0, access: 'uniform', type: SOLVER_CONFIG.struct },
  params: { binding: 1, access: 'read', type: 'array<f32>' },
  ckpt: { binding: 2, access: 'read', type: 'array<f32>' },
  adj: { binding: 3, access: 'read_write', type: 'array<u32>' },
  /** Save times (hi, lo) and the cotangents ȳ at the saves. */
  save_t: { binding: 4, access: 'read', type: 'array<f32>' },
  work: { binding: 5, access: 'read_write', type: 'array<f32>' },
  n_running: { binding: 6, access: 'read_write', type: 'atomic<u32>' },
  nn_w: { binding: 7, access: 'read', type: 'array<f32>' },
  wbar: { binding: 8, access: 'read_write', type: 'array<f32>' },
  /** The stage tape the forward pass wrote, in place of ckpt. */
  tape: { binding: 9, access: 'read', type: 'array<vec4<f32>>' },
});

/** The column-sum tree reduction (src/gpu/reduce.ts). */
export const REDUCE_DIMS: UniformSpec<'rows' | 'cols' | 'out_rows' | 'transposed'> = {
  struct: 'Dims', fields: { rows: 'u32', cols: 'u32', out_rows: 'u32', transposed: 'u32' },
};
export const REDUCE_PROGRAM = defineProgram('column sums', {
  dims: { binding: 0, access: 'uniform', type: REDUCE_DIMS.struct },
  src: { binding: 1, access: 'read', type: 'array<f32>' },
  dst: { binding: 2, access: 'read_write', type: 'array<f32>' },
});
