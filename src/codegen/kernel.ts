/**
 * Generates the batched-integrator compute shader for one (model, method) pair: one invocation per
 * trajectory, adaptive steps per trajectory, a bounded number of step attempts per dispatch so a
 * straggler never stalls the queue (the host re-dispatches until every trajectory has finished).
 *
 * What is compiled in: the model's equations and the method's tableau (as exact f32 literals).
 * What is passed at run time: tolerances, t1, step budget, sizes (STYLE.md §5).
 * The step attempt itself comes from src/codegen/step.ts (the same generator prints the CPU
 * path's f64 JavaScript); this file is the GPU driver around it: storage in and out, the step
 * budget per dispatch, checkpoints. Everything is unrolled over states and stages, so private
 * arrays are indexed only by constants.
 */
import { MATH_WGSL, SOLVER_COMMON_WGSL } from './wgsl-sources.generated.js';
import type { Model } from '../physics/model.js';
import type { Method } from '../methods/tableaus.js';
import { CONTROLLER_REGISTERS } from '../methods/controller.js';
import { emitModelWgsl, wgslSizes } from './compile.js';
import { adjointNetworkLooped } from './neural.js';
import { SOLVER_CONFIG, SOLVER_PROGRAM, wgslBindings, wgslStruct } from './programs.js';
import { acceptedStageNames, formatSource, loopHead, range, saveLoop, driverStart, stepAttempt, stepConstants, stepHelpers, timeUntil, wgslTarget, type NextSave, type StepTarget } from './step.js';

/** Config, its binding and the helpers every solver-like kernel shares (wgsl/solver_common.wgsl). */
export const SOLVER_COMMON = SOLVER_COMMON_WGSL;
/** Our accurate f32 elementary functions, called by generated model code (src/codegen/emit.ts; wgsl/math.wgsl). */
export { MATH_WGSL };

export const WORKGROUP_SIZE = 64;
/** f32 slots per trajectory in the state buffer: y, yc, t_hi, t_lo, then CONTROLLER_REGISTERS (`controllerSlots`). */
export const stateStride = (N: number) => 2 * N + 2 + CONTROLLER_REGISTERS.length;
export const COUNTER_STRIDE = 6;

/** f32 slots per checkpoint of the controller state: the state buffer's slots, then flags and save. */
export const checkpointStride = (N: number) => stateStride(N) + 2;
/** Where a checkpoint holds `flags` and `save` (after the controller's registers). */
export const checkpointFlagsSlot = (N: number) => stateStride(N);
export const checkpointSaveSlot = (N: number) => stateStride(N) + 1;

/**
 * The adjoint's stage tape on the GPU: per accepted step y_n, t_hi, t_lo, h, the index of the
 * step's first save, then the stage points u_1 … u_(s−1) (the FSAL stage's is y₁ itself) — all the
 * backward sweep needs to run the stage adjoints without replaying or recomputing a stage.
 * Undefined for methods whose step does not have every stage at acceptance (Rosenbrock, stages only
 * computed for interpolation): those always replay from checkpoints.
 */
export function stageTapePoints(method: Method): string[] | undefined {
  const names = acceptedStageNames(method);
  return names && names.filter((n) => n.startsWith('u') || n === 'ynew');
}
/** f32 values per step of the GPU stage tape (`stageTapePoints`). */
export const stageTapeValues = (N: number, method: Method) => N + 4 + N * (stageTapePoints(method)?.length ?? 0);
/**
 * vec4 words per step of the GPU stage tape: its values four to a word (the last padded with
 * zeros). A lane's four values go in one 16-byte store: llvmpipe writes and reads a storage buffer
 * lane by lane, and with one f32 per access the forward pass with the tape took 3–4× the time of the
 * forward pass alone at B = 1024 (65–83 ms against 21 ms; issue 15); a GPU coalesces 16-byte
 * accesses as well as 4-byte ones.
 */
export const stageTapeWords = (N: number, method: Method) => Math.ceil(stageTapeValues(N, method) / 4);
/** f32 slots per step of the GPU stage tape (`stageTapeWords`, padded): what it takes in memory. */
export const stageTapeStride = (N: number, method: Method) => 4 * stageTapeWords(N, method);
/** Where value k of a stage-tape record lies: its vec4 word and the component within it. */
export const stageTapeSlot = (k: number) => ({ word: k >> 2, component: 'xyzw'[k & 3]! });

