/** condensate-twin public API. Everything else is internal. */
export { parseModel, loadModel, symbolicJacobian, rateAt, ModelError, type Model, type ModelSymbol, type Quantity, type NamedExpr, type ConservedLaw } from './physics/model.js';
export { initialWeights, layerSizes, weightLayout, referenceForward, referenceVjp, ACTIVATIONS, type NeuralSpec, type Activation } from './physics/neural.js';
export { parseUnit, inferUnit, UnitError } from './physics/units.js';
export { ExpressionError, print as printExpr, type Expr, type SymbolRef } from './physics/expr.js';
export { compileF64, compileExprF64, emitModelWgsl, defaultWeights, neuralWeightCount, type ModelF64 } from './shaders/compile.js';
export { mlpWgsl, mlpJs, compileMlpF64, type MlpF64 } from './shaders/neural.js';
export { releaseCpuWorkers } from './solvers/cpu/backend.js';
export { buildSolverKernel } from './shaders/kernel.js';
export { makeProblem, linspace, statusName, ProblemError, type EnsembleProblem, type ProblemInput, type Solution, type SolveOptions, type Backend } from './solvers/problem.js';
export { solve, resolveOptions } from './solvers/solve.js';
export { METHOD_NAMES, STATUS, STATUS_NAMES, RK4, DOPRI5, TSIT5, ROSENBROCK23, RODAS4, methodByName, type MethodName, type StatusName, type Method, type ExplicitTableau, type RosenbrockTableau } from './solvers/methods.js';
export { acquireGpu, releaseGpu, GpuUnavailableError, GpuError, type GpuInfo } from './gpu/runtime.js';
export { condensateModel, condensateModelSpec, CONDENSATE_PARAMS, type CondensateOptions } from './physics/condensate.js';
export { conservationResidual, quantityRate, withConservationTracking, type TrackingOptions, type TrackedLaw } from './physics/conservation.js';
export { trackConservation, type TrackedProblem, type LawReport } from './solvers/tracking.js';
