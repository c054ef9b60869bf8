/**
 * `ctwin import-sbml model.xml --out model.json` (DESIGN.md): an SBML Level 2/3 core model as our
 * model JSON (src/io/sbml/sbml.ts), checked by parseModel before it is written (atomically).
 */
import { readFileSync } from 'node:fs';
import { InputError, writeFileAtomic } from '../io/csv.js';
import { importSbml } from '../io/sbml/sbml.js';
import { parseModel } from '../physics/model.js';
import { UsageError, checkOutputPath, type Flags } from './args.js';

export const IMPORT_SBML_FLAGS = { out: { type: 'string' }, quiet: { type: 'boolean' }, json: { type: 'boolean' } } as const;

export function importSbmlCommand(files: string[], flags: Flags<typeof IMPORT_SBML_FLAGS>, log: (line: string) => void): number {
  if (files.length !== 1) throw new UsageError(`give one SBML file (got ${files.length})`);
  if (!flags.out) throw new UsageError('--out is required (the model JSON to write)');
  checkOutputPath('out', flags.out);
  const file = files[0]!;
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) { throw new InputError(`${file}: cannot read (${(err as Error).message})`); }
  const { spec, notes } = importSbml(text, file);
  const json = JSON.stringify(spec, null, 2) + '\n';
  const model = parseModel(json, flags.out); // the written file must load as it is
  writeFileAtomic(flags.out, (w) => w(json));
  if (flags.json) {
    process.stdout.write(JSON.stringify({ out: flags.out, model: model.name, states: model.states.length, params: model.params.length, expressions: model.expressions.length, notes }, null, 2) + '\n');
  } else if (!flags.quiet) {
    log(`${file} → ${flags.out}: model "${model.name}", ${model.states.length} states, ${model.params.length} parameters, ${model.expressions.length} expressions`);
    for (const n of notes) log(`  note: ${n}`);
  }
  return 0;
}
