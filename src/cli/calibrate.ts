/**
 * `ctwin calibrate` (DESIGN.md): one twin per patient from imaging data, with a progress bar,
 * round checkpoints in the output folder, `--resume`, and nothing half-written on Ctrl-C.
 *
 * Checkpoint: DIR/checkpoint.json = { key, stages: { with, without } }, rewritten atomically after
 * every round; `key` is the sha256 of everything the result depends on (model, data, options,
 * seed), so `--resume` never continues another run's optimisation. Each round restarts L-BFGS
 * from the saved point (src/twin/calibrate.ts), which is why a resumed run gives the same bytes as
 * an uninterrupted one. The checkpoint is removed once the twins are written.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, writeFileAtomic } from '../io/csv.js';
import { readTable } from '../io/table.js';
import { frapCurves } from '../io/frap.js';
import { readDesign } from '../io/design.js';
import { readCovariates } from '../io/long.js';
import { loadModelFile } from '../io/model-file.js';
import { loadDrugLibrary } from '../twin/drugs.js';
import type { CalibrationCheckpoint } from '../twin/calibrate.js';
import { startEngine } from '../engine/client.js';
import type { CalibrateHooks, CalibrateJobOptions } from '../engine/engine.js';
import { interruptible, progressBar } from './progress.js';
import { calibrationSection, withoutStarts, sha256, sha256File, writeTwins } from '../twin/twin.js';
import { UsageError, integerFlag, numberFlag, type Flags } from './args.js';
import { mergeRecords, readAll, readOptions } from './data.js';

export const CALIBRATE_FLAGS = {
  model: { type: 'string' }, data: { type: 'string' }, design: { type: 'string' }, covariates: { type: 'string' },
  observe: { type: 'string' }, drugs: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
  starts: { type: 'string' }, holdout: { type: 'string' }, backend: { type: 'string' }, resume: { type: 'boolean' },
  quiet: { type: 'boolean' }, json: { type: 'boolean' }, estimate: { type: 'string' }, rounds: { type: 'string' }, iterations: { type: 'string' },
  'frame-interval': { type: 'string' },
} as const;

interface Checkpoint { key: string; stages: Record<string, CalibrationCheckpoint> }

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) { throw new InputError(`${path}: cannot read the ${what} (${(err as Error).message})`); }
  try { return JSON.parse(text); } catch (err) { throw new InputError(`${path}: the ${what} is not JSON (${(err as Error).message})`); }
}

/** `--observe map.json`: column → model observable. */
function readObserve(path: string): Record<string, string> {
  const m = readJsonFile(path, '--observe map');
  if (!m || typeof m !== 'object' || Array.isArray(m) || !Object.values(m).every((v) => typeof v === 'string')) {
    throw new InputError(`${path}: --observe must be a JSON object of column → observable, e.g. {"MEAN_INTENSITY_CH1": "condensate_intensity"}`);
  }
  return m as Record<string, string>;
}

