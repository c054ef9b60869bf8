/**
 * `ctwin report` (DESIGN.md): one self-contained HTML file from calibrated twins and, optionally, a
 * combination screen (src/report/report.ts). Written atomically.
 */
import { writeFileAtomic } from '../io/csv.js';
import { loadDrugLibrary } from '../twin/drugs.js';
import { buildReport } from '../report/report.js';
import { UsageError, checkOutputPath, type Flags } from './args.js';

export const REPORT_FLAGS = {
  twins: { type: 'string' }, combo: { type: 'string' }, out: { type: 'string' }, drugs: { type: 'string' }, quiet: { type: 'boolean' },
} as const;

export async function reportCommand(flags: Flags<typeof REPORT_FLAGS>, log: (line: string) => void): Promise<number> {
  if (!flags.twins) throw new UsageError('--twins is required (the --out folder of ctwin calibrate)');
  if (!flags.out) throw new UsageError('--out is required (report.html to write)');
  checkOutputPath('out', flags.out);
  const html = await buildReport({ twinsDir: flags.twins, comboDir: flags.combo, library: loadDrugLibrary(flags.drugs) });
  writeFileAtomic(flags.out, (w) => w(html));
  if (!flags.quiet) log(`wrote ${flags.out} (${(html.length / 1024).toFixed(0)} kB; opens without network access)`);
  return 0;
}
