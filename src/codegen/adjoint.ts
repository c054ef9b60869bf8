/**
 * The backward sweep of the discrete adjoint on the GPU (f32), explicit Runge–Kutta and Rosenbrock
 * methods (the stage adjoints: src/codegen/step.ts, explicitStepAdjoint, rosenbrockStepAdjoint): one
 * invocation per trajectory handles one segment between checkpoints per dispatch, last segment
 * first (src/training/gpu-adjoint.ts re-dispatches until every trajectory reaches t0).
 *
 * Per segment: (1) replay the K accepted steps from the stored controller state with the very
 * step-attempt code the forward kernel ran (src/codegen/step.ts, stepAttempt), writing each
 * step's (y_n, t_n, h_n, first save) to a tape in storage; (2) walk the tape backwards, recompute the
 * step's stages and propagate the cotangents with the stage adjoint the f64 reference prints from
 * the same generator (src/codegen/step.ts, explicitStepAdjoint): k̄_i = h b_i ȳ_{n+1} + Σ_saves h b_i(θ) ȳ_s,
 * then for i = s…1 Ȳ_i = J(Y_i)ᵀ k̄_i (the generated vᵀ∂f, network through its VJP), p̄ += (∂f/∂p)ᵀ k̄_i,
 * ȳ_n += Ȳ_i, k̄_j += h a_ij Ȳ_i (Rosenbrock: through W⁻ᵀ, then the model's second derivatives
 * contracted with J̄ and w̄ for W = I/(hγ) − J(y_n) and ∂f/∂t(y_n)). ȳ and p̄ live in registers within a dispatch and in storage
 * between dispatches. θ̄ of the trajectory is summed by the network's VJP itself into a private
 * array (nn_vjp_acc, src/codegen/neural.ts: at constant indices for the unrolled form), added once
 * per dispatch to its row of wbar ([weight][trajectory], so neighbouring invocations touch
 * neighbouring words) and summed over the batch afterwards by the tree reduction of src/gpu/reduce.ts.
 * (A separate θ̄ kernel that redid the network's VJP from stored signals cost a third of the UDE
 * gradient's time: ratio 4.0–4.4 against 2.5 fused, `bench/gradient.mjs --backend gpu`.)
 *
 * Memory per trajectory: the checkpoints (2N + 6 f32 each) plus one segment's tape (K·(N + 4) f32)
 * plus ȳ, p̄ and θ̄ — it grows with the number of checkpoints, not with steps × stages.
 *
 * With `stageTape` the forward pass kept every step's stage points instead (src/codegen/kernel.ts,
 * stageTapePoints) and (1) and the recomputation in (2) go: the kernel calls no f, only its VJPs.
 * For a UDE that is what keeps the kernel's compile time and run time down (issue 15: about 4 s
 * to compile on llvmpipe against 20–30 s with the replay, `bench/adjoint-compile.mjs --neural [--replay]`).
 */
import type { Model } from '../physics/model.js';
import { layerSizes, weightLayout } from '../physics/neural.js';
import type { Method } from '../methods/tableaus.js';
import { emitSecondOrderWgsl, emitSensitivityWgsl, wgslSizes } from './compile.js';
import { adjointNetworkLooped, mlpWgsl } from './neural.js';
import { ADJOINT_PROGRAM, wgslBindings } from './programs.js';
import { WORKGROUP_SIZE, adjointStageLoop, checkpointFlagsSlot, checkpointSaveSlot, kernelHeader, loadController, stageTapePoints, stageTapeSlot, stageTapeWords } from './kernel.js';
import { explicitStages, formatSource, explicitStepAdjoint, loopHead, luSolveTransposed, range, readByLaterStage, rosenbrockStages, rosenbrockStepAdjoint, driverStart, stepAttempt, timeUntil, wgslTarget } from './step.js';

/** f32 slots per step on the tape: y_n (N), t_hi, t_lo, h, index of the step's first save. */
export const tapeStride = (N: number) => N + 4;
/**
 * u32 slots per trajectory in the adjoint's counters: segments left, steps, saves, replay error,
 * steps swept by the last dispatch (whose network signals the scratch holds).
 */
export const ADJOINT_COUNTER_STRIDE = 5;
/** Step attempts a replay may take per accepted step before it is declared failed (never in practice). */
const REPLAY_ATTEMPTS_PER_STEP = 64;