export async function calibrateCommand(files: string[], flags: Flags<typeof CALIBRATE_FLAGS>, log: (line: string) => void): Promise<number> {
  if (!flags.model) throw new UsageError('--model is required (a model JSON file, e.g. examples/condensate.json)');
  if (!flags.data) throw new UsageError('--data is required (TrackMate spots CSVs, FRAP tables or long CSVs)');
  if (!flags.out) throw new UsageError('--out is required (the folder for the twins)');
  const seed = integerFlag(flags, 'seed') ?? 1, starts = integerFlag(flags, 'starts') ?? 8, holdout = numberFlag(flags, 'holdout') ?? 0.2;
  const rounds = integerFlag(flags, 'rounds') ?? 4, iterations = integerFlag(flags, 'iterations') ?? 10;
  if (!(starts >= 1)) throw new UsageError(`--starts ${flags.starts}: must be ≥ 1`);
  if (!(holdout >= 0 && holdout < 1)) throw new UsageError(`--holdout ${flags.holdout}: must be a fraction in [0, 1)`);
  if (!(rounds >= 1) || !(iterations >= 1)) throw new UsageError('--rounds and --iterations must be ≥ 1');
  const backend = flags.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'gpu') throw new UsageError(`--backend ${backend}: choose auto, cpu or gpu`);
  if (existsSync(flags.out) && !statSync(flags.out).isDirectory()) throw new UsageError(`--out ${flags.out}: exists and is not a folder`);

  // Inputs: everything is read and checked before anything is fitted or written.
  const { spec } = loadModelFile(flags.model); // file:line:col errors for a bad model
  const section = calibrationSection(spec, flags.model);
  const dataFiles = [flags.data, ...files];
  const data = await readAll(dataFiles, readOptions(flags));
  const records = mergeRecords(data), frap = frapCurves(data);
  const drugs = loadDrugLibrary(flags.drugs);
  const design = flags.design ? readDesign(await readTable(flags.design), drugs) : undefined;
  const covariates = flags.covariates ? readCovariates(await readTable(flags.covariates)) : undefined;
  const observe = flags.observe ? readObserve(flags.observe) : undefined;
  const estimate = flags.estimate ? flags.estimate.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const inputs = [flags.model, ...dataFiles, flags.design, flags.covariates, flags.observe, flags.drugs].filter((f): f is string => !!f);
  const hashes = inputs.map((file) => ({ file, sha256: sha256File(file) }));

  const options: CalibrateJobOptions = {
    spec, observe, design, covariates, drugs, frap, estimate, seed, starts, holdout, rounds, iterationsPerRound: iterations,
    backend: backend as 'auto' | 'cpu' | 'gpu', dataFiles: hashes.slice(1),
  };
  mkdirSync(flags.out, { recursive: true });
  const ckPath = join(flags.out, 'checkpoint.json');
  const key = sha256(JSON.stringify({ hashes, seed, starts, holdout, rounds, iterations, backend, estimate, observe }));
  let ck: Checkpoint = { key, stages: {} };
  if (flags.resume && existsSync(ckPath)) {
    const saved = readJsonFile(ckPath, 'checkpoint') as Checkpoint;
    if (saved.key !== key) throw new InputError(`${ckPath}: made by a run with other inputs or options; rerun without --resume to start again (the checkpoint is then replaced)`);
    ck = saved;
  }
  const stages = section.without_condensates ? ['with', 'without'] : ['with'];
  const done = (stage: string) => { const c = ck.stages[stage]; return c ? c.round + 1 : 0; };
  const quiet = flags.quiet || flags.json;
  if (flags.resume && !quiet) log(Object.keys(ck.stages).length ? `resuming from ${ckPath}: ${stages.map((s) => `${s} condensates ${done(s)}/${rounds} rounds`).join(', ')}` : `--resume: no checkpoint in ${flags.out}; starting from the beginning`);
  options.resumeFrom = ck.stages;

  // Progress: iterations of every stage's rounds; a bar on a terminal, stage lines otherwise.
  const total = stages.length * rounds * iterations;
  const bar = progressBar(quiet, '{stage} |{bar}| {value}/{total} iterations | loss {loss} | ETA {eta_formatted}');
  let stage = 'with', base = done('with');
  bar?.start(total, base * iterations, { stage: 'with condensates', loss: '—' });
  const hooks: CalibrateHooks = {
    stage: (s) => {
      if (s === 'uncertainty') { bar?.update({ stage: 'uncertainty (Laplace)' }); return; }
      stage = s;
      base = (s === 'with' ? 0 : rounds) + done(s);
      bar?.update(base * iterations, { stage: `${s} condensates` });
      if (!bar && !quiet) log(`calibrating ${s === 'with' ? 'the model' : 'the model without condensates'} (${rounds} rounds × ${iterations} iterations, ${s === 'with' ? starts : `${withoutStarts(starts)} (1 warm)`} starts)`);
    },
    progress: ({ round, iteration, loss }) => {
      const offset = (stage === 'with' ? 0 : rounds) + round;
      bar?.update(offset * iterations + iteration + 1, { loss: loss.toPrecision(6) });
    },
    // The checkpoint is written here, on the main thread, whole (rename): Ctrl-C never tears it.
    checkpoint: (s, c) => { ck.stages[s] = c; writeFileAtomic(ckPath, (w) => w(JSON.stringify(ck) + '\n')); },
  };
  const engine = startEngine();
  try {
    const out = await interruptible(
      () => engine.api.calibrate(records, options, hooks),
      () => `interrupted: no twin written; ${existsSync(ckPath) ? `the last checkpoint is ${ckPath}, continue with the same command and --resume` : 'no round had finished, nothing to resume'}`,
      () => bar?.stop(),
    );
    bar?.update(total);
    bar?.stop();
    writeTwins(flags.out, out);
    rmSync(ckPath, { force: true });
    if (flags.json) process.stdout.write(JSON.stringify({ out: flags.out, twins: out.twins.map((t) => join(flags.out!, `${t.patient}.twin.json`)), summary: out.summary }, null, 2) + '\n');
    else if (!flags.quiet) {
      log(`wrote ${out.twins.length} twins, cohort.json and summary.csv to ${flags.out}`);
      for (const s of out.summary) log(`  ${s.patient}: R² fitted ${s.r2_fit.toFixed(3)}, held-out ${Number.isFinite(s.r2_heldout) ? s.r2_heldout.toFixed(3) : '—'}, condensates needed: ${s.condensate_needed ?? 'not assessed'}, ${s.status}`);
    }
    return 0;
  } finally {
    bar?.stop();
    await engine.close();
  }
}
