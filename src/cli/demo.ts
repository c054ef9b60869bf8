/**
 * `ctwin demo [--out DIR]` (DESIGN.md, issue 13): the three jobs on the bundled example cohort, one
 * after the other, with the same code as the commands themselves —
 *   1. `ctwin calibrate`: six patients' TrackMate tracks and FRAP curves, the design (which cells got
 *      which drug) and covariates → DIR/twins;
 *   2. `ctwin combo --all-pairs`: every pair of the bundled drugs on every twin, with uncertainty
 *      → DIR/screen;
 *   3. `ctwin report` → DIR/report.html, the file to open first (printed last).
 * Ctrl-C during 1 or 2 keeps that stage's checkpoint; `ctwin demo --resume` continues.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrateCommand } from './calibrate.js';
import { comboCommand } from './combo.js';
import { reportCommand } from './report.js';
import { UsageError, integerFlag, type Flags } from './args.js';

export const DEMO_FLAGS = {
  out: { type: 'string' }, backend: { type: 'string' }, starts: { type: 'string' }, samples: { type: 'string' },
  resume: { type: 'boolean' }, quiet: { type: 'boolean' }, json: { type: 'boolean' },
} as const;

/** The bundled examples folder (shipped in the package beside dist/). */
export const examplesDir = () => fileURLToPath(new URL('../../examples/', import.meta.url));

export async function demoCommand(flags: Flags<typeof DEMO_FLAGS>, log: (line: string) => void): Promise<number> {
  const out = flags.out ?? 'ctwin-demo';
  const backend = flags.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'gpu') throw new UsageError(`--backend ${backend}: choose auto, cpu or gpu`);
  const starts = integerFlag(flags, 'starts') ?? 4, samples = integerFlag(flags, 'samples') ?? 32;
  const examples = examplesDir(), cohort = join(examples, 'cohort');
  const data = readdirSync(cohort).filter((f) => /_(spots\.csv|frap\.txt)$/.test(f)).sort().map((f) => join(cohort, f));
  const twins = join(out, 'twins'), screen = join(out, 'screen'), report = join(out, 'report.html');
  const quiet = flags.quiet || flags.json;
  const say = (line: string) => { if (!quiet) log(line); };
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const shown = (p: string) => relative(process.cwd(), p) || '.';

  say(`[1/3] calibrating one twin per patient from ${data.length} imaging files of the example cohort (${shown(cohort)}: TrackMate tracks, FRAP curves, design, covariates)`);
  let code = await calibrateCommand(data.slice(1), {
    model: join(examples, 'condensate.json'), data: data[0], design: join(cohort, 'design.csv'), covariates: join(cohort, 'covariates.csv'),
    out: twins, starts: String(starts), backend, resume: flags.resume, quiet,
  }, log);
  if (code !== 0) return code;
  say(`[2/3] ${elapsed()}: screening every pair of the bundled drugs on every twin, ${samples} uncertainty samples each`);
  code = await comboCommand({ twins, out: screen, 'all-pairs': true, samples: String(samples), backend, resume: flags.resume, quiet }, log);
  if (code !== 0) return code;
  say(`[3/3] ${elapsed()}: writing the report`);
  code = await reportCommand({ twins, combo: screen, out: report, quiet }, log);
  if (code !== 0) return code;

  if (flags.json) {
    process.stdout.write(JSON.stringify({ out, twins, screen, report, seconds: Math.round((performance.now() - started) / 1000) }, null, 2) + '\n');
    return 0;
  }
  say(`\ndone in ${elapsed()}. What is where:`);
  say(`  ${shown(twins)}/     one twin per patient (<patient>.twin.json: parameters with 95 % intervals, fit, provenance); summary.csv`);
  say(`  ${shown(screen)}/    ranking.csv (each patient's combinations, best first, with intervals); scores.csv; responses.csv (SynergyFinder's layout)`);
  // The one line a user needs, last and on stdout (the rest is on stderr).
  process.stdout.write(quiet ? `${shown(report)}\n` : `Open first, in a browser (works offline): ${shown(report)}\n`);
  return 0;
}
