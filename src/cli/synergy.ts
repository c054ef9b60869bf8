/**
 * `ctwin synergy` (DESIGN.md): scores every block of a SynergyFinder-layout table by HSA, Bliss,
 * Loewe and ZIP as SynergyFinder 3.x does (docs/synergy.md), writes scores.csv
 * (block_id,drug1,drug2,method,score; score = the mean over combination cells) and, with --json, the
 * matrices, references and fits. Everything is read and scored before anything is written.
 */
import { csvField, writeFileAtomic } from '../io/csv.js';
import { readResponses } from '../synergy/responses.js';
import { scoreMatrix, SYNERGY_METHODS, type SynergyMethod } from '../synergy/synergy.js';
import { UsageError, checkOutputPath, type Flags } from './args.js';

export const SYNERGY_FLAGS = {
  in: { type: 'string' }, out: { type: 'string' }, methods: { type: 'string' }, json: { type: 'string' },
  'input-type': { type: 'string' }, loewe: { type: 'string' }, quiet: { type: 'boolean' },
} as const;

export async function synergyCommand(flags: Flags<typeof SYNERGY_FLAGS>, log: (line: string) => void): Promise<number> {
  if (!flags.in) throw new UsageError('--in is required (a dose–response table: block_id,drug1,drug2,conc1,conc2,response)');
  if (!flags.out) throw new UsageError('--out is required (scores.csv to write)');
  checkOutputPath('out', flags.out);
  if (flags.json) checkOutputPath('json', flags.json);
  const inputType = flags['input-type'] ?? 'inhibition';
  if (inputType !== 'inhibition' && inputType !== 'viability') throw new UsageError(`--input-type ${inputType}: choose inhibition or viability`);
  const loewe = flags.loewe ?? 'grid';
  if (loewe !== 'grid' && loewe !== 'exact') throw new UsageError(`--loewe ${loewe}: choose grid (SynergyFinder) or exact`);
  const methods = (flags.methods ?? 'hsa,bliss,loewe,zip').split(',').map((m) => m.trim()).filter(Boolean).map((m) => {
    const hit = SYNERGY_METHODS.find((x) => x.toLowerCase() === m.toLowerCase());
    if (!hit) throw new UsageError(`--methods: unknown method "${m}" (hsa, bliss, loewe, zip)`);
    return hit;
  });

  const blocks = await readResponses(flags.in, { inputType });
  const scored = blocks.map((b) => ({ block: b, result: scoreMatrix(b.matrix, { methods, loewe: { solve: loewe } }) }));

  writeFileAtomic(flags.out, (w) => {
    w('block_id,drug1,drug2,method,score\n');
    for (const { block, result } of scored) for (const m of methods) w([block.blockId, block.drug1, block.drug2, m, String(result.scores[m]!.summary)].map(csvField).join(',') + '\n');
  });
  if (flags.json) {
    const json: Record<string, unknown> = {};
    for (const { block, result } of scored) {
      const entry: Record<string, unknown> = {
        drug1: block.drug1, drug2: block.drug2, conc1: block.matrix.conc1, conc2: block.matrix.conc2, conc_unit1: block.unit1, conc_unit2: block.unit2,
        response: block.matrix.response, replicates: block.replicates,
      };
      for (const m of methods as SynergyMethod[]) {
        const s = result.scores[m]!;
        entry[m] = { summary: s.summary, matrix: s.matrix, ref: s.ref, ...(s.fitted ? { fitted: s.fitted } : {}) };
      }
      if (result.fits) entry.fits = Object.fromEntries(Object.entries(result.fits).map(([k, f]) => [k, { model: f.curve.model, b: f.curve.b, c: f.curve.c, d: f.curve.d, e: f.curve.e, sse: f.sse }]));
      json[block.blockId] = entry;
    }
    writeFileAtomic(flags.json, (w) => w(JSON.stringify(json, null, 2) + '\n'));
  }
  if (!flags.quiet) {
    log(`scored ${blocks.length} block(s) by ${methods.join(', ')} (${inputType} input, Loewe ${loewe}); wrote ${flags.out}${flags.json ? ` and ${flags.json}` : ''}`);
    for (const { block, result } of scored) log(`  ${block.blockId} ${block.drug1} × ${block.drug2}: ${methods.map((m) => `${m} ${result.scores[m]!.summary.toFixed(2)}`).join(', ')}${block.replicates ? ` (${block.replicates} replicated cells averaged)` : ''}`);
  }
  return 0;
}
