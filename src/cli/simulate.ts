/** `ctwin simulate` — DESIGN.md contract: flags, params.csv, traj.csv, status.csv. */
import { loadModel } from '../io/model-file.js';
import { readParamsCsv } from '../io/params.js';
import { openTrajectories, writeStatus, type SolveSummary, type TrajectorySink } from '../io/trajectories.js';
import { makeProblem, statusName, type Backend } from '../solvers/problem.js';
import { solveInChunks, type ChunkedSolveSummary } from '../solvers/solve.js';
import { METHOD_NAMES, type MethodName } from '../methods/tableaus.js';
import { STATUS } from '../methods/status.js';
import { UsageError, checkOutputPath, numberFlag, integerFlag, type Flags } from './args.js';
import { showsProgress } from './progress.js';

export const SIMULATE_FLAGS = {
  model: { type: 'string' }, params: { type: 'string' }, batch: { type: 'string' }, t0: { type: 'string' },
  t1: { type: 'string' }, saveat: { type: 'string' }, method: { type: 'string' }, rtol: { type: 'string' },
  atol: { type: 'string' }, dt: { type: 'string' }, 'max-steps': { type: 'string' }, backend: { type: 'string' },
  out: { type: 'string' }, 'status-out': { type: 'string' }, quiet: { type: 'boolean' }, 'allow-failures': { type: 'boolean' }, json: { type: 'boolean' },
  chunk: { type: 'string' },
} as const;

/** Default trajectories per chunk: about 2²² saved numbers (32 MiB as f64) per chunk (bench/simulate-output.mjs). */
export const defaultChunk = (saves: number, states: number) => Math.max(1, Math.floor(2 ** 22 / Math.max(1, saves * states)));

/** Exit code of a run that finished with trajectories that did not reach t1 (EXIT_CODES in usage.ts documents it). */
export const EXIT_TRAJECTORIES_FAILED = 3;

/** `0:10:600` (start:step:stop, inclusive) or `1,2.5,7`. */
export function parseSaveat(text: string): number[] {
  const bad = (why: string) => new UsageError(`--saveat ${text}: ${why} (use start:step:stop like 0:10:600, or a list like 1,2.5,7)`);
  if (text.includes(':')) {
    const parts = text.split(':').map(Number);
    if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) throw bad('expected three numbers');
    const [a, step, b] = parts as [number, number, number];
    if (!(step > 0)) throw bad('the step must be positive');
    if (b < a) throw bad('stop is before start');
    const n = Math.floor((b - a) / step + 1e-9) + 1;
    if (n > 1e6) throw bad(`${n} save times is too many`);
    return Array.from({ length: n }, (_, i) => a + i * step);
  }
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((x) => !Number.isFinite(x))) throw bad('not a list of numbers');
  return list;
}