/**
 * The adjoint's kernels (forward with checkpoints, sweep) run the explicit stages as one loop when
 * the model has a neural term (src/codegen/step.ts, loopedStages: one copy of the network per loop
 * instead of one per stage), and the replay must retrace the forward pass bit for bit, so both take
 * it from here. The value is the loop's trip factor, 1u at run time but unknown to the compiler.
 */
export const adjointStageLoop = (model: Model) => (model.neural ? 'u32(cfg.one)' : undefined);

/** Constants, shared WGSL and the model's functions: the start of every solver-like kernel. */
export function kernelHeader(model: Model, method: Method, what: string, withNetworkVjp = false, networkLooped = false): string {
  const { N, P } = wgslSizes(model);
  const T = wgslTarget(N, P);
  return [
    `// ${model.name} × ${method.name}${what} — generated by condensate-twin (src/codegen/)`,
    `const N: u32 = ${N}u;`,
    `const P: u32 = ${P}u;`,
    `const SS: u32 = ${stateStride(N)}u;`,
    `const CK: u32 = ${checkpointStride(N)}u;`,
    `const CS: u32 = ${COUNTER_STRIDE}u;`,
    stepConstants(T),
    wgslStruct(SOLVER_CONFIG),
    SOLVER_COMMON,
    MATH_WGSL,
    emitModelWgsl(model, method.kind === 'rosenbrock', withNetworkVjp, networkLooped),
    stepHelpers(T, method.kind === 'rosenbrock'),
  ].join('\n');
}

/**
 * Layout per trajectory i:
 *   state[i*SS ..]   : y[N], yc[N] (Kahan compensation), t_hi, t_lo, h, err_prev, rho (CONTROLLER_REGISTERS)
 *   counters[i*CS ..]: status, accepted steps, rejected steps, rhs evaluations, next save index, flags
 *   out[(i*n_save + s)*N ..] : y at save time s
 *   ckpt[(i*capacity + c)*CK ..] (with `checkpoints`): the controller state before accepted step c·K
 * (bindings: SOLVER_PROGRAM in src/codegen/programs.ts)
 */

/** The controller's registers in the order `state` and checkpoints hold them: y, yc, t_hi, t_lo, CONTROLLER_REGISTERS. */
const controllerSlots = (N: number) => [...range(N).map((k) => `y[${k}]`), ...range(N).map((k) => `yc[${k}]`), 't.x', 't.y', ...CONTROLLER_REGISTERS.map((r) => r.name)];

/** Declares the controller's registers and loads them from `buf[base + …]` (layout of `controllerSlots`). */
export function loadController(N: number, buf: string, base: string): string {
  const at = (j: number) => `${buf}[${base} + ${j}u]`;
  return `  var y: array<f32, ${N}>;
  var yc: array<f32, ${N}>;
${range(2 * N).map((j) => `  ${controllerSlots(N)[j]} = ${at(j)};`).join('\n')}
  var t = vec2<f32>(${at(2 * N)}, ${at(2 * N + 1)});
${CONTROLLER_REGISTERS.map((r, j) => `  var ${r.name} = ${at(2 * N + 2 + j)};`).join('\n')}`;
}

/** Stores the controller's registers into `buf[base + …]` (layout of `controllerSlots`). */
function storeController(N: number, buf: string, base: string, indent: string): string {
  return controllerSlots(N).map((v, j) => `${indent}${buf}[${base} + ${j}u] = ${v};`).join('\n');
}


/**
 * `build()`'s WGSL, generated once per model, method and `key` (the other build options): a fit
 * calls the same kernels a thousand times, and generating one took ~0.5 ms.
 */
export function cachedKernel(model: Model, method: Method, key: string, build: () => string): string {
  let byMethod = kernelSources.get(model);
  if (!byMethod) kernelSources.set(model, (byMethod = new WeakMap()));
  let byKey = byMethod.get(method);
  if (!byKey) byMethod.set(method, (byKey = new Map()));
  let code = byKey.get(key);
  if (code === undefined) byKey.set(key, (code = build()));
  return code;
}
const kernelSources = new WeakMap<Model, WeakMap<Method, Map<string, string>>>();

