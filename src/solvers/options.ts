/** Solver options: defaults, validation, and what the f32 GPU path can honour. No Node built-ins (browser-safe). */
import { TableauError, isAdaptive, resolveMethod, type Method, type MethodName } from '../methods/tableaus.js';
import { ProblemError, type ResolvedOptions, type SolveOptions } from './problem.js';

/** Fills in defaults and checks the method and `o`; a ProblemError says what is wrong. */
export function resolveOptions(methodIn: MethodName | Method | undefined, o: SolveOptions): ResolvedOptions {
  let method: Method;
  try {
    method = resolveMethod(methodIn ?? 'dopri5');
  } catch (err) {
    if (err instanceof TableauError) throw new ProblemError(err.message);
    throw err;
  }
  const rtol = o.rtol ?? 1e-6, atol = o.atol ?? 1e-8, maxSteps = o.maxSteps ?? 100_000;
  if (!(rtol > 0) || !(atol > 0)) throw new ProblemError(`rtol and atol must be positive (got ${rtol}, ${atol})`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new ProblemError(`maxSteps must be a positive integer (got ${maxSteps})`);
  const steps = o.steps ? Float64Array.from(o.steps) : undefined;
  if (steps && !steps.every((h) => h > 0 && Number.isFinite(h))) throw new ProblemError('steps must be positive finite step sizes');
  const fixedStep = !isAdaptive(method) || o.adaptive === false || steps !== undefined;
  if (fixedStep && o.dt === undefined && !steps) throw new ProblemError(`${method.name} with fixed steps needs dt (--dt)`);
  const dt = o.dt ?? steps?.[0] ?? 0;
  if (o.dt !== undefined && !(dt > 0 && Number.isFinite(dt))) throw new ProblemError(`dt must be a positive number (got ${o.dt})`);
  if (o.bakeWeights !== undefined && typeof o.bakeWeights !== 'boolean') throw new ProblemError(`bakeWeights must be true or false (got ${String(o.bakeWeights)})`);
  return { method, rtol, atol, dt, maxSteps, fixedStep, steps, ...(o.bakeWeights !== undefined ? { bakeWeights: o.bakeWeights } : {}) };
}

/**
 * The finest rtol the GPU (f32) path accepts: 1e-6 ≈ 8 f32 ulps (ε = 1.19e-7). Below it the error
 * estimate is rounding noise, steps are rejected until max_steps, and the failure looks like
 * stiffness. The CPU (f64) path takes any rtol.
 */
export const F32_MIN_RTOL = 1e-6;

/** Why the f32 GPU path cannot honour these options, or undefined when it can. */
export function f32ToleranceProblem(opts: ResolvedOptions): string | undefined {
  if (opts.fixedStep || opts.rtol >= F32_MIN_RTOL) return undefined;
  return `rtol ${opts.rtol} is finer than the GPU's f32 arithmetic resolves (rtol ≥ ${F32_MIN_RTOL.toExponential(0)}, about 8 f32 ulps)`;
}
