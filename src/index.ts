/**
 * condensate-twin: what a scientist scripts against. Models, problems and solving, methods,
 * conservation tracking, gradients and fitting, files. Code generation, the adjoints' backends
 * and other building blocks are in `condensate-twin/internals` (src/internals.ts).
 */
// Models
export { parseModel, ModelError, type Model, type ModelSymbol, type Quantity, type NamedExpr, type ConservedLaw } from './physics/model.js';
export { condensateModel, condensateModelSpec, CONDENSATE_PARAMS, type CondensateOptions } from './physics/condensate.js';
export { parseUnit, UnitError } from './physics/units.js';
export { initialWeights, type NeuralSpec, type Activation } from './physics/neural.js';
// Problems, solving, solutions
export { makeProblem, remake, linspace, statusName, ProblemError, type EnsembleProblem, type ProblemInput, type ProblemChanges, type SolveOptions, type Backend } from './solvers/problem.js';
export { Solution, type SolveStats, type TrajectoryView } from './solvers/solution.js';
export { solve, solveInChunks, F32_MIN_RTOL, type ChunkedSolveSummary } from './solvers/solve.js';
export { trackConservation, type TrackedProblem, type LawReport } from './solvers/tracking.js';
export { releaseCpuWorkers } from './solvers/cpu/backend.js';
// Methods
export { METHOD_NAMES, RK4, DOPRI5, TSIT5, ROSENBROCK23, RODAS4, methodByName, resolveMethod, capabilities, TableauError, type MethodName, type Method, type ExplicitTableau, type RosenbrockTableau, type Capabilities } from './methods/tableaus.js';
export { STATUS, STATUS_NAMES, type StatusName } from './methods/status.js';
// The GPU
export { acquireGpu, releaseGpu, GpuUnavailableError, GpuError, GpuDeviceLostError, type GpuInfo } from './gpu/runtime.js';
// Gradients and fitting
export { gradient } from './training/gradient.js';
export type { GradientOptions, GradientResult, AdjointStrategy } from './training/adjoint.js';
export type { Observations, ObservableModel, Datum, LossTerms, Prior, Noise } from './training/loss.js';
export { fit, fitCohort, trainWeights, type FitOptions, type FitResult, type FitStatus, type StartResult, type TrainOptions } from './training/optimize.js';
export { fisherInformation, type Identifiability } from './training/identifiability.js';
// Files
export { loadModel } from './io/model-file.js';
export { readData } from './io/data.js';
export { readParamsCsv } from './io/params.js';
export { writeTrajectories, writeStatus, openTrajectories, trajectoryFormat, type TrajectorySink, type TrajectoryChunk, type TrajectoryFormat, type SolveSummary } from './io/trajectories.js';
// Imaging data: TrackMate, FRAP (easyFRAP, Zeiss ZEN, Leica), long CSV, covariates; text or .xlsx
export { readImaging, detectKind } from './io/read.js';
export { readTable, type RawTable } from './io/table.js';
export { readCovariates, writeLong, type Covariates } from './io/long.js';
export { analyseFrap, frapCurves } from './io/frap.js';
export { InputError } from './io/csv.js';
export { readDesign, type Design } from './io/design.js';
// Drugs as data: PK schedules, PD Emax/Hill on named parameters
export { loadDrugLibrary, withDrugs, treatmentParams, type DrugLibrary, type Drug, type Treatment, type Schedule } from './twin/drugs.js';
// Calibration against imaging data: observation models, per-patient twins
export { fitObservation, fitFrap, type ObservationOptions, type CellObservation, type CellSeries, type FrapFit } from './twin/observation.js';
export { calibrate, DEFAULT_OBSERVE, type CalibrateOptions, type CalibrationResult, type PatientFit, type CalibrationCheckpoint } from './twin/calibrate.js';
export { calibrateTwins, writeTwins, readTwin, readTwins, applicabilityOf, TWIN_SCHEMA, type TwinFile, type CohortFile, type TwinOptions, type TwinsResult } from './twin/twin.js';
export type { DataKind, LongRecord, ReadSummary, ImagingData, ReadOptions, FrapSummary, FrapCurve } from './io/imaging.js';
// Synergy of drug combinations as SynergyFinder 3.x computes it (docs/synergy.md)
export { curveResponse, expectedDose, L4_ZERO_DOSE, type DoseResponseCurve } from './synergy/curves.js';
export { hsaScores, blissScores, loeweScores, zipScores, type DoseMatrix, type ScoreMatrix, type LoeweOptions, type ZipCurves } from './synergy/scores.js';
export { fitDoseResponse, type CurveFit, type CurveFitOptions } from './synergy/fit.js';
export { readResponses, responseBlocks, type ResponseBlock } from './synergy/responses.js';
export { scoreMatrix, SYNERGY_METHODS, type SynergyMethod, type SynergyOptions, type BlockScores } from './synergy/synergy.js';
// In-silico combination screens on twins, scored with intervals and ranked (docs/combo.md)
export { runCombo, sampleTwinParams, parseReadouts, doseLevels, gridCells, NAMED_READOUTS, type ComboOptions, type ComboResult, type ComboBlock, type ComboCheckpoint, type Readout } from './twin/combo.js';
export { scoreScreen, rankCombinations, callOf, multiDrugScores, intervalOf, indistinguishable, PAIR_METHODS, TRIPLE_METHODS, type ScreenBlock, type BlockSummary, type RankRow, type Interval } from './synergy/screen.js';
export { comboFiles, writeComboFiles, COMBO_SCHEMA, type ComboRecordOptions } from './twin/combo-files.js';
// The HTML report (docs/combo.md, "Report")
export { buildReport, escapeHtml, type ReportOptions } from './report/report.js';

// The engine in a worker thread (Node) or Web Worker (browser), through comlink
export { engineApi, type EngineApi, type CalibrateJobOptions, type CalibrateHooks, type ComboJobOptions, type ComboHooks, type ComboJobResult, type SimulateJob, type SimulateJobResult } from './engine/engine.js';
export { startEngine, type EngineHandle } from './engine/client.js';

// SBML models and PEtab problems
export { importSbml, type SbmlImport } from './io/sbml/sbml.js';
export { readPetab, lintPetab, type PetabProblem, type PetabIssue, type PetabParameter, type PetabObservable, type PetabMeasurement } from './io/petab/petab.js';
export { petabLikelihood, type PetabOptions, type PetabEvaluation } from './training/petab.js';
export { petabObjective, type PetabObjective, type PetabObjectiveOptions } from './training/petab-objective.js';
export { petabFit, type PetabFitOptions, type PetabFitResult, type PetabStart } from './training/petab-fit.js';
