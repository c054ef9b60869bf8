/**
 * The engine's long jobs — calibrating twins, screening combinations, simulating — as one object of
 * functions that take and return plain data (structured-cloneable), so the same object runs on the
 * calling thread, in a Node worker thread (`./node-worker.ts`) or in a browser Web Worker
 * (`./browser-worker.ts`), wrapped by comlink. Callbacks (progress, checkpoints) come in one
 * `hooks` object, which comlink passes as a proxy: the main thread draws the bars and writes the
 * checkpoints, so it can stop the job at any moment (Ctrl-C) without a file half-written.
 *
 * Why a worker (issue 13): calibration and scoring run long stretches of synchronous JavaScript;
 * on the main thread they would hold Ctrl-C and the progress bar until they returned.
 */
import { calibrateTwins, type TwinOptions, type TwinsResult } from '../twin/twin.js';
import type { CalibrationCheckpoint } from '../twin/calibrate.js';
import type { LongRecord } from '../io/imaging.js';
import { runCombo, type ComboCheckpoint, type ComboOptions, type ComboResult } from '../twin/combo.js';
import type { TwinFile } from '../twin/twin.js';
import { comboFiles, type ComboRecordOptions } from '../twin/combo-files.js';
import { rankCombinations, scoreScreen, type RankRow } from '../synergy/screen.js';
import { parseModel } from '../physics/model.js';
import { makeProblem, type ProblemInput, type SolveOptions } from '../solvers/problem.js';
import { solve } from '../solvers/solve.js';
import type { MethodName } from '../methods/tableaus.js';
import { STATUS_NAMES } from '../methods/status.js';

/**
 * A hook called across threads returns a promise; a failure there (the main thread gone, a hook it
 * did not give) must not become an unhandled rejection that kills the job.
 */
function call<A extends unknown[]>(f: ((...args: A) => unknown) | undefined, ...args: A): void {
  if (!f) return;
  try { void Promise.resolve(f(...args)).catch(() => {}); } catch { /* the caller's hook threw: progress is best effort */ }
}

export interface CalibrateJobOptions extends Omit<TwinOptions, 'checkpoint' | 'onStage' | 'onProgress'> {
  /** Checkpoints saved by an earlier, interrupted run of the same job, per stage ('with', 'without'). */
  resumeFrom?: Record<string, CalibrationCheckpoint>;
}
export interface CalibrateHooks {
  stage?(stage: 'with' | 'without' | 'uncertainty'): void;
  progress?(p: { round: number; iteration: number; loss: number }): void;
  /** Called after every round with that stage's checkpoint; the caller stores it (atomically). */
  checkpoint?(stage: string, c: CalibrationCheckpoint): void;
}

export interface ComboJobOptions extends Omit<ComboOptions, 'onProgress' | 'checkpoint'>, Omit<ComboRecordOptions, 'combinations'> {
  /** Checkpoints saved by an earlier, interrupted run of the same screen, per twin group. */
  resumeFrom?: Record<number, ComboCheckpoint>;
}
export interface ComboHooks {
  progress?(stage: 'simulate' | 'score', done: number, total: number): void;
  /** Called after every chunk of trajectories; the caller stores it (atomically). */
  checkpoint?(group: number, c: ComboCheckpoint): void;
}
export interface ComboJobResult {
  /** The screen's files (`comboFiles`), keyed by name, ready to be written. */
  files: Record<string, string>;
  ranking: RankRow[];
  patients: string[];
  readouts: ComboResult['readouts'];
  trajectories: number;
  blocks: number;
  timing: ComboResult['timing'] & { scoreMs: number };
}

export interface SimulateJob {
  /** Model spec (JSON form). */
  spec: Record<string, unknown>;
  problem: Omit<ProblemInput, 'weights'> & { weights?: ArrayLike<number> };
  method?: MethodName;
  options?: Omit<SolveOptions, 'onProgress'>;
}
export interface SimulateJobResult {
  states: string[];
  saveat: number[];
  /** batch × saves × states, row-major. */
  y: Float64Array;
  /** Status names per trajectory (`success`, `max_steps`, …). */
  status: string[];
  tEnd: Float64Array;
  backend: string;
}

export const engineApi = {
  /**
   * `calibrateTwins` with its callbacks in `hooks`.
   * @example
   * const { records } = await readImaging('examples/cohort/P01_spots.csv');
   * const out = await engineApi.calibrate(records, { spec: condensateModelSpec(), starts: 2 }, { progress: (p) => console.log(p.loss) });
   * out.summary[0]?.r2_heldout;
   */
  async calibrate(records: LongRecord[], options: CalibrateJobOptions, hooks: CalibrateHooks = {}): Promise<TwinsResult> {
    const { resumeFrom = {}, ...rest } = options;
    return calibrateTwins(records, {
      ...rest,
      onStage: (s) => call(hooks.stage, s),
      onProgress: (p) => call(hooks.progress, p),
      checkpoint: { load: (stage) => resumeFrom[stage], save: (stage, c) => call(hooks.checkpoint, stage, c) },
    });
  },

  /**
   * `runCombo`, then `scoreScreen`, `rankCombinations` and `comboFiles`: a whole `ctwin combo`
   * without the file writes.
   * @example
   * const { twins } = readTwins('twins/');
   * const job = await engineApi.combo(twins, { combinations: [['jq1', 'thz1']], samples: 4, rankBy: 'ZIP', methods: ['ZIP'], loewe: 'grid' });
   * job.ranking[0]?.combination; job.files['scores.csv'];
   */
  async combo(twins: TwinFile[], options: ComboJobOptions, hooks: ComboHooks = {}): Promise<ComboJobResult> {
    const { resumeFrom = {}, rankBy, methods, loewe, twinsDir, drugsFile, ...comboOptions } = options;
    const screen = await runCombo(twins, {
      ...comboOptions,
      onProgress: (done, total) => call(hooks.progress, 'simulate', done, total),
      checkpoint: { load: (g) => resumeFrom[g], save: (g, c) => call(hooks.checkpoint, g, c) },
    });
    const scoreStart = performance.now();
    const summaries = scoreScreen(screen.blocks, { methods, loewe: { solve: loewe }, onProgress: (done, total) => call(hooks.progress, 'score', done, total) });
    const ranking = rankCombinations(summaries, rankBy);
    const scoreMs = performance.now() - scoreStart;
    const files = comboFiles(screen, summaries, ranking, { ...comboOptions, rankBy, methods, loewe, twinsDir, drugsFile }, twins);
    return { files, ranking, patients: screen.patients, readouts: screen.readouts, trajectories: screen.trajectories, blocks: screen.blocks.length, timing: { ...screen.timing, scoreMs } };
  },

  /**
   * One batched solve from a model spec, as plain arrays.
   * @example
   * const out = await engineApi.simulate({ spec: { name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } }, problem: { t1: 2, batch: 8 } });
   * out.y[out.y.length - 1]; // x(2) of the last trajectory ≈ e^-1
   */
  async simulate(job: SimulateJob): Promise<SimulateJobResult> {
    const model = parseModel(job.spec);
    const { weights, ...problem } = job.problem;
    const sol = await solve(makeProblem(model, { ...problem, weights: weights ? Float64Array.from(weights) : undefined }), job.method ?? 'tsit5', job.options);
    return {
      states: model.states.map((s) => s.name), saveat: Array.from(sol.t), y: Float64Array.from(sol.y),
      status: Array.from(sol.status, (code) => STATUS_NAMES[code] ?? String(code)), tEnd: Float64Array.from(sol.tEnd), backend: sol.backend,
    };
  },
};
export type EngineApi = typeof engineApi;
