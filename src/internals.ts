/**
 * condensate-twin/internals: the building blocks under the public API (src/index.ts) — code
 * generation for both targets, the backends of the adjoint, symbolic helpers, reference
 * implementations for tests. Not covered by the stability promise of the public API.
 */
export { symbolicJacobian, rateAt } from './physics/model.js';
export { layerSizes, weightLayout, referenceForward, referenceVjp, ACTIVATIONS } from './physics/neural.js';
export { inferUnit } from './physics/units.js';
export { ExpressionError, print as printExpr, type Expr, type SymbolRef } from './physics/expr.js';
export { conservationResidual, quantityRate, withConservationTracking, type TrackingOptions, type TrackedLaw } from './physics/conservation.js';
export { compileF64, compileExprF64, emitModelWgsl, defaultWeights, neuralWeightCount, type ModelF64 } from './codegen/compile.js';
export { mlpWgsl, mlpJs, compileMlpF64, type MlpF64 } from './codegen/neural.js';
export { buildSolverKernel, weightsConstant } from './codegen/kernel.js';
export { resolveOptions, f32ToleranceProblem } from './solvers/options.js';
export { gradientCpu } from './training/adjoint.js';
export { gradientGpu, gpuAdjointBytes } from './training/gpu-adjoint.js';
export { compileObservable, residualLoss, priorLoss } from './training/loss.js';
export { transformFor } from './training/optimize.js';