export async function simulateCommand(flags: Flags<typeof SIMULATE_FLAGS>, log: (line: string) => void): Promise<number> {
  if (!flags.model) throw new UsageError('--model is required (a model JSON file)');
  if (!flags.out) throw new UsageError('--out is required (the trajectory CSV to write)');
  if (flags.t1 === undefined) throw new UsageError('--t1 is required (the end time)');
  checkOutputPath('out', flags.out);
  if (flags['status-out']) checkOutputPath('status-out', flags['status-out']);
  const method = (flags.method ?? 'dopri5') as MethodName;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--method ${method}: unknown (choose ${METHOD_NAMES.join(', ')})`);
  const backend = (flags.backend ?? 'auto') as Backend;
  if (!['auto', 'gpu', 'cpu'].includes(backend)) throw new UsageError(`--backend ${backend}: choose auto, gpu or cpu`);
  const t0 = numberFlag(flags, 't0') ?? 0;
  const t1 = numberFlag(flags, 't1')!;
  const model = loadModel(flags.model);

  let params: Float64Array | undefined, initial: Float64Array | undefined;
  let batch = integerFlag(flags, 'batch');
  if (batch !== undefined && batch < 1) throw new UsageError(`--batch ${batch}: must be at least 1`);
  if (flags.params) {
    const p = readParamsCsv(flags.params, model);
    if (batch !== undefined && batch !== p.batch) {
      throw new UsageError(`--batch ${batch} disagrees with ${flags.params}, which has ${p.batch} rows; drop --batch`);
    }
    ({ params, initial, batch } = p);
  }
  const problem = makeProblem(model, {
    t0, t1, batch: batch ?? 1, params, initial,
    saveat: flags.saveat !== undefined ? parseSaveat(flags.saveat) : undefined,
  });
  const chunk = integerFlag(flags, 'chunk') ?? defaultChunk(problem.saveat.length, model.states.length);
  if (!(chunk >= 1)) throw new UsageError(`--chunk ${flags.chunk}: must be at least 1 (trajectories per chunk)`);
  const showProgress = showsProgress(flags.quiet || flags.json);
  // Chunks are written as they come off the solver; the file is opened once the first chunk says
  // which backend (f32 or f64) the run is on, and appears under its name only when complete.
  let sink: TrajectorySink | undefined;
  let sol: ChunkedSolveSummary;
  try {
    sol = await solveInChunks(problem, method, {
      backend, rtol: numberFlag(flags, 'rtol'), atol: numberFlag(flags, 'atol'), dt: numberFlag(flags, 'dt'),
      maxSteps: integerFlag(flags, 'max-steps'),
      onProgress: showProgress ? (done, total) => process.stderr.write(`\rsimulating: ${done}/${total} trajectories`) : undefined,
    }, chunk, async (part, start) => {
      sink ??= openTrajectories(flags.out!, model, problem.saveat, part.backend === 'gpu' ? 'f32' : 'f64');
      await sink.write({ start, count: part.batch, y: part.y });
    });
    await sink!.close();
  } catch (err) {
    sink?.abort();
    throw err;
  }
  if (showProgress) process.stderr.write('\n');
  if (sol.notice) log(`notice: ${sol.notice}`);
  if (flags['status-out']) writeStatus(flags['status-out'], sol);

  const report = failureReport(sol, problem.t1);
  if (flags.json) {
    const byStatus: Record<string, number> = {};
    sol.status.forEach((code) => { const n = statusName(code); byStatus[n] = (byStatus[n] ?? 0) + 1; });
    process.stdout.write(JSON.stringify({
      model: model.name, trajectories: problem.batch, saves: problem.saveat.length, method, backend: sol.backend, seconds: sol.timing.totalMs / 1000,
      solve_seconds: sol.timing.solveMs / 1000, chunks: sol.chunks, format: sink!.format,
      status: byStatus, out: flags.out, status_out: flags['status-out'] ?? null, notice: sol.notice ?? null, failures: report ?? [],
    }, null, 2) + '\n');
  } else if (!flags.quiet) {
    log(`${model.name}: ${problem.batch} trajectories × ${problem.saveat.length} save times, ${method} on ${sol.backend}` +
      ` in ${(sol.timing.totalMs / 1000).toFixed(2)} s (solving ${(sol.timing.solveMs / 1000).toFixed(2)} s${sol.chunks > 1 ? ` in ${sol.chunks} chunks` : ''}) → ${flags.out}`);
  }
  if (!report) return 0;
  const allowed = flags['allow-failures'] === true;
  for (const line of report) log(`${allowed ? 'warning' : 'error'}: ${line}`);
  if (allowed) return 0;
  log(`the outputs were written (a failed trajectory's rows after it stopped are NaN${flags['status-out'] ? `; statuses in ${flags['status-out']}` : ''}); ` +
    `pass --allow-failures to exit 0 anyway`);
  return EXIT_TRAJECTORIES_FAILED;
}

/**
 * One line per failure status: how many trajectories, which ones and the time each reached, and
 * what to try (STYLE.md §10). Undefined when every trajectory reached t1.
 */
export function failureReport(sol: SolveSummary, t1: number): string[] | undefined {
  const byStatus = new Map<string, number[]>();
  sol.status.forEach((s, b) => {
    if (s === STATUS.success) return;
    const name = statusName(s);
    if (!byStatus.has(name)) byStatus.set(name, []);
    byStatus.get(name)!.push(b);
  });
  if (byStatus.size === 0) return undefined;
  const B = sol.status.length;
  const fmtT = (t: number) => String(Number(t.toPrecision(4)));
  return [...byStatus].map(([name, trajs]) => {
    const shown = trajs.slice(0, 5).map((b) => `${b} at t = ${fmtT(sol.tEnd[b]!)}`).join(', ');
    const manyRejected = trajs.some((b) => sol.stats.rejected[b]! > 4 * sol.stats.steps[b]!);
    const hint = name === 'max_steps'
      ? (sol.backend === 'gpu' && manyRejected
        ? 'most attempts were rejected: on the GPU (f32) the tolerances may be finer than f32 resolves at this scale (rtol ≳ 1e-6; atol ≳ 1e-7 × the states\' size) — loosen --rtol/--atol, or use --backend cpu (f64)'
        : 'raise --max-steps, or use --method rodas4 if the system is stiff')
      : name === 'dt_underflow' ? 'the step size collapsed: the system may be stiff (try --method rodas4) or have a singularity there'
        : name === 'non_finite' ? 'NaN or Inf in the parameters, the initial values or the solution (a blow-up); check those rows of the parameters'
          : 'see the status file';
    return `${name} for ${trajs.length} of ${B} trajectories (did not reach t1 = ${fmtT(t1)}): ${shown}${trajs.length > 5 ? ', …' : ''}; ${hint}`;
  });
}