/**
 * Buffer layouts (the bindings themselves: ADJOINT_PROGRAM in src/codegen/programs.ts):
 *   params[i·P + q]
 *   ckpt[(i·capacity + c)·CK + …]        controller state (y, yc, t_hi, t_lo, h, err_prev, rho, flags, save)
 *   adj[i·4 + …]                         segments left, accepted steps, saves reached, replay error
 *   save_t[0 .. 2S) then ȳ_s             save times as (hi, lo), then ∂L/∂y at each save:
 *                                        save_t[2S + (i·S + s)·N + k]
 *   work                                 ȳ, p̄: work[k·B + i] (k < N + P); the tape after them:
 *                                        work[(N + P)·B + (m·TS + k)·B + i]
 *   n_running                            trajectories with segments left after this dispatch
 *   nn_w                                 the network's weights (with a neural term)
 *   wbar[w·B + i]                        θ̄ per trajectory, added once per dispatch from the private th
 */
export function buildAdjointKernel(
  model: Model, tab: Method, fixedStep: boolean,
  { networkLooped = adjointNetworkLooped(model.neural), stageTape = false } = {},
): string {
  if (model.projection) throw new Error('internal: no adjoint through a projection');
  // With the stage tape (src/codegen/kernel.ts, stageTapePoints) the forward pass left every step's
  // stage points in `ckpt`: no replay, no stage recomputed, no call of f but its VJPs.
  const points = stageTape ? stageTapePoints(tab) : undefined;
  if (stageTape && !points) throw new Error(`internal: ${tab.name} has no stage tape`);
  const rosenbrock = tab.kind === 'rosenbrock';
  if (rosenbrock && model.neural) throw new Error('internal: no Rosenbrock adjoint through a neural term (its second derivatives are not generated)');
  const { N, P } = wgslSizes(model);
  // The model's own parameter count (P is at least 1: WGSL has no empty arrays).
  const P0 = model.params.length;
  const T = wgslTarget(N, P);
  const nStages = tab.c.length;
  const TS = tapeStride(N);
  // With a neural term, the stages and the stage adjoints as loops (see adjointStageLoop).
  const stageLoop = adjointStageLoop(model);
  // The forward pass's start (driverStart), so the replay takes its steps.
  const { start, startChosen } = driverStart(T, tab, fixedStep, stageLoop);
  const sens = emitSensitivityWgsl(model);
  const spec = model.neural;
  const nOut = spec?.outputs.length ?? 0, nIn = spec?.inputs.length ?? 0;
  // Slot k of step `step` on the segment's tape in `work` (the replayed form), [step][slot][trajectory]
  // so neighbouring invocations touch neighbouring words.
  const tape = (step: string, k: number) => `work[TAPE0 + (${step} * ${TS}u + ${k}u) * cfg.batch + i]`;
  // The stage tape: word q of step `step`, [step][word][trajectory] (src/codegen/kernel.ts, stageTapeWords).
  const Q = points ? stageTapeWords(N, tab) : 0;
  const tapeWord = (step: string, q: number) => `tape[((c * K + ${step}) * ${Q}u + ${q}u) * cfg.batch + i]`;
  const tapeValue = (step: string, k: number) => { const { word, component } = stageTapeSlot(k); return `${tapeWord(step, word)}.${component}`; };
  // Value k of step m: from the words loaded once per step (r0, r1, …), or from the replay's tape.
  const stepValue = (k: number) => { const { word, component } = stageTapeSlot(k); return points ? `r${word}.${component}` : tape('m', k); };
  const [hi, lo] = T.saveTime('save');

  // After an accepted replayed step: tape it, then move the save index past the step's saves (the
  // forward pass's rule; the segment's last step takes every save up to the next checkpoint's).
  const onAccept = `
    {
${range(N).map((k) => `      ${tape('n', k)} = y[${k}];`).join('\n')}
      ${tape('n', N)} = t.x;
      ${tape('n', N + 1)} = t.y;
      ${tape('n', N + 2)} = hs;
      ${tape('n', N + 3)} = f32(save);
      loop {
        if (save >= save_end) { break; }
        if (n + 1u < n_seg && ${timeUntil(T, hi, lo)} > hs * (1.0 + 4.0 * EPS)) { break; }
        save += 1u;
      }
      n += 1u;
    }`;

  // The stage adjoint (ybar: ȳ_{n+1} in, ȳ_n out); the VJP of f at each stage is the WGSL part.
  const adj = tab.kind === 'rosenbrock' ? rosenbrockStepAdjoint(T, tab) : explicitStepAdjoint(T, tab);
  const vjp = (s: number | string, point: string, t: string, v: string) => [
    `let r = vjp_f(${t}, ${point}, p, ${v});`,
    `var yb: array<f32, ${N}>;`,
    ...range(N).map((k) => `yb[${k}] = r[${k}];`),
    ...range(P0).map((q) => `pbar[${q}] += r[${N + q}];`),
    ...(spec ? [
      `let x_in = array<f32, ${nIn}>(${range(nIn).map((m) => `r[${N + P + nOut + m}]`).join(', ')});`,
      `let gx = nn_vjp_acc(x_in, array<f32, ${nOut}>(${range(nOut).map((j) => `r[${N + P + j}]`).join(', ')}));`,
      `let ri = vjp_u(${t}, ${point}, p, gx);`,
      ...range(N).map((k) => `yb[${k}] += ri[${k}];`),
      ...range(P0).map((q) => `pbar[${q}] += ri[${N + q}];`),
    ] : []),
  ].join('\n');

  // (1) of the checkpointed form: the segment's steps again from its checkpoint, taped in `work`.
  const replaySegment = () => `  // (1) Replay the segment from its checkpoint.
${loadController(N, 'ckpt', 'kb0')}
  var flags = u32(ckpt[kb0 + ${checkpointFlagsSlot(N)}u]);
  var save = u32(ckpt[kb0 + ${checkpointSaveSlot(N)}u]);
  var p: array<f32, P>;
${range(P).map((q) => `  p[${q}] = params[i * P + ${q}u];`).join('\n')}
  var status = STATUS_RUNNING;
  var steps = c * K;
  var rejected = 0u;
  var nfev = 0u;
  var n = 0u;
  var attempts = 0u;
${start}
  loop {
    if (n >= n_seg) { break; }
    attempts += 1u;
    if (attempts > ${REPLAY_ATTEMPTS_PER_STEP}u * n_seg) { break; }
${loopHead(T)}
${stepAttempt(T, tab, { fixedStep, projects: false, onAccept, loopStages: stageLoop, startChosen })}
  }
  if (n < n_seg) {
    // The replay did not retrace the forward pass (it cannot, unless the device is not deterministic).
    adj[ab + 3u] = 1u;
    adj[ab] = 0u;
    adj[ab + 4u] = 0u;
    return;
  }`;

  return formatSource(`${kernelHeader(model, tab, ' adjoint', spec !== undefined, networkLooped)}
${wgslBindings(ADJOINT_PROGRAM, ['cfg', 'params', points ? 'tape' : 'ckpt', 'adj', 'save_t', 'work', 'n_running', ...(spec ? ['nn_w' as const, 'wbar' as const] : [])])}
const TAPE0_PER_TRAJ: u32 = ${N + P}u;
${spec ? `// θ̄ of this trajectory over the segment, summed by nn_vjp_acc (zero at the start of each invocation).
var<private> th: array<f32, ${weightLayout(layerSizes(spec)).total}>;` : ''}

${sens.code}
${rosenbrock ? `${emitSecondOrderWgsl(model)}\n${luSolveTransposed(T)}` : ''}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * cfg.row_width;
  if (i >= cfg.batch) { return; }
  let ab = i * ${ADJOINT_COUNTER_STRIDE}u;
  let segments_left = adj[ab];
  if (segments_left == 0u) { adj[ab + 4u] = 0u; return; }
  let c = segments_left - 1u;
  let K = cfg.ckpt_every;
  let total_steps = adj[ab + 1u];
  let n_seg = min(K, total_steps - c * K);
${points ? `  // The segment ends where the next step's saves start (or at the last save reached).
  var save_end = adj[ab + 2u];
  if ((c + 1u) * K < total_steps) { save_end = u32(${tapeValue('K', N + 3)}); }
  var p: array<f32, P>;
${range(P).map((q) => `  p[${q}] = params[i * P + ${q}u];`).join('\n')}
  var y: array<f32, ${N}>;
` : `  let TAPE0 = TAPE0_PER_TRAJ * cfg.batch;
  let kb0 = (i * cfg.ckpt_capacity + c) * CK;
  // The segment ends where the next checkpoint's saves start (or at the last save reached).
  var save_end = adj[ab + 2u];
  if ((c + 1u) * K < total_steps) { save_end = u32(ckpt[kb0 + CK + ${checkpointSaveSlot(N)}u]); }
${replaySegment()}`}
  // (2) Reverse sweep over the taped steps.
  var ybar: array<f32, ${N}>;
${range(N).map((k) => `  ybar[${k}] = work[${k}u * cfg.batch + i];`).join('\n')}
  var pbar: array<f32, P>;
${range(P).map((q) => `  pbar[${q}] = work[${N + q}u * cfg.batch + i];`).join('\n')}
  var s_hi = save_end;
  var m = n_seg;
  loop {
    if (m == 0u) { break; }
    m -= 1u;
${points ? range(Q).map((q) => `    let r${q} = ${tapeWord('m', q)};`).join('\n') : ''}
${range(N).map((k) => `    y[${k}] = ${stepValue(k)};`).join('\n')}
    let tn = vec2<f32>(${stepValue(N)}, ${stepValue(N + 1)});
    let hs = ${stepValue(N + 2)};
    let s_lo = u32(${stepValue(N + 3)});
${points ? points.map((u, d) => `    var u${d + 1}: array<f32, ${N}>;\n${range(N).map((k) => `    u${d + 1}[${k}] = ${stepValue(N + 4 + d * N + k)};`).join('\n')}`).join('\n')
    : tab.kind === 'rosenbrock' ? `    // W's factors, U_s and the points u_s at (t_n, y_n), as the forward step made them.
    t = tn;
    f0 = rhs(t.x, y, p);
${rosenbrockStages(T, tab, false)}` : stageLoop
    // Looped, k_0 in the stages' loop too (one copy of the network fewer).
    ? explicitStages(T, tab, 0, nStages, 'hs', 'tn.x', { needK: readByLaterStage(tab), looped: stageLoop })
    : `    var k0 = rhs(tn.x, y, p);\n${explicitStages(T, tab, 1, nStages, 'hs', 'tn.x', { needK: readByLaterStage(tab) })}`}
    // k̄ from ȳ_{n+1}, plus the dense output's weights for every save inside the step.
    let saves_in_step = s_hi > s_lo;
${adj.initKbar}
    for (var sv = s_lo; sv < s_hi; sv += 1u) {
      let theta = ${timeUntil(T, 'save_t[2u * sv]', 'save_t[2u * sv + 1u]', 'tn.x', 'tn.y')} / hs;
      let ob = 2u * cfg.n_save + (i * cfg.n_save + sv) * N;
      var bar: array<f32, ${N}>;
${range(N).map((k) => `      bar[${k}] = save_t[ob + ${k}u];`).join('\n')}
${adj.saveKbar}
    }
    s_hi = s_lo;
${'reverseLooped' in adj && stageLoop
    ? adj.reverseLooped(vjp, 'tn.x', stageLoop, 'saves_in_step')
    : adj.reverse(vjp, 'tn.x', tab.kind === 'explicit' ? 'saves_in_step' : undefined)}
${rosenbrock ? `    // J and ∂f/∂t at (t_n, y_n): their second derivatives close the chain.
    {
      let g = jac_contract(tn.x, y, p, Jb);
      let gt = dfdt_contract(tn.x, y, p, wdT);
${range(N).map((k) => `      ybar[${k}] += g[${k}] + gt[${k}];`).join('\n')}
${range(P0).map((q) => `      pbar[${q}] += g[${N + q}] + gt[${N + q}];`).join('\n')}
    }` : ''}
  }
${range(N).map((k) => `  work[${k}u * cfg.batch + i] = ybar[${k}];`).join('\n')}
${range(P).map((q) => `  work[${N + q}u * cfg.batch + i] = pbar[${q}];`).join('\n')}
${spec ? `  for (var k = 0u; k < ${weightLayout(layerSizes(spec)).total}u; k += 1u) { wbar[k * cfg.batch + i] += th[k]; }` : ''}
  adj[ab] = c;
  adj[ab + 4u] = n_seg;
  if (c > 0u) { atomicAdd(&n_running, 1u); }
}
`);
}
