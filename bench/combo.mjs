#!/usr/bin/env node
// The combination-screen benchmark of issue #12: 6 twins × 10 drug pairs × 8×8 doses × 32
// uncertainty samples (≈ 123 000 dose cells, 24 h simulated with dosing), end to end, with where
// the time goes. Run after `npm run build`:
//
//   node bench/combo.mjs [--twins DIR] [--samples 32] [--backend auto|cpu|gpu] [--method rodas4]
//
// Without --twins it calibrates the bundled example cohort once into bench/out/twins (not timed).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { readTwins, runCombo, scoreScreen, rankCombinations, comboFiles, writeComboFiles, loadDrugLibrary, releaseCpuWorkers } from '../dist/index.js';

const { values: flags } = parseArgs({ options: { twins: { type: 'string' }, samples: { type: 'string' }, backend: { type: 'string' }, method: { type: 'string' }, doses: { type: 'string' } } });
const twinsDir = flags.twins ?? 'bench/out/twins';
if (!existsSync(twinsDir)) {
  mkdirSync(twinsDir, { recursive: true });
  console.error(`calibrating the example cohort into ${twinsDir} (once, not timed)…`);
  const data = ['P01', 'P02', 'P03', 'P04', 'P05', 'P06'].flatMap((p) => [`examples/cohort/${p}_spots.csv`, `examples/cohort/${p}_frap.txt`]);
  execFileSync('node', ['dist/cli/main.js', 'calibrate', '--model', 'examples/condensate.json', '--data', ...data, '--design', 'examples/cohort/design.csv',
    '--covariates', 'examples/cohort/covariates.csv', '--out', twinsDir, '--starts', '4', '--quiet'], { stdio: 'inherit' });
}
const tRead = performance.now();
const library = loadDrugLibrary();
const { twins, weights } = readTwins(twinsDir);
const t0 = performance.now();
const ids = Object.keys(library.drugs);
const pairs = ids.flatMap((a, i) => ids.slice(i + 1).map((b) => [a, b]));
const samples = Number(flags.samples ?? 32), doses = Number(flags.doses ?? 8);
const options = { combinations: pairs, library, weights, samples, doses, backend: flags.backend ?? 'auto', method: flags.method ?? 'rodas4', seed: 1 };
const screen = await runCombo(twins, options);
const t1 = performance.now();
const summaries = scoreScreen(screen.blocks, { loewe: { solve: 'grid' } });
const ranking = rankCombinations(summaries, 'ZIP');
const t2 = performance.now();
const out = 'bench/out/combo';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeComboFiles(out, comboFiles(screen, summaries, ranking, { ...options, rankBy: 'ZIP', methods: ['HSA', 'Bliss', 'Loewe', 'ZIP'], loewe: 'grid' }, twins));
const t3 = performance.now();
const cells = twins.length * pairs.length * doses * doses * samples;
console.log(JSON.stringify({
  twins: twins.length, pairs: pairs.length, doses: `${doses}x${doses}`, samples, dose_cells_x_samples: cells, trajectories_simulated: screen.trajectories,
  backend: screen.timing.backend, method: options.method, cores: cpus().length,
  seconds: {
    total: +((t3 - tRead) / 1000).toFixed(2),
    read_twins: +((t0 - tRead) / 1000).toFixed(2),
    prepare_and_compile: +((screen.timing.prepareMs) / 1000).toFixed(2),
    simulate: +(screen.timing.simulateMs / 1000).toFixed(2),
    fits_and_scores: +((t2 - t1) / 1000).toFixed(2),
    write_files: +((t3 - t2) / 1000).toFixed(2),
  },
}));
await releaseCpuWorkers();
