/**
 * Every command's usage, in one place: `ctwin <command> --help` prints it, `ctwin --help` lists it,
 * and the README's CLI reference is generated from it (`node scripts/cli-reference.mjs`; a test
 * keeps the README equal to it). Exit codes likewise.
 */
import { METHOD_NAMES } from '../methods/tableaus.js';

export const COMMAND_USAGE: Record<string, string> = {
  demo: `ctwin demo [--out ctwin-demo] [--backend auto|cpu|gpu] [--starts 4] [--samples 32] [--resume] [--quiet] [--json]
  The three jobs on the bundled example cohort (examples/cohort: six patients' TrackMate tracks and
  FRAP curves, the drug design, covariates): calibrates one twin per patient (DIR/twins), screens
  every pair of the bundled drugs on every twin with uncertainty (DIR/screen), writes the HTML
  report (DIR/report.html) and prints where everything is; the report's path comes last. About
  1.5 minutes on 2 CPU cores. Ctrl-C keeps the running stage's checkpoint: add --resume.`,
  doctor: `ctwin doctor [--verbose] [--json]
  Which WebGPU adapter and backend the engine uses (or why it falls back to the CPU), limits, versions.
  --verbose also shows the driver's own warnings (hidden from every other command); --json prints
  the same as one JSON object on stdout.`,
  simulate: `ctwin simulate --model M.json --t1 T --out traj.csv|traj.parquet|traj.arrow [--params P.csv | --batch N] [--t0 0]
               [--saveat 0:10:600 | --saveat 1,2.5,7] [--method ${METHOD_NAMES.join('|')}]
               [--rtol 1e-6] [--atol 1e-8] [--dt DT] [--max-steps 100000] [--chunk N]
               [--backend auto|gpu|cpu] [--status-out status.csv] [--allow-failures] [--quiet] [--json]
  Integrates every row of P.csv (or N copies of the model's defaults) and writes the trajectories
  (traj,t,<states>: a row per trajectory and save time) and status.csv (traj,status,steps,rejected).
  The --out extension picks the format: .parquet (Parquet), .arrow/.feather/.ipc (Arrow IPC file,
  read by pandas, polars, R and DuckDB), anything else CSV; states are float32 from the GPU, float64
  from the CPU. Results are written in chunks of --chunk trajectories (default: ~32 MiB of states)
  while the next chunk integrates, so memory stays bounded; the file appears only when complete.
  Exits 3 when a trajectory did not reach t1 (the files are still written) unless --allow-failures.
  --json prints a summary (backend, time, trajectories per status, files) as JSON on stdout.`,
  gradient: `ctwin gradient --model M.json --data D.csv [--params P.csv] [--sigma 1] [--noise normal|lognormal]
               [--t0 0] [--method …] [--rtol 1e-6] [--atol 1e-8] [--dt DT] [--max-steps N]
               [--backend auto|cpu|gpu]  (auto: the f64 CPU adjoint; gpu: the f32 one)
  Prints JSON {"loss": L, "grad": [{"traj", "status", "params", "initial"}…]} for
  L = Σ ½((y_obs(t) − value)/σ)²; D.csv columns traj,t,observable,value.`,
  calibrate: `ctwin calibrate --model M.json --data FILE… --out DIR [--design design.csv] [--covariates cov.csv]
               [--observe map.json] [--drugs drugs.json] [--seed 1] [--starts 8] [--holdout 0.2]
               [--estimate p1,p2,…] [--rounds 4] [--iterations 10] [--frame-interval S]
               [--backend auto|cpu|gpu] [--resume] [--quiet] [--json]
  One twin per patient (the patient is a TrackMate file's name before its first "_"): fits the
  model's parameters (its "calibration" section, or --estimate) to every patient's fitted cells,
  with per-cell observation models, the design's drugs, covariate priors and --starts starts;
  --holdout of the cells are kept for validation. Writes DIR/<patient>.twin.json, cohort.json and
  summary.csv (patient,cells,heldout_cells,r2_fit,r2_heldout,nll,condensate_needed,status).
  --data may also be a PEtab YAML: its measurements, the problem one patient, each condition a
  cell. A checkpoint (DIR/checkpoint.json) is saved after every round: after Ctrl-C or a crash, the
  same command with --resume continues and gives the same files. auto and cpu: f64 on the CPU; gpu:
  f32 search on the GPU, the last round in f64. --json prints the twins' paths and the summary
  rows as JSON on stdout.`,
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
               [--loewe grid|exact] [--seed 1] [--backend auto|cpu|gpu] [--method rodas4] [--rtol 1e-5]
               [--chunk 16384] [--resume] [--quiet] [--json]
  An in-silico combination screen on calibrated twins (DIR: the --out folder of ctwin calibrate):
  every twin × combination × dose grid (per drug 0 and --doses − 1 log-spaced over the library's
  range) × --samples draws from each twin's parameter uncertainty (plus the twin itself); each drug
  given once at t = 0 to the untreated steady state, simulated for --t1 seconds (default 24 h).
  Readouts: output_auc (∫ J dt, transcriptional output), condensate (φ at --at, default t1), pol2
  (engaged Pol II P at --at), auc:<name>, <name>@<seconds>; response = % inhibition against the
  same twin untreated. Scores: HSA, Bliss, Loewe, ZIP as SynergyFinder computes them (triples:
  HSA, Bliss), nominal and 95 % intervals over the samples; ranking per twin by --rank-by (default
  ZIP, Bliss with triples), saying which combinations cannot be told apart. Writes into DIR2:
  responses.csv (SynergyFinder layout), scores.csv, ranking.csv, samples.csv, combo.json. A
  checkpoint (DIR2/checkpoint.json) is saved after every --chunk trajectories: after Ctrl-C or a
  crash, the same command with --resume continues and gives the same files. --json prints the
  files and each twin's top three as JSON on stdout.`,
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
  'import-sbml': `ctwin import-sbml model.xml --out model.json [--quiet] [--json]
  An SBML Level 2 or 3 core model as our model JSON: species become states (concentrations, or
  amounts with hasOnlySubstanceUnits), d[S]/dt = Σ stoichiometry·rate / compartment size;
  parameters, compartments and constant species become params; assignment rules and reactions
  named expressions; rate rules equations; initial assignments the "initial" section; function
  definitions are inlined. Events, algebraic rules, delays, fast reactions and required packages
  are refused with the element and its line. Ids the model language reserves (t, e, pi, null, …)
  are renamed with a trailing _ (the "sbml" section keeps the map). --json prints a summary.`,
  petab: `ctwin petab lint|llh|simulate|fit PROBLEM.yaml [--out simulation.tsv | DIR] [--backend cpu|gpu] [--json] [--quiet]
               fit: [--starts 20] [--seed 1] [--max-iterations 300]
  PEtab v1 problems with SBML models (the YAML names the model and the condition, measurement,
  observable and parameter tables). lint: every problem with file, row and column (exit 2 if
  any); llh: the log-likelihood at the nominal parameters as AMICI reports it (normal or Laplace
  noise, lin/log/log10 observables with the Jacobian term), --json prints {"llh", "chi2",
  "conditions", "measurements"} (and "log_prior", the parameters' priors, kept apart, when the
  table has objectivePriorType); --backend gpu integrates in f32 (rodas4, rtol 1e-6); simulate: the PEtab simulation table at the nominal parameters
  (--out). fit: multi-start L-BFGS (starts uniform within the bounds on each parameter's scale,
  seeded) with adjoint gradients, all starts × conditions in one batch per evaluation; writes into
  --out DIR fit.tsv (every start), parameters.tsv (the best estimates as nominal values) and
  waterfall.svg. Conditions override parameters, compartments and initial species;
  pre-equilibration runs to steady state; switches in time (piecewise in t) split the integration.`,
  convert: `ctwin convert FILE… --out long.csv [--frame-interval S] [--prebleach N]
  Any readable input to the long CSV patient,cell,t,observable,value[,condition] (t in seconds,
  cell = TrackMate TRACK_ID or the FRAP curve, observable = the source column's key), sorted by
  patient, cell, observable, t; untracked spots and empty cells left out.`,
};


