/**
 * GPU program descriptors (src/codegen/programs.ts, issue #10): every kernel kind declares exactly
 * the bindings of its descriptor (number, address space, type), and a golden file per kernel kind
 * shows any change to the generated WGSL (update with `npx vitest run test/programs.test.ts -u`).
 */
import { describe, expect, it } from 'vitest';
import { parseModel } from '../src/index.js';
import { buildSolverKernel } from '../src/codegen/kernel.js';
import { buildAdjointKernel } from '../src/codegen/adjoint.js';
import { REDUCE_WGSL } from '../src/gpu/reduce.js';
import { ADJOINT_PROGRAM, REDUCE_PROGRAM, SOLVER_CONFIG, SOLVER_PROGRAM, uniformBytes, wgslStruct, type ProgramSpec } from '../src/codegen/programs.js';
import { uniformData } from '../src/gpu/program.js';
import { DOPRI5, RODAS4 } from '../src/methods/tableaus.js';
import { MATH_WGSL } from '../src/codegen/kernel.js';
import { formatSource } from '../src/codegen/step.js';

/**
 * The generated part of a kernel for its golden file: the static function library wgsl/math.wgsl
 * (embedded verbatim, tested in test/functions.test.ts) is replaced by a marker, which the kernel
 * must contain exactly once.
 */
function golden(code: string): string {
  const math = formatSource(MATH_WGSL).trimEnd();
  expect(code.split(math).length, 'wgsl/math.wgsl embedded once').toBe(2);
  return code.replace(math, '// … wgsl/math.wgsl (static, embedded verbatim) …');
}

const decay = parseModel({ name: 'decay', states: { x: 1 }, params: { k: 0.7 }, equations: { x: '-k*x' } });
const ude = parseModel({
  name: 'tiny_ude', states: { x: 1, y: 0 }, params: { k: 0.5 }, equations: { x: '-k*x', y: 'k*x' },
  neural: { inputs: ['x', 'y'], outputs: [{ state: 'x', scale: 0.1 }], hidden: [3], seed: 1 },
});

/** `{name: [binding, address space, type]}` of every `@group(0) @binding(n) var<…> name: type;` in `code`. */
function declared(code: string): Record<string, [number, string, string]> {
  const out: Record<string, [number, string, string]> = {};
  for (const m of code.matchAll(/@group\(0\) @binding\((\d+)\) var<([^>]+)> (\w+): ([^;]+);/g)) out[m[3]!] = [Number(m[1]), m[2]!, m[4]!];
  return out;
}
function expectFromDescriptor(code: string, program: ProgramSpec, names: string[]) {
  const want = Object.fromEntries(names.map((n) => {
    const b = (program.bindings as Record<string, { binding: number; access: string; type: string }>)[n]!;
    return [n, [b.binding, b.access === 'uniform' ? 'uniform' : `storage, ${b.access}`, b.type]];
  }));
  expect(declared(code)).toEqual(want);
}

describe('GPU program descriptors', () => {
  it('the solver kernel declares its descriptor\'s bindings (nn_w with a network, ckpt with checkpoints, tape with the stage tape)', async () => {
    expectFromDescriptor(buildSolverKernel(decay, DOPRI5), SOLVER_PROGRAM, ['cfg', 'params', 'state', 'counters', 'save_t', 'out', 'n_running']);
    expectFromDescriptor(buildSolverKernel(ude, DOPRI5, false, true), SOLVER_PROGRAM, ['cfg', 'params', 'state', 'counters', 'save_t', 'out', 'n_running', 'nn_w', 'ckpt']);
    expectFromDescriptor(buildSolverKernel(ude, DOPRI5, false, true, { stageTape: true }), SOLVER_PROGRAM, ['cfg', 'params', 'state', 'counters', 'save_t', 'out', 'n_running', 'nn_w', 'tape']);
    await expect(golden(buildSolverKernel(decay, DOPRI5))).toMatchFileSnapshot('./golden/solver-decay-dopri5.wgsl');
    await expect(golden(buildSolverKernel(decay, RODAS4))).toMatchFileSnapshot('./golden/solver-decay-rodas4.wgsl');
  });

  it('the adjoint sweep declares its bindings, replayed and from the stage tape', async () => {
    expectFromDescriptor(buildAdjointKernel(decay, DOPRI5, false), ADJOINT_PROGRAM, ['cfg', 'params', 'ckpt', 'adj', 'save_t', 'work', 'n_running']);
    expectFromDescriptor(buildAdjointKernel(ude, DOPRI5, false), ADJOINT_PROGRAM, ['cfg', 'params', 'ckpt', 'adj', 'save_t', 'work', 'n_running', 'nn_w', 'wbar']);
    expectFromDescriptor(buildAdjointKernel(ude, DOPRI5, false, { stageTape: true }), ADJOINT_PROGRAM, ['cfg', 'params', 'tape', 'adj', 'save_t', 'work', 'n_running', 'nn_w', 'wbar']);
    await expect(golden(buildAdjointKernel(decay, DOPRI5, false))).toMatchFileSnapshot('./golden/adjoint-decay-dopri5.wgsl');
    await expect(buildAdjointKernel(ude, DOPRI5, false, { stageTape: true })).toMatchFileSnapshot('./golden/adjoint-stage-tape-tiny-ude.wgsl');
  });

  it('the reduction declares its descriptor\'s bindings', async () => {
    expectFromDescriptor(REDUCE_WGSL, REDUCE_PROGRAM, ['dims', 'src', 'dst']);
    await expect(REDUCE_WGSL).toMatchFileSnapshot('./golden/reduce.wgsl');
  });

  it('the uniform struct and the bytes the host writes come from one field list', () => {
    const names = Object.keys(SOLVER_CONFIG.fields);
    expect(wgslStruct(SOLVER_CONFIG).match(/^\s+(\w+): (f32|u32),$/gm)!.slice(0, names.length).map((l) => l.trim().split(':')[0])).toEqual(names);
    expect(uniformBytes(SOLVER_CONFIG)).toBe(64);
    const values = Object.fromEntries(names.map((n, i) => [n, i + 1])) as Record<keyof typeof SOLVER_CONFIG.fields, number>;
    const bytes = uniformData(SOLVER_CONFIG, values);
    const f = new Float32Array(bytes), u = new Uint32Array(bytes);
    names.forEach((n, i) => expect(SOLVER_CONFIG.fields[n as keyof typeof SOLVER_CONFIG.fields] === 'f32' ? f[i] : u[i], n).toBe(i + 1));
    expect(() => uniformData(SOLVER_CONFIG, { ...values, rtol: NaN })).toThrow(/Config\.rtol has no value/);
  });
});
