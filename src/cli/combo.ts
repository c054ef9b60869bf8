/**
 * `ctwin combo` (DESIGN.md): an in-silico combination screen on calibrated twins — every twin ×
 * drug pair (or triple) × dose grid × uncertainty sample (src/twin/combo.ts), scored by
 * SynergyFinder's methods with intervals over the samples and ranked per twin
 * (src/synergy/screen.ts). Writes into DIR: responses.csv (SynergyFinder layout, the nominal twins),
 * responses_triples.csv (triples, SynergyFinder's three-drug layout), scores.csv, ranking.csv,
 * samples.csv and combo.json (everything `ctwin report` draws). Everything is computed before
 * anything is written; each file is written atomically.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { loadDrugLibrary, drugById } from '../twin/drugs.js';
import { readTwins } from '../twin/twin.js';
import { runCombo, type ComboOptions } from '../twin/combo.js';
import { comboFiles, writeComboFiles } from '../twin/combo-files.js';
import { PAIR_METHODS, TRIPLE_METHODS, rankCombinations, scoreScreen } from '../synergy/screen.js';
import { SYNERGY_METHODS } from '../synergy/synergy.js';
import { METHOD_NAMES, type MethodName } from '../methods/tableaus.js';
import { UsageError, integerFlag, numberFlag, type Flags } from './args.js';

export const COMBO_FLAGS = {
  twins: { type: 'string' }, out: { type: 'string' }, drugs: { type: 'string' }, pairs: { type: 'string' },
  'all-pairs': { type: 'boolean' }, triples: { type: 'boolean' }, doses: { type: 'string' }, samples: { type: 'string' },
  readout: { type: 'string' }, t1: { type: 'string' }, at: { type: 'string' }, seed: { type: 'string' },
  'dose-range': { type: 'string' }, 'rank-by': { type: 'string' }, methods: { type: 'string' }, loewe: { type: 'string' },
  backend: { type: 'string' }, method: { type: 'string' }, rtol: { type: 'string' }, quiet: { type: 'boolean' },
} as const;

/** All k-subsets of ids, in order. */
const subsets = (ids: string[], k: number): string[][] => (k === 0 ? [[]] : ids.flatMap((id, i) => subsets(ids.slice(i + 1), k - 1).map((s) => [id, ...s])));

