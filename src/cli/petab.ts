/**
 * `ctwin petab lint|llh|simulate PROBLEM.yaml` (DESIGN.md): PEtab problems with SBML models.
 * lint lists every problem (file:row:column) and exits 2 when there is one; llh prints the
 * log-likelihood at the nominal parameters as AMICI reports it; simulate writes the PEtab
 * simulation table (the measurement table with `simulation` in place of `measurement`).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, writeFileAtomic } from '../io/csv.js';
import { lintPetab, readPetab } from '../io/petab/petab.js';
import { petabLikelihood } from '../training/petab.js';
import { petabFit } from '../training/petab-fit.js';
import { renderSvg, waterfallSpec } from '../report/charts.js';
import { UsageError, checkOutputPath, integerFlag, type Flags } from './args.js';
import { interruptible, progressBar } from './progress.js';

export const PETAB_FLAGS = {
  out: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, starts: { type: 'string' }, seed: { type: 'string' },
  'max-iterations': { type: 'string' }, backend: { type: 'string' },
} as const;
const SUBCOMMANDS = ['lint', 'llh', 'simulate', 'fit'];

export async function petabCommand(args: string[], flags: Flags<typeof PETAB_FLAGS>, log: (line: string) => void, out: (text: string) => void): Promise<number> {
  const [sub, yaml, ...extra] = args;
  if (!sub || !SUBCOMMANDS.includes(sub)) throw new UsageError(`ctwin petab ${sub ?? ''}: choose ${SUBCOMMANDS.join(', ')} (ctwin petab --help)`);
  if (!yaml || extra.length) throw new UsageError(`ctwin petab ${sub} takes one PEtab YAML file`);
  if (sub === 'lint') {
    const { problem, issues } = await lintPetab(yaml);
    if (flags.json) out(JSON.stringify({ ok: issues.length === 0, issues }, null, 2) + '\n');
    else {
      for (const i of issues) log(`${i.file}:${i.line}:${i.column}: ${i.message}`);
      if (!issues.length && !flags.quiet) log(`${yaml}: no problems (${problem!.measurements.length} measurements, ${problem!.conditions.size} conditions, ${problem!.observables.length} observables, ${problem!.parameters.length} parameters, model ${problem!.model.name})`);
    }
    return issues.length ? 2 : 0;
  }
  if (sub === 'simulate') {
    if (!flags.out) throw new UsageError('--out is required (the simulation table to write, TSV)');
    checkOutputPath('out', flags.out);
  }
  if (sub === 'fit') return fitCommand(yaml, flags, log, out);
  const problem = await readPetab(yaml);
  const started = performance.now();
  let r;
  const backend = flags.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'gpu') throw new UsageError(`--backend ${backend}: choose cpu (f64) or gpu (f32)`);
  try { r = await petabLikelihood(problem, { backend }); } catch (err) {
    if (err instanceof InputError) throw new InputError(`${yaml}: ${err.message}`);
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  if (sub === 'llh') {
    // Priors, where the parameter table has them, apart from the likelihood (PEtab: llh is the data's).
    if (flags.json) out(JSON.stringify({ llh: r.llh, chi2: r.chi2, conditions: r.conditions, measurements: r.measurements, ...(r.priors ? { log_prior: r.logPrior } : {}) }) + '\n');
    else out(`llh ${r.llh}  chi2 ${r.chi2}${r.priors ? `  log prior ${r.logPrior} (${r.priors} parameters)` : ''}  (${r.conditions} conditions, ${r.measurements} measurements, ${seconds.toFixed(2)} s)\n`);
    return 0;
  }
  writeFileAtomic(flags.out!, (w) => {
    w('observableId\tpreequilibrationConditionId\tsimulationConditionId\tsimulation\ttime\tobservableParameters\tnoiseParameters\n');
    problem.measurements.forEach((m, k) => w([m.observable, m.preequilibration ?? '', m.simulation, r.simulated[k], m.time, m.observableParameters.join(';'), m.noiseParameters.join(';')].join('\t') + '\n'));
  });
  if (flags.json) out(JSON.stringify({ out: flags.out, measurements: r.measurements, conditions: r.conditions, llh: r.llh }) + '\n');
  else if (!flags.quiet) log(`wrote ${flags.out}: ${r.measurements} simulated measurements of ${r.conditions} conditions (llh ${r.llh.toFixed(6)}) in ${seconds.toFixed(2)} s`);
  return 0;
}

/**
 * `ctwin petab fit`: multi-start L-BFGS with adjoint gradients (src/training/petab-fit.ts). Writes
 * into --out: fit.tsv (every start: −llh, status, iterations, estimates), parameters.tsv (the PEtab
 * parameter table with the best estimates as nominal values, ready for `ctwin petab llh`) and
 * waterfall.svg.
 */
