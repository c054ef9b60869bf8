/**
 * The files of a combination screen (DESIGN.md `ctwin combo`; docs/combo.md):
 *
 *   responses.csv          block_id,drug1,drug2,conc1,conc2,response,conc_unit1,conc_unit2,patient,readout
 *                          (SynergyFinder's layout, the nominal twins, % inhibition: `ctwin synergy
 *                          --in responses.csv` and SynergyFinder itself score it as is)
 *   responses_triples.csv  the same for triples (drug3, conc3, conc_unit3: SynergyFinder 3's layout)
 *   scores.csv             block_id,drug1,drug2,method,score,patient,readout,drug3,median,lo95,hi95
 *                          (score = the nominal summary; median/lo95/hi95 over the samples)
 *   ranking.csv            per patient and readout, best first, with intervals and which
 *                          combinations cannot be told apart
 *   samples.csv            block_id,sample,method,score,efficacy: every sample's summaries
 *   combo.json             all of it plus the grids, matrices and fits, for `ctwin report`
 */
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { csvField, writeFileAtomic } from '../io/csv.js';
import type { BlockSummary, RankRow } from '../synergy/screen.js';
import type { SynergyMethod } from '../synergy/synergy.js';
import { NAMED_READOUTS, gridCells, type ComboOptions, type ComboResult } from './combo.js';
import { sha256, type TwinFile } from './twin.js';

export const COMBO_SCHEMA = 'condensate-twin/combo@1';

export interface ComboRecordOptions extends Omit<ComboOptions, 'library' | 'weights' | 'onProgress' | 'checkpoint'> {
  rankBy: SynergyMethod;
  methods: SynergyMethod[];
  loewe: 'grid' | 'exact';
  twinsDir?: string;
  drugsFile?: string;
}

const num = (v: number) => (Number.isFinite(v) ? String(v) : '');
const row = (fields: Array<string | number>) => fields.map((f) => (typeof f === 'number' ? num(f) : csvField(f))).join(',') + '\n';
const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/**
 * The screen's files as text, keyed by file name (see the file comment).
 * @example
 * const { twins } = readTwins('twins/'), combinations = [['jq1', 'thz1']];
 * const result = await runCombo(twins, { combinations });
 * const summaries = scoreScreen(result.blocks), ranking = rankCombinations(summaries, 'ZIP');
 * const files = comboFiles(result, summaries, ranking, { combinations, rankBy: 'ZIP', methods: ['ZIP'], loewe: 'grid' }, twins);
 * files['ranking.csv']; // patient,readout,method,rank,combination,score,…
 */
