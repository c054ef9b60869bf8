#!/usr/bin/env node
/**
 * `ctwin` — the command-line face of condensate-twin.
 * Exit codes: 0 success; 1 internal failure; 2 bad input (the message names file, line and
 * column); 3 the run finished but some trajectories did not reach t1 (`ctwin simulate`, unless
 * --allow-failures; the outputs are written).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ModelError } from '../physics/model.js';
import { ProblemError } from '../solvers/problem.js';
import { InputError } from '../io/csv.js';
import { GpuDeviceLostError, GpuUnavailableError } from '../gpu/runtime.js';
import { UsageError } from './args.js';
import { EXPLICIT_METHODS, METHOD_NAMES } from '../methods/tableaus.js';
import { SIMULATE_FLAGS, simulateCommand } from './simulate.js';
import { doctorCommand } from './doctor.js';
import { GRADIENT_FLAGS, gradientCommand } from './gradient.js';
import { runFiltered } from './dawn-filter.js';
import { CONVERT_FLAGS, INSPECT_FLAGS, convertCommand, inspectCommand } from './data.js';
import { CALIBRATE_FLAGS, calibrateCommand } from './calibrate.js';
import { SYNERGY_FLAGS, synergyCommand } from './synergy.js';
import { COMBO_FLAGS, comboCommand } from './combo.js';
import { REPORT_FLAGS, reportCommand } from './report.js';

const COMMAND_USAGE: Record<string, string> = {
  doctor: `ctwin doctor [--verbose]
  Which WebGPU adapter and backend the engine uses (or why it falls back to the CPU), limits, versions.
  --verbose also shows the driver's own warnings (hidden from every other command).`,
  simulate: `ctwin simulate --model M.json --t1 T --out traj.csv [--params P.csv | --batch N] [--t0 0]
               [--saveat 0:10:600 | --saveat 1,2.5,7] [--method ${METHOD_NAMES.join('|')}]
               [--rtol 1e-6] [--atol 1e-8] [--dt DT] [--max-steps 100000]
               [--backend auto|gpu|cpu] [--status-out status.csv] [--allow-failures] [--quiet]
  Integrates every row of P.csv (or N copies of the model's defaults) and writes traj.csv
  (traj,t,<states>) and status.csv (traj,status,steps,rejected). Exits 3 when a trajectory did
  not reach t1 (the files are still written) unless --allow-failures.`,
  gradient: `ctwin gradient --model M.json --data D.csv [--params P.csv] [--sigma 1] [--noise normal|lognormal]
               [--t0 0] [--method …] [--rtol 1e-6] [--atol 1e-8] [--dt DT] [--max-steps N]
               [--backend auto|cpu|gpu]  (auto: the f64 CPU adjoint; gpu: f32, ${EXPLICIT_METHODS.join('/')})
  Prints JSON {"loss": L, "grad": [{"traj", "status", "params", "initial"}…]} for
  L = Σ ½((y_obs(t) − value)/σ)²; D.csv columns traj,t,observable,value.`,
  calibrate: `ctwin calibrate --model M.json --data FILE… --out DIR [--design design.csv] [--covariates cov.csv]
               [--observe map.json] [--drugs drugs.json] [--seed 1] [--starts 8] [--holdout 0.2]
               [--estimate p1,p2,…] [--rounds 4] [--iterations 10] [--frame-interval S]
               [--backend auto|cpu|gpu] [--resume] [--quiet]
  One twin per patient (the patient is a TrackMate file's name before its first "_"): fits the
  model's parameters (its "calibration" section, or --estimate) to every patient's fitted cells,
  with per-cell observation models, the design's drugs, covariate priors and --starts starts;
  --holdout of the cells are kept for validation. Writes DIR/<patient>.twin.json, cohort.json and
  summary.csv (patient,cells,heldout_cells,r2_fit,r2_heldout,nll,condensate_needed,status).
  A checkpoint (DIR/checkpoint.json) is saved after every round: after Ctrl-C or a crash, the same
  command with --resume continues and gives the same files. auto and cpu: f64 on the CPU; gpu:
  f32 search on the GPU, the last round in f64.`,
  synergy: `ctwin synergy --in responses.csv --out scores.csv [--methods hsa,bliss,loewe,zip] [--json scores.json]
               [--input-type inhibition|viability] [--loewe grid|exact] [--quiet]
  Scores every block of a dose–response table in SynergyFinder's layout
  (block_id,drug1,drug2,conc1,conc2,response[,conc_unit]; its column-name variants accepted) as
  SynergyFinder 3.x does: HSA, Bliss, Loewe and ZIP, score = observed − expected in % inhibition,
  summary = mean over the combination cells. Responses are % inhibition unless --input-type
  viability (SynergyFinder's own default is viability). Replicate wells are averaged. --loewe exact
  solves the isobole instead of SynergyFinder's 100-level grid. Writes scores.csv
  (block_id,drug1,drug2,method,score) and, with --json, each block's doses, responses, per-cell
  scores and references and the monotherapy fits.`,
  combo: `ctwin combo --twins DIR --out DIR2 (--pairs A+B,C+D,… | --all-pairs) [--triples] [--drugs drugs.json]
               [--doses 8] [--samples 32] [--readout output_auc,condensate,pol2] [--t1 86400] [--at T]
               [--dose-range drug=lo:hi,…] [--rank-by zip|bliss|loewe|hsa] [--methods hsa,bliss,loewe,zip]
               [--loewe grid|exact] [--seed 1] [--backend auto|cpu|gpu] [--method rodas4] [--rtol 1e-5] [--quiet]
  An in-silico combination screen on calibrated twins (DIR: the --out folder of ctwin calibrate):
  every twin × combination × dose grid (per drug 0 and --doses − 1 log-spaced over the library's
  range) × --samples draws from each twin's parameter uncertainty (plus the twin itself); each drug
  given once at t = 0 to the untreated steady state, simulated for --t1 seconds (default 24 h).
  Readouts: output_auc (∫ J dt, transcriptional output), condensate (φ at --at, default t1), pol2
  (engaged Pol II P at --at), auc:<name>, <name>@<seconds>; response = % inhibition against the
  same twin untreated. Scores: HSA, Bliss, Loewe, ZIP as SynergyFinder computes them (triples:
  HSA, Bliss), nominal and 95 % intervals over the samples; ranking per twin by --rank-by (default
  ZIP, Bliss with triples), saying which combinations cannot be told apart. Writes into DIR2:
  responses.csv (SynergyFinder layout), scores.csv, ranking.csv, samples.csv, combo.json.`,
  report: `ctwin report --twins DIR [--combo DIR2] --out report.html [--drugs drugs.json] [--quiet]
  One self-contained HTML file (no script, no network): each twin's fit against its data (held-out
  cells marked; the data files are found where ctwin calibrate read them, checked by sha256),
  parameter estimates with 95 % intervals, whether condensates are needed, and with --combo (the
  --out folder of ctwin combo) dose-response curves, synergy heat maps, trajectories under each
  patient's top combination and the ranking with its uncertainty.`,
  inspect: `ctwin inspect FILE… [--json] [--frame-interval S] [--prebleach N]
  What the readers make of each file before anything is fitted: kind (trackmate-spots,
  trackmate-tracks, frap, long), header rows, separator and decimal mark, spots, tracks, untracked
  spots left out, frames, time unit and frame interval, channels, missing values, FRAP mobile
  fraction and t½, and every warning. Files: TrackMate spots/tracks CSV, FRAP tables (easyFRAP,
  Zeiss ZEN, Leica LAS X), long CSV; text or .xlsx.`,
  convert: `ctwin convert FILE… --out long.csv [--frame-interval S] [--prebleach N]
  Any readable input to the long CSV patient,cell,t,observable,value[,condition] (t in seconds,
  cell = TrackMate TRACK_ID or the FRAP curve, observable = the source column's key), sorted by
  patient, cell, observable, t; untracked spots and empty cells left out.`,
};

const USAGE = `usage: ctwin <command> [flags]        ctwin <command> --help        ctwin --version

commands:
${Object.values(COMMAND_USAGE).map((u) => `  ${u.replace(/\n/g, '\n  ')}`).join('\n\n')}

exit codes: 0 ok, 1 internal error, 2 bad input, 3 some trajectories failed (simulate)
`;

const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

/** Parses the flags of one command; a mistake is a UsageError that shows the command's usage. */
function flagsOf<T extends Record<string, { type: 'string' | 'boolean' }>>(command: string, args: string[], options: T) {
  return flagsAndFiles(command, args, options, false).flags;
}

