// Calibration benchmark (issue #11; run by hand after `npm run build`: node bench/calibrate.mjs).
// Calibrates the example cohort (examples/cohort: 6 patients × 20 cells, TrackMate spots, design
// with hexanediol/flavopiridol) on the CPU f64 backend and prints one JSON line: wall time, rounds,
// iterations, median R² of fitted and held-out cells, and per patient the estimates beside the
// generator's values where they map onto the model's parameters (truth.json `maps_to`).
// Usage: node bench/calibrate.mjs [--starts 4] [--iterations 40] [--rounds 1] [--seed 1]
import { readFileSync } from 'node:fs';
import { calibrate, condensateModelSpec, readImaging, readTable, readDesign, loadDrugLibrary, releaseCpuWorkers } from '../dist/index.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const dir = new URL('../examples/cohort/', import.meta.url).pathname;
const truth = JSON.parse(readFileSync(dir + 'truth.json', 'utf8'));
const ids = Object.keys(truth.patients);
const drugs = loadDrugLibrary();
const design = readDesign(await readTable(dir + 'design.csv'), drugs);
const records = (await Promise.all(ids.map((p) => readImaging(`${dir}${p}_spots.csv`)))).flatMap((d) => d.records);
const estimate = ['c_sat', 'k_phi', 'k_rec', 'k_esc', 'k_R', 'K_phi'];
let iterations = 0;
const t = performance.now();
const r = await calibrate(records, {
  spec: condensateModelSpec(), design, drugs, estimate, seed: Number(arg('seed', '1')), starts: Number(arg('starts', '4')),
  rounds: Number(arg('rounds', '1')), iterationsPerRound: Number(arg('iterations', '40')), holdout: 0.2,
  preequilibration: { duration: 20000, initial: { c: 'k_syn/k_deg', phi: 0.001 } },
  onProgress: () => { iterations++; },
});
const wall = (performance.now() - t) / 1000;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]); };
const cells = r.patients.flatMap((p) => p.cells);
console.log(JSON.stringify({
  backend: 'cpu', wall_s: +wall.toFixed(1), iterations, patients: r.patients.length,
  median_r2_fit: +median(cells.filter((c) => !c.heldOut).map((c) => c.r2)).toFixed(4),
  median_r2_heldout: +median(cells.filter((c) => c.heldOut).map((c) => c.r2)).toFixed(4),
  recovery: Object.fromEntries(r.patients.map((p) => [p.patient, Object.fromEntries(estimate.filter((n) => truth.patients[p.patient].maps_to[n] !== undefined)
    .map((n) => [n, { estimate: +p.params[n].toPrecision(3), generator: +truth.patients[p.patient].maps_to[n].toPrecision(3) }]))])),
}));
releaseCpuWorkers();
