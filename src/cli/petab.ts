/**
 * `ctwin petab lint|llh|simulate PROBLEM.yaml` (DESIGN.md): PEtab problems with SBML models.
 * lint lists every problem (file:row:column) and exits 2 when there is one; llh prints the
 * log-likelihood at the nominal parameters as AMICI reports it; simulate writes the PEtab
 * simulation table (the measurement table with `simulation` in place of `measurement`).
 */
import { InputError, writeFileAtomic } from '../io/csv.js';
import { lintPetab, readPetab } from '../io/petab/petab.js';
import { petabLikelihood } from '../training/petab.js';
import { UsageError, checkOutputPath, type Flags } from './args.js';

export const PETAB_FLAGS = { out: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' } } as const;
const SUBCOMMANDS = ['lint', 'llh', 'simulate'];

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
  const problem = await readPetab(yaml);
  const started = performance.now();
  let r;
  try { r = await petabLikelihood(problem); } catch (err) {
    if (err instanceof InputError) throw new InputError(`${yaml}: ${err.message}`);
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  if (sub === 'llh') {
    if (flags.json) out(JSON.stringify({ llh: r.llh, chi2: r.chi2, conditions: r.conditions, measurements: r.measurements }) + '\n');
    else out(`llh ${r.llh}  chi2 ${r.chi2}  (${r.conditions} conditions, ${r.measurements} measurements, ${seconds.toFixed(2)} s)\n`);
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
