/**
 * `ctwin combo` (DESIGN.md): an in-silico combination screen on calibrated twins — every twin ×
 * drug pair (or triple) × dose grid × uncertainty sample (src/twin/combo.ts), scored by
 * SynergyFinder's methods with intervals over the samples and ranked per twin
 * (src/synergy/screen.ts). Writes into DIR: responses.csv (SynergyFinder layout, the nominal twins),
 * responses_triples.csv (triples, SynergyFinder's three-drug layout), scores.csv, ranking.csv,
 * samples.csv and combo.json (everything `ctwin report` draws). The work runs in the engine's
 * worker thread; everything is computed before anything is written, each file atomically; a
 * checkpoint after every chunk of trajectories lets `--resume` continue after Ctrl-C or a crash.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadDrugLibrary, drugById } from '../twin/drugs.js';
import { readTwins } from '../twin/twin.js';
import type { ComboOptions } from '../twin/combo.js';
import { writeComboFiles } from '../twin/combo-files.js';
import { PAIR_METHODS, TRIPLE_METHODS } from '../synergy/screen.js';
import { InputError, writeFileAtomic } from '../io/csv.js';
import { sha256 } from '../twin/twin.js';
import { startEngine } from '../engine/client.js';
import type { ComboHooks, ComboJobOptions } from '../engine/engine.js';
import { interruptible, progressBar } from './progress.js';
import { SYNERGY_METHODS } from '../synergy/synergy.js';
import { METHOD_NAMES, type MethodName } from '../methods/tableaus.js';
import { UsageError, integerFlag, numberFlag, type Flags } from './args.js';

export const COMBO_FLAGS = {
  twins: { type: 'string' }, out: { type: 'string' }, drugs: { type: 'string' }, pairs: { type: 'string' },
  'all-pairs': { type: 'boolean' }, triples: { type: 'boolean' }, doses: { type: 'string' }, samples: { type: 'string' },
  readout: { type: 'string' }, t1: { type: 'string' }, at: { type: 'string' }, seed: { type: 'string' },
  'dose-range': { type: 'string' }, 'rank-by': { type: 'string' }, methods: { type: 'string' }, loewe: { type: 'string' },
  backend: { type: 'string' }, method: { type: 'string' }, rtol: { type: 'string' }, quiet: { type: 'boolean' },
  resume: { type: 'boolean' }, json: { type: 'boolean' }, chunk: { type: 'string' },
} as const;

/** DIR/checkpoint.json: per twin group, the readout values of the first `done` treated trajectories. */
interface Checkpoint { key: string; groups: Record<string, { done: number; values: Array<Array<number | null>> }> }

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

  const chunk = integerFlag(flags, 'chunk') ?? 16384;
  if (!(chunk >= 1)) throw new UsageError(`--chunk ${flags.chunk}: must be ≥ 1 trajectory`);
  // Checkpoint: the readouts simulated so far, saved after every chunk; `key` is the sha256 of
  // everything the numbers depend on, so --resume never mixes two screens. The folder is made
  // with the first checkpoint: input found bad by the engine leaves nothing behind.
  const ckPath = join(flags.out, 'checkpoint.json');
  const twinBytes = twins.map((t) => JSON.stringify(t));
  const key = sha256(JSON.stringify({ twinBytes, weights, library, options: { ...options, library: undefined, weights: undefined } }));
  let ck: Checkpoint = { key, groups: {} };
  if (flags.resume && existsSync(ckPath)) {
    let saved: Checkpoint;
    try { saved = JSON.parse(readFileSync(ckPath, 'utf8')) as Checkpoint; } catch (err) { throw new InputError(`${ckPath}: not a readable checkpoint (${(err as Error).message}); rerun without --resume`); }
    if (saved.key !== key) throw new InputError(`${ckPath}: made by a screen with other twins or options; rerun without --resume to start again (the checkpoint is then replaced)`);
    ck = saved;
  }
  const quiet = flags.quiet || flags.json;
  if (flags.resume && !quiet) {
    const had = Object.values(ck.groups).reduce((n, g) => n + g.done, 0);
    log(had ? `resuming from ${ckPath}: ${had} treated trajectories already simulated` : `--resume: no checkpoint in ${flags.out}; starting from the beginning`);
  }
  const job: ComboJobOptions = {
    ...options, rankBy, methods, loewe, twinsDir: flags.twins, drugsFile: flags.drugs,
    // Chunks of 16 384 trajectories by default: a checkpoint every few seconds on a CPU, still a full GPU.
    chunk,
    resumeFrom: Object.fromEntries(Object.entries(ck.groups).map(([g, c]) => [g, { done: c.done, values: c.values.map((v) => Float64Array.from(v, (x) => x ?? NaN)) }])),
  };

  // Run: simulate, then score; a bar on a terminal, stage lines otherwise.
  const bar = progressBar(quiet, '{stage} |{bar}| {value}/{total} | ETA {eta_formatted}');
  const say = (line: string) => { if (!bar && !quiet) log(line); };
  say(`screening ${twins.length} twin(s) × ${unique.length} combination(s) × ${options.doses} doses per drug × ${options.samples} samples (+ the nominal twin)`);
  let current = '';
  const hooks: ComboHooks = {
    progress: (stage, done, total) => {
      if (stage !== current) { bar?.stop(); bar?.start(total, 0, { stage: stage === 'simulate' ? 'simulate' : 'score' }); current = stage; if (stage === 'score') say('scoring'); }
      bar?.update(done);
    },
    // Written here, on the main thread, whole (rename): Ctrl-C never tears it. NaN → null in JSON.
    checkpoint: (g, c) => { ck.groups[g] = { done: c.done, values: c.values.map((v) => Array.from(v, (x) => (Number.isFinite(x) ? x : null))) }; mkdirSync(flags.out!, { recursive: true }); writeFileAtomic(ckPath, (w) => w(JSON.stringify(ck) + '\n')); },
  };
  const engine = startEngine();
  try {
    const result = await interruptible(
      () => engine.api.combo(twins, job, hooks),
      () => `interrupted: nothing of the screen written; ${existsSync(ckPath) ? `the last checkpoint is ${ckPath}, continue with the same command and --resume` : 'no chunk had finished, nothing to resume'}`,
      () => bar?.stop(),
    );
    bar?.stop();
    mkdirSync(flags.out, { recursive: true });
    writeComboFiles(flags.out, result.files);
    rmSync(ckPath, { force: true });
    const top = (patient: string) => result.ranking.filter((r) => r.patient === patient && r.readout === result.readouts[0]!.name).slice(0, 3);
    if (flags.json) {
      process.stdout.write(JSON.stringify({
        out: flags.out, files: Object.keys(result.files).map((f) => join(flags.out!, f)), trajectories: result.trajectories, backend: result.timing.backend,
        top: Object.fromEntries(result.patients.map((p) => [p, top(p).map((r) => ({ rank: r.rank, combination: r.combination, method: r.method, score: r.score.value, lo95: r.score.lo, hi95: r.score.hi, call: r.call }))])),
      }, null, 2) + '\n');
    } else if (!flags.quiet) {
      log(`simulated ${result.trajectories} trajectories (${result.timing.backend}) in ${(result.timing.simulateMs / 1000).toFixed(1)} s; scored ${result.blocks} block(s) in ${(result.timing.scoreMs / 1000).toFixed(1)} s`);
      log(`wrote ${Object.keys(result.files).map((f) => join(flags.out!, f)).join(', ')}`);
      for (const patient of result.patients) {
        log(`  ${patient} (${result.readouts[0]!.name}, ${rankBy}): ${top(patient).map((r) => `${r.rank}. ${r.combination} ${r.score.value.toFixed(2)} [${r.score.lo.toFixed(2)}, ${r.score.hi.toFixed(2)}]`).join('; ')}`);
      }
    }
    return 0;
  } finally {
    bar?.stop();
    await engine.close();
  }
}