export function buildSolverKernel(
  model: Model, method: Method, fixedStep = false, checkpoints = false,
  // The adjoint's forward pass takes the sweep's form of the network; the plain one is unrolled.
  // With `stageTape` the adjoint's forward pass writes every accepted step's stage points
  // (`stageTapePoints`) into the `tape` binding instead of checkpoints into `ckpt`.
  { networkLooped = checkpoints && adjointNetworkLooped(model.neural), stageTape = false } = {},
): string {
  const { N, P } = wgslSizes(model);
  const T = wgslTarget(N, P);
  const projects = model.projection !== undefined;
  // The adjoint's forward pass runs the stages as its replay does; the plain one keeps them unrolled.
  const loopStages = checkpoints ? adjointStageLoop(model) : undefined;
  // …and starts as the replay does (driverStart).
  const { start, startChosen } = driverStart(T, method, fixedStep, loopStages);
  const next = nextSave(T);
  const onAccept = `${checkpoints && stageTape ? writeStageTape(N, method) : ''}\n${saveLoop(T, method, projects, next)}`;
  const attempt = stepAttempt(T, method, { fixedStep, projects, onAccept, loopStages, startChosen, nextSave: next });
  const bindings = wgslBindings(SOLVER_PROGRAM, ['cfg', 'params', 'state', 'counters', 'save_t', 'out', 'n_running',
    ...(model.neural ? ['nn_w' as const] : []), ...(checkpoints ? [stageTape ? 'tape' as const : 'ckpt' as const] : [])]);
  return formatSource(`${kernelHeader(model, method, '', false, networkLooped)}\n${bindings}
${prologue(T, P, start, next.declare)}${checkpoints && !stageTape ? writeCheckpoint(N) : ''}
${attempt}
${epilogue(N)}`);
}

/**
 * The forward solver's kernel (buildSolverKernel) with the network's weights compiled in: the `nn_w`
 * binding becomes a module-scope constant of the same name, so the network's code is unchanged.
 * Why: llvmpipe bounds-checks every read of a storage or uniform buffer and branches on it, one
 * weight at a time (its generated x86 shows a compare and a jump per weight), where a constant index
 * into a constant is a broadcast operand. For the UDE at B = 1e5 that took the solve's CPU time from
 * 8.2–8.8 s to 6.5–6.8 s, and Mesa's cold compile of the kernel from 10.5–11.8 s to 2.6–3.1 s
 * (bench/README.md, "Weights compiled into the kernel"). The price is a pipeline per weight set.
 * Each weight is written as its f32 bit pattern, so the kernel computes with exactly the weights the
 * buffer would hold. undefined when a weight is not finite (a WGSL constant cannot be NaN or
 * infinite) or the kernel reads the binding's length: the caller keeps the binding.
 */
export function withWeightsCompiledIn(code: string, weights: ArrayLike<number>): string | undefined {
  const binding = wgslBindings(SOLVER_PROGRAM, ['nn_w']);
  if (!code.includes(binding)) throw new Error('internal: the kernel has no nn_w binding to compile the weights into');
  if (code.includes('arrayLength(&nn_w)')) return undefined;
  const constant = weightsConstant(weights);
  return constant === undefined ? undefined : code.replace(binding, constant);
}

/**
 * The WGSL declaration `const nn_w = array<f32, n>(…)` of the weights θ, each as its f32 bit
 * pattern; undefined when a weight is not finite. withWeightsCompiledIn puts it in place of the
 * binding; bench/fma-ceiling.mjs measures the network alone with it.
 */
export function weightsConstant(weights: ArrayLike<number>): string | undefined {
  const f32 = Float32Array.from(weights);
  if (f32.length === 0 || !f32.every(Number.isFinite)) return undefined;
  const bits = new Uint32Array(f32.buffer);
  const rows = Array.from({ length: Math.ceil(bits.length / 6) }, (_, r) =>
    `  ${Array.from(bits.subarray(6 * r, 6 * r + 6), (b) => `bitcast<f32>(0x${b.toString(16).padStart(8, '0')}u)`).join(', ')},`);
  return `// The network's weights θ, compiled in (weightsConstant in src/codegen/kernel.ts).
const nn_w = array<f32, ${bits.length}>(
${rows.join('\n')}
);`;
}

/**
 * The controller state before an attempt at accepted step c·K (rewritten by rejected attempts, so
 * the last write is the state the accepted attempt started from): replaying from it with the same
 * code takes the same steps. Integers are stored as f32 values (exact below 2²⁴), not bit casts,
 * which a GPU may flush as denormals.
 */