/** As flagsOf, for commands that also take file names (positionals). */
function flagsAndFiles<T extends Record<string, { type: 'string' | 'boolean' }>>(command: string, args: string[], options: T, allowPositionals = true) {
  try {
    const parsed = parseArgs({ args, options: { ...options, ...HELP_FLAG }, strict: true, allowPositionals });
    return { flags: parsed.values as { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean }, files: parsed.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\nusage: ${COMMAND_USAGE[command]}`);
  }
}

const version = () => (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string) => process.stderr.write(line + '\n');
  const out = (text: string) => process.stdout.write(text);
  switch (command) {
    case 'doctor': {
      const flags = flagsOf('doctor', rest, { verbose: { type: 'boolean' } });
      if (flags.help) { out(`usage: ${COMMAND_USAGE.doctor}\n`); return 0; }
      return doctorCommand((line) => out(line + '\n'));
    }
    case 'simulate': {
      const flags = flagsOf('simulate', rest, SIMULATE_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.simulate}\n`); return 0; }
      return simulateCommand(flags, log);
    }
    case 'gradient': {
      const flags = flagsOf('gradient', rest, GRADIENT_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.gradient}\n`); return 0; }
      await gradientCommand(flags, out, log);
      return 0;
    }
    case 'inspect': {
      const { flags, files } = flagsAndFiles('inspect', rest, INSPECT_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.inspect}\n`); return 0; }
      return inspectCommand(files, flags, out);
    }
    case 'calibrate': {
      const { flags, files } = flagsAndFiles('calibrate', rest, CALIBRATE_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.calibrate}\n`); return 0; }
      return calibrateCommand(files, flags, log);
    }
    case 'synergy': {
      const flags = flagsOf('synergy', rest, SYNERGY_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.synergy}\n`); return 0; }
      return synergyCommand(flags, log);
    }
    case 'combo': {
      const flags = flagsOf('combo', rest, COMBO_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.combo}\n`); return 0; }
      return comboCommand(flags, log);
    }
    case 'report': {
      const flags = flagsOf('report', rest, REPORT_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.report}\n`); return 0; }
      return reportCommand(flags, log);
    }
    case 'convert': {
      const { flags, files } = flagsAndFiles('convert', rest, CONVERT_FLAGS);
      if (flags.help) { out(`usage: ${COMMAND_USAGE.convert}\n`); return 0; }
      return convertCommand(files, flags, log);
    }
    case undefined: case '-h': case '--help': case 'help':
      out(USAGE);
      return 0;
    case '-v': case '--version': case 'version':
      out(`ctwin (condensate-twin) ${version()}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

/** True when this run may create a GPU device, whose driver warnings are then filtered out. */
function mayUseGpu(argv: string[]): boolean {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) return false;
  if (command === 'doctor') return !rest.includes('--verbose');
  if (command !== 'simulate' && command !== 'gradient' && command !== 'calibrate' && command !== 'combo') return false;
  const i = rest.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  const backend = i < 0 ? 'auto' : rest[i]!.includes('=') ? rest[i]!.split('=')[1] : rest[i + 1];
  // calibrate's auto is the f64 CPU path (as gradient's); simulate's auto may pick the GPU.
  return command === 'calibrate' ? backend === 'gpu' : backend !== 'cpu';
}

function run(argv: string[]): Promise<number> {
  if (!process.env.CTWIN_STDERR_FILTERED && mayUseGpu(argv)) return runFiltered(fileURLToPath(import.meta.url), argv);
  return main(argv);
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const bad = err instanceof UsageError || err instanceof ModelError || err instanceof ProblemError ||
      err instanceof InputError || err instanceof GpuUnavailableError;
    // A lost device is not a bug of ours: a clean message (exit 1), and --backend auto would have finished on the CPU.
    const clean = bad || err instanceof GpuDeviceLostError;
    process.stderr.write(`ctwin: ${clean ? (err as Error).message : (err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = bad ? 2 : 1;
  },
);