export async function comboCommand(flags: Flags<typeof COMBO_FLAGS>, log: (line: string) => void): Promise<number> {
  if (!flags.twins) throw new UsageError('--twins is required (the --out folder of ctwin calibrate)');
  if (!flags.out) throw new UsageError('--out is required (a folder for responses.csv, scores.csv, ranking.csv, …)');
  if (existsSync(flags.out) && !statSync(flags.out).isDirectory()) throw new UsageError(`--out ${flags.out}: exists and is not a folder`);
  if (!flags.pairs && !flags['all-pairs']) throw new UsageError('give --pairs A+B,C+D (a triple as A+B+C) or --all-pairs');
  const backend = flags.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'gpu') throw new UsageError(`--backend ${backend}: choose auto, cpu or gpu`);
  const method = flags.method ?? 'rodas4';
  if (!(METHOD_NAMES as readonly string[]).includes(method)) throw new UsageError(`--method ${method}: choose one of ${METHOD_NAMES.join(', ')}`);
  const loewe = flags.loewe ?? 'grid';
  if (loewe !== 'grid' && loewe !== 'exact') throw new UsageError(`--loewe ${loewe}: choose grid (SynergyFinder) or exact`);
  const methodOf = (m: string, flag: string) => {
    const hit = SYNERGY_METHODS.find((x) => x.toLowerCase() === m.trim().toLowerCase());
    if (!hit) throw new UsageError(`--${flag}: unknown method "${m}" (hsa, bliss, loewe, zip)`);
    return hit;
  };
  const methods = flags.methods ? flags.methods.split(',').filter((m) => m.trim()).map((m) => methodOf(m, 'methods')) : [...PAIR_METHODS];

  // Inputs, all checked before anything runs.
  const library = loadDrugLibrary(flags.drugs);
  const { twins, weights } = readTwins(flags.twins);
  const named = (flags.pairs ?? '').split(',').map((c) => c.trim()).filter(Boolean).map((c) => c.split('+').map((d) => drugById(library, d, '--pairs')[0]));
  const pool = flags['all-pairs'] ? Object.keys(library.drugs) : [...new Set(named.flat())];
  const combinations = [...named, ...(flags['all-pairs'] ? subsets(pool, 2) : []), ...(flags.triples ? subsets(pool, 3) : [])];
  const seen = new Set<string>();
  const unique = combinations.filter((c) => { const k = [...c].sort().join('+'); if (seen.has(k)) return false; seen.add(k); return true; });
  const hasTriples = unique.some((c) => c.length === 3);
  const rankBy = flags['rank-by'] ? methodOf(flags['rank-by'], 'rank-by') : hasTriples ? 'Bliss' : 'ZIP';
  if (hasTriples && !TRIPLE_METHODS.includes(rankBy)) throw new UsageError(`--rank-by ${rankBy}: triples are scored by ${TRIPLE_METHODS.join(' and ')} only; rank by one of them`);
  if (!methods.includes(rankBy)) methods.push(rankBy);
  const doseRanges: Record<string, [number, number]> = {};
  for (const item of (flags['dose-range'] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=]+)=([^:]+):(.+)$/.exec(item);
    const lo = Number(m?.[2]), hi = Number(m?.[3]);
    if (!m || !Number.isFinite(lo) || !Number.isFinite(hi)) throw new UsageError(`--dose-range ${item}: expected drug=lowest:highest in the drug's unit, e.g. jq1=50:2000`);
    doseRanges[drugById(library, m[1]!, '--dose-range')[0]] = [lo, hi];
  }
  const options: ComboOptions = {
    combinations: unique, library, weights, doseRanges, backend, method: method as MethodName,
    doses: integerFlag(flags, 'doses') ?? 8, samples: integerFlag(flags, 'samples') ?? 32, seed: integerFlag(flags, 'seed') ?? 1,
    t1: numberFlag(flags, 't1') ?? 86400, at: numberFlag(flags, 'at'), rtol: numberFlag(flags, 'rtol'),
    readouts: (flags.readout ?? 'output_auc').split(',').map((s) => s.trim()).filter(Boolean),
  };

  // Run: simulate, then score; a bar on a terminal, stage lines otherwise.
  const bar = !flags.quiet && process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: '{stage} |{bar}| {value}/{total} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic)
    : undefined;
  const say = (line: string) => { if (!bar && !flags.quiet) log(line); };
  say(`screening ${twins.length} twin(s) × ${unique.length} combination(s) × ${options.doses} doses per drug × ${options.samples} samples (+ the nominal twin)`);
  const onSigint = () => { bar?.stop(); log('\ninterrupted: nothing written'); process.exit(130); };
  process.once('SIGINT', onSigint);
  try {
    let started = false;
    const screen = await runCombo(twins, {
      ...options,
      onProgress: (done, total) => {
        if (!started) { bar?.start(total, 0, { stage: 'simulate' }); started = true; }
        bar?.update(done);
      },
    });
    bar?.stop();
    say(`simulated ${screen.trajectories} trajectories (${screen.timing.backend}) in ${(screen.timing.simulateMs / 1000).toFixed(1)} s; scoring`);
    const scoreStart = performance.now();
    let scoring = false;
    const summaries = scoreScreen(screen.blocks, {
      methods, loewe: { solve: loewe },
      onProgress: (done, total) => {
        if (!scoring) { bar?.start(total, 0, { stage: 'score' }); scoring = true; }
        bar?.update(done);
      },
    });
    bar?.stop();
    const ranking = rankCombinations(summaries, rankBy);
    const scoreMs = performance.now() - scoreStart;
    const files = comboFiles(screen, summaries, ranking, { ...options, rankBy, methods, loewe, twinsDir: flags.twins, drugsFile: flags.drugs }, twins);
    mkdirSync(flags.out, { recursive: true });
    writeComboFiles(flags.out, files);
    if (!flags.quiet) {
      log(`scored ${summaries.length} block(s) in ${(scoreMs / 1000).toFixed(1)} s; wrote ${Object.keys(files).map((f) => join(flags.out!, f)).join(', ')}`);
      for (const patient of screen.patients) {
        const top = ranking.filter((r) => r.patient === patient && r.readout === screen.readouts[0]!.name).slice(0, 3);
        log(`  ${patient} (${screen.readouts[0]!.name}, ${rankBy}): ${top.map((r) => `${r.rank}. ${r.combination} ${r.score.value.toFixed(2)} [${r.score.lo.toFixed(2)}, ${r.score.hi.toFixed(2)}]`).join('; ')}`);
      }
    }
    return 0;
  } finally {
    bar?.stop();
    process.removeListener('SIGINT', onSigint);
  }
}