/** Exit codes of every command. */
export const EXIT_CODES: Array<[number, string]> = [
  [0, 'success'],
  [1, 'internal error (a bug: the message has the stack; please report it)'],
  [2, 'bad input or usage: the message names the file, line and column where it applies, and what to do; nothing was written'],
  [3, '`simulate`: some trajectories did not reach t1 (the outputs are written; --allow-failures makes this 0)'],
  [130, 'interrupted (Ctrl-C): no output file written; `calibrate`, `combo` and `demo` keep their checkpoint for --resume'],
  [143, 'terminated (SIGTERM): as 130'],
];

export const USAGE = `usage: ctwin <command> [flags]        ctwin <command> --help        ctwin --version

commands:
${Object.values(COMMAND_USAGE).map((u) => `  ${u.replace(/\n/g, '\n  ')}`).join('\n\n')}

exit codes:
${EXIT_CODES.map(([code, what]) => `  ${String(code).padStart(3)}  ${what}`).join('\n')}
`;

/** What `ctwin <command> --help` prints. */
export const commandHelp = (command: string) => `usage: ${COMMAND_USAGE[command]}\n`;

/** The README's CLI reference (Markdown): each command's --help text, then the exit codes. */
export function cliReference(): string {
  const commands = Object.keys(COMMAND_USAGE).map((name) => `### \`ctwin ${name}\`\n\n\`\`\`\n${commandHelp(name)}\`\`\`\n`).join('\n');
  const codes = EXIT_CODES.map(([code, what]) => `| ${code} | ${what} |`).join('\n');
  return `${commands}\n### Exit codes\n\n| code | meaning |\n|---|---|\n${codes}\n`;
}