export function comboFiles(screen: ComboResult, summaries: BlockSummary[], ranking: RankRow[], options: ComboRecordOptions, twins: TwinFile[]): Record<string, string> {
  const pairs: string[] = [], triples: string[] = [], scores: string[] = [], samples: string[] = [];
  const blocks = screen.blocks.map((b, k) => {
    const id = k + 1, s = summaries[k]!;
    const cellsN = b.nominal.length;
    gridCells(b.doses.map((d) => d.length)).forEach((idx, c) => {
      const conc = idx.map((i, j) => b.doses[j]![i]!);
      (b.drugs.length === 2 ? pairs : triples).push(row([id, ...b.drugs, ...conc, b.nominal[c]!, ...b.units, b.patient, b.readout]));
    });
    for (const m of Object.keys(s.scores) as SynergyMethod[]) {
      const iv = s.scores[m]!;
      scores.push(row([id, b.drugs[0]!, b.drugs[1]!, m, iv.value, b.patient, b.readout, b.drugs[2] ?? '', iv.median, iv.lo, iv.hi]));
    }
    return {
      block_id: id, patient: b.patient, drugs: b.drugs, units: b.units, readout: b.readout, doses: b.doses,
      samples_used: b.samples.length / cellsN - b.dropped, samples_dropped: b.dropped,
      response: Array.from(b.nominal, orNull),
      scores: Object.fromEntries(Object.entries(s.scores).map(([m, iv]) => [m, {
        summary: orNull(iv.value), median: orNull(iv.median), lo95: orNull(iv.lo), hi95: orNull(iv.hi),
        ...(s.matrices?.[m as SynergyMethod] ? { matrix: s.matrices[m as SynergyMethod]!.matrix.map((r) => r.map(orNull)) } : {}),
      }])),
      efficacy: { value: orNull(s.efficacy.value), median: orNull(s.efficacy.median), lo95: orNull(s.efficacy.lo), hi95: orNull(s.efficacy.hi) },
      ...(s.fits ? { fits: Object.fromEntries(Object.entries(s.fits).map(([k2, f]) => [k2, { ...f.curve, sse: f.sse }])) } : {}),
    };
  });
  screen.blocks.forEach((b, k) => {
    const s = summaries[k]!, S = b.samples.length / b.nominal.length;
    for (const m of Object.keys(s.scores) as SynergyMethod[]) for (let j = 0; j < S; j++) samples.push(row([k + 1, j + 1, m, s.sampleScores[m]![j]!, s.sampleEfficacy[j]!]));
  });
  const rankRows = ranking.map((r) => row([
    r.patient, r.readout, r.method, r.rank, r.combination, r.score.value, r.score.median, r.score.lo, r.score.hi, r.call,
    r.efficacy.value, r.efficacy.lo, r.efficacy.hi, r.samplesUsed, r.tiedWith === null ? 'not assessed (no samples)' : r.tiedWith.join(';'),
  ]));
  const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  const record = {
    schema: COMBO_SCHEMA,
    options: {
      combinations: options.combinations, doses: options.doses ?? 8, dose_ranges: options.doseRanges ?? {}, samples: screen.samples,
      seed: options.seed ?? 1, t1: options.t1 ?? 86400, at: options.at ?? options.t1 ?? 86400, readouts: screen.readouts.map((r) => r.name),
      backend: screen.timing.backend, method: options.method ?? 'rodas4', rtol: options.rtol ?? 1e-5, rank_by: options.rankBy, methods: options.methods, loewe: options.loewe,
      twins: options.twinsDir ?? null, drugs: options.drugsFile ?? null,
    },
    readouts: screen.readouts.map((r) => ({ ...r, ...(NAMED_READOUTS[r.name] ? { description: NAMED_READOUTS[r.name]!.description, unit: NAMED_READOUTS[r.name]!.unit } : {}) })),
    drugs: screen.drugs,
    patients: screen.patients,
    sampled: screen.sampled,
    twins: twins.map((t) => ({ patient: t.patient, sha256: sha256(JSON.stringify(t)) })),
    blocks,
    ranking: ranking.map((r) => ({ ...r, score: { value: orNull(r.score.value), median: orNull(r.score.median), lo95: orNull(r.score.lo), hi95: orNull(r.score.hi) }, efficacy: { value: orNull(r.efficacy.value), lo95: orNull(r.efficacy.lo), hi95: orNull(r.efficacy.hi) } })),
    trajectories: screen.trajectories,
    engine: { name: 'condensate-twin', version },
  };
  const files: Record<string, string> = {
    'responses.csv': 'block_id,drug1,drug2,conc1,conc2,response,conc_unit1,conc_unit2,patient,readout\n' + pairs.join(''),
    'scores.csv': 'block_id,drug1,drug2,method,score,patient,readout,drug3,median,lo95,hi95\n' + scores.join(''),
    'ranking.csv': 'patient,readout,method,rank,combination,score,score_median,score_lo95,score_hi95,call,efficacy,efficacy_lo95,efficacy_hi95,samples_used,cannot_be_told_apart_from\n' + rankRows.join(''),
    'samples.csv': 'block_id,sample,method,score,efficacy\n' + samples.join(''),
    'combo.json': JSON.stringify(record, null, 1) + '\n',
  };
  if (pairs.length === 0) delete files['responses.csv'];
  if (triples.length) files['responses_triples.csv'] = 'block_id,drug1,drug2,drug3,conc1,conc2,conc3,response,conc_unit1,conc_unit2,conc_unit3,patient,readout\n' + triples.join('');
  return files;
}

/**
 * Writes each file of `comboFiles` atomically into `dir` (which must exist).
 * @example
 * writeComboFiles('screen/', { 'notes.txt': 'screened on 2026-11-21\n' });
 */
export function writeComboFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileAtomic(join(dir, name), (w) => w(text));
}
