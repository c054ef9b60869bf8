// Calibration benchmark (issue #11; run by hand after `npm run build`: node bench/calibrate.mjs).
// Builds the example cohort's twins (examples/cohort: 6 patients × 20 cells, TrackMate spots,
// design with hexanediol/flavopiridol, covariates, one FRAP curve per patient) exactly as `ctwin calibrate` does — the model
// with condensates, its Laplace uncertainty, the model without condensates for the applicability
// test — and prints one JSON line: wall time, iterations, median R² of fitted and held-out cells,
// the applicability flag beside the generator's truth, and per patient the estimates (with their
// 95% intervals) beside the generator's values where they map onto the model (truth.json `maps_to`).
// Usage: node bench/calibrate.mjs [--starts 4] [--rounds 4] [--iterations 10] [--seed 1] [--backend cpu|gpu]
import { readFileSync } from 'node:fs';
import { calibrateTwins, condensateModelSpec, readImaging, readTable, readDesign, readCovariates, loadDrugLibrary, releaseCpuWorkers, frapCurves } from '../dist/index.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const dir = new URL('../examples/cohort/', import.meta.url).pathname;
const truth = JSON.parse(readFileSync(dir + 'truth.json', 'utf8'));
const ids = Object.keys(truth.patients);
const drugs = loadDrugLibrary();
const design = readDesign(await readTable(dir + 'design.csv'), drugs);
const covariates = readCovariates(await readTable(dir + 'covariates.csv'));
const records = (await Promise.all(ids.map((p) => readImaging(`${dir}${p}_spots.csv`)))).flatMap((d) => d.records);
const frap = frapCurves(await Promise.all(ids.map((p) => readImaging(`${dir}${p}_frap.txt`))));
let iterations = 0;
const t = performance.now();
const r = await calibrateTwins(records, {
  spec: condensateModelSpec(), design, drugs, covariates, frap, seed: Number(arg('seed', '1')), starts: Number(arg('starts', '4')),
  rounds: Number(arg('rounds', '4')), iterationsPerRound: Number(arg('iterations', '10')), holdout: 0.2, backend: arg('backend', 'cpu'),
  onProgress: () => { iterations++; },
});
const wall = (performance.now() - t) / 1000;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]); };
const cells = r.twins.flatMap((tw) => Object.values(tw.observation.cells));
const sig = (v) => (v === null ? null : +v.toPrecision(3));
console.log(JSON.stringify({
  backend: arg('backend', 'cpu'), wall_s: +wall.toFixed(1), iterations, patients: r.twins.length,
  // Σ over patients of the f64 NLL at the end point (the diagnostics always run in f64 on the CPU).
  nll_total: +r.twins.reduce((a, tw) => a + tw.diagnostics.nll, 0).toFixed(2),
  median_r2_fit: +median(cells.filter((c) => !c.held_out).map((c) => c.r2)).toFixed(4),
  median_r2_heldout: +median(cells.filter((c) => c.held_out).map((c) => c.r2)).toFixed(4),
  applicability: Object.fromEntries(r.twins.map((tw) => [tw.patient, { condensate_needed: tw.applicability.condensate_needed, truth: truth.patients[tw.patient].condensate_needed, z: sig(tw.applicability.delta), gain_per_measurement: sig(tw.applicability.gain_per_measurement) }])),
  recovery: Object.fromEntries(r.twins.map((tw) => [tw.patient, Object.fromEntries(Object.keys(tw.params).filter((n) => truth.patients[tw.patient].maps_to[n] !== undefined)
    .map((n) => [n, { estimate: sig(tw.params[n].value), ci95: tw.params[n].ci95?.map(sig) ?? null, identifiable: tw.params[n].identifiable, generator: sig(truth.patients[tw.patient].maps_to[n]) }]))])),
  // FRAP t½ (s): the twin's (its recovery rate at its parameters), the curve's own single-exponential
  // fit (ctwin inspect), and the generator's mean-field value.
  frap_half_time_s: Object.fromEntries(r.twins.map((tw) => [tw.patient, { twin: sig(tw.diagnostics.frap?.[0]?.half_time_s ?? null), generator: sig(truth.patients[tw.patient].frap.half_time_s) }])),
}));
releaseCpuWorkers();