async function fitCommand(yaml: string, flags: Flags<typeof PETAB_FLAGS>, log: (line: string) => void, out: (text: string) => void): Promise<number> {
  if (!flags.out) throw new UsageError('--out is required (a folder for fit.tsv, parameters.tsv and waterfall.svg)');
  if (existsSync(flags.out) && !statSync(flags.out).isDirectory()) throw new UsageError(`--out ${flags.out}: exists and is not a folder`);
  const starts = integerFlag(flags, 'starts') ?? 20, seed = integerFlag(flags, 'seed') ?? 1, maxIterations = integerFlag(flags, 'max-iterations') ?? 300;
  if (!(starts >= 1) || !(maxIterations >= 1)) throw new UsageError('--starts and --max-iterations must be ≥ 1');
  const backend = flags.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'gpu') throw new UsageError(`--backend ${backend}: choose cpu (f64) or gpu (f32); both rodas4`);
  const problem = await readPetab(yaml);
  const quiet = flags.quiet || flags.json;
  const bar = progressBar(quiet, 'fit |{bar}| {value}/{total} iterations | best −llh {best} | ETA {eta_formatted}');
  bar?.start(maxIterations, 0, { best: '—' });
  if (!bar && !quiet) log(`fitting ${problem.parameters.filter((p) => p.estimate).length} parameters of ${yaml} from ${starts} starts (seed ${seed}, at most ${maxIterations} L-BFGS iterations)`);
  let lastLine = 0;
  const result = await interruptible(() => petabFit(problem, {
    starts, seed, maxIterations, backend: backend as 'cpu' | 'gpu',
    onIteration: (it, best) => {
      bar?.update(it + 1, { best: best.toPrecision(8) });
      if (!bar && !quiet && performance.now() - lastLine > 10_000) { lastLine = performance.now(); log(`  iteration ${it + 1}: best −llh ${best.toPrecision(10)}`); }
    },
  }), () => 'interrupted: nothing written', () => bar?.stop());
  bar?.stop();
  const best = result.starts[0]!;
  const rows = result.starts.map((s, rank) => ({ rank: rank + 1, start: s.start, nllh: s.nllh, offset: Number.isFinite(s.nllh) ? s.nllh - best.nllh + 1 : null, status: s.status }));
  const svg = await renderSvg(waterfallSpec(rows));
  mkdirSync(flags.out, { recursive: true });
  writeFileAtomic(join(flags.out, 'fit.tsv'), (w) => {
    w(['rank', 'start', 'llh', 'status', 'iterations', ...result.names].join('\t') + '\n');
    result.starts.forEach((s, rank) => w([rank + 1, s.start, -s.nllh, s.status, s.iterations, ...s.values].join('\t') + '\n'));
  });
  writeFileAtomic(join(flags.out, 'parameters.tsv'), (w) => {
    w('parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n');
    for (const p of problem.parameters) {
      const k = result.names.indexOf(p.id);
      w([p.id, p.scale, p.lower, p.upper, k >= 0 ? best.values[k] : p.nominal, p.estimate ? 1 : 0].join('\t') + '\n');
    }
  });
  writeFileAtomic(join(flags.out, 'waterfall.svg'), (w) => w(svg));
  const reached = result.starts.filter((s) => s.nllh - best.nllh < 1e-3).length;
  if (flags.json) out(JSON.stringify({ out: flags.out, best_llh: -best.nllh, starts, reached_best: reached, seconds: result.seconds, parameters: Object.fromEntries(result.names.map((n, k) => [n, best.values[k]])) }, null, 2) + '\n');
  else if (!flags.quiet) log(`best llh ${(-best.nllh).toFixed(6)}; ${reached} of ${starts} starts within 1e-3 of it; ${result.seconds.toFixed(1)} s; wrote fit.tsv, parameters.tsv, waterfall.svg to ${flags.out}`);
  return 0;
}