function writeCheckpoint(N: number): string {
  return `
    if (steps % cfg.ckpt_every == 0u && steps / cfg.ckpt_every < cfg.ckpt_capacity) {
      let kb = (i * cfg.ckpt_capacity + steps / cfg.ckpt_every) * CK;
${storeController(N, 'ckpt', 'kb', '      ')}
      ckpt[kb + ${checkpointFlagsSlot(N)}u] = f32(flags);
      ckpt[kb + ${checkpointSaveSlot(N)}u] = f32(save);
    }`;
}

/**
 * An accepted step's record on the stage tape (`stageTapePoints`) in vec4 words (`stageTapeWords`),
 * [step][word][trajectory] so neighbouring invocations write neighbouring words; steps past
 * `cfg.ckpt_capacity` are counted (the host reruns with room for them) but not written.
 */
function writeStageTape(N: number, method: Method): string {
  const points = stageTapePoints(method);
  if (!points) throw new Error(`internal: ${method.name} has no stage tape`);
  const Q = stageTapeWords(N, method);
  const values = [...range(N).map((k) => `y[${k}]`), 't.x', 't.y', 'hs', 'f32(save)', ...points.flatMap((u) => range(N).map((k) => `${u}[${k}]`))];
  while (values.length < 4 * Q) values.push('0.0');
  return `if (steps < cfg.ckpt_capacity) {
${range(Q).map((q) => `  tape[(steps * ${Q}u + ${q}u) * cfg.batch + i] = vec4<f32>(${values.slice(4 * q, 4 * q + 4).join(', ')});`).join('\n')}
}`;
}

/** Save `save`'s time in the register `sv` (`NextSave`): the prologue declares it, onAccept reloads it. */
function nextSave(T: StepTarget): NextSave & { declare: string } {
  const [hi, lo] = T.saveTime('save');
  const load = `vec2<f32>(${hi}, ${lo})`;
  return { hi: 'sv.x', lo: 'sv.y', reload: `sv = ${load};`, declare: `var sv = ${load};` };
}

/** Loads a trajectory's registers; shared prologue of every method. `declareNextSave`: nextSave's declaration. */
function prologue(T: StepTarget, P: number, start: string, declareNextSave: string): string {
  const N = T.N;
  const [hi, lo] = T.saveTime('save');
  return `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * cfg.row_width;
  if (i >= cfg.batch) { return; }
  let cb = i * CS;
  var status = counters[cb];
  if (status != STATUS_RUNNING) { return; }
  var steps = counters[cb + 1u];
  var rejected = counters[cb + 2u];
  var nfev = counters[cb + 3u];
  var save = counters[cb + 4u];
  var flags = counters[cb + 5u];
  let sb = i * SS;
${loadController(N, 'state', 'sb')}
  var p: array<f32, P>;
${range(P).map((k) => `  p[${k}] = params[i * P + ${k}u];`).join('\n')}
${start}
  nfev += 1u;
  if ((flags & FLAG_STARTED) == 0u) {
    flags = flags | FLAG_STARTED;
    var pfin = true;
${range(P).map((k) => `    pfin = pfin && finite(p[${k}]);`).join('\n')}
    // Save times at t0 take the initial state.
    loop {
      if (save >= cfg.n_save || ${timeUntil(T, hi, lo)} > 0.0) { break; }
${range(N).map((k) => `      out[(i * cfg.n_save + save) * N + ${k}u] = y[${k}];`).join('\n')}
      save += 1u;
    }
    if (!all_finite(y) || !all_finite(f0) || !pfin) { status = STATUS_NON_FINITE; }
  }
  // The next save's time (nextSave); past the last save it is never read.
  ${declareNextSave}
  var budget = cfg.step_budget;
  loop {
${loopHead(T, 'if (budget == 0u) { break; }\nbudget -= 1u;')}`;
}

function epilogue(N: number): string {
  return `
  }
${storeController(N, 'state', 'sb', '  ')}
  counters[cb] = status;
  counters[cb + 1u] = steps;
  counters[cb + 2u] = rejected;
  counters[cb + 3u] = nfev;
  counters[cb + 4u] = save;
  counters[cb + 5u] = flags;
  if (status == STATUS_RUNNING) { atomicAdd(&n_running, 1u); }
}
`;
}
