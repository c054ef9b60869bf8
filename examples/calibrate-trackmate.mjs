// A twin from one patient's live-imaging data: a TrackMate spots export (condensate and nascent
// RNA intensities per tracked cell) and a FRAP curve, with the design saying which cells got which
// drug, calibrated against the condensate model. Writes the twin file(s) into --out.
//
//   node examples/calibrate-trackmate.mjs [--patient P01] [--out twins] [--starts 2] [--json]
//
// The example cohort is synthetic (scripts/generate-cohort.mjs): examples/cohort/truth.json holds
// the parameters each patient was made with, so the estimates can be compared with the truth.
import { mkdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { calibrateTwins, frapCurves, loadDrugLibrary, readDesign, readImaging, readTable, writeTwins } from 'condensate-twin';

const { values: args } = parseArgs({ options: {
  patient: { type: 'string', default: 'P01' }, out: { type: 'string', default: 'twins' }, starts: { type: 'string', default: '2' }, json: { type: 'boolean' },
} });
const cohort = new URL('./cohort/', import.meta.url);
const file = (name) => new URL(name, cohort).pathname;

// 1. Read: every reader says what it made of the file (kind, tracks, frame interval, warnings).
const spots = await readImaging(file(`${args.patient}_spots.csv`));
const frap = await readImaging(file(`${args.patient}_frap.txt`));
if (!args.json) {
  console.log(`${spots.summary.kind}: ${spots.summary.tracks} tracks, ${spots.summary.frames} frames every ${spots.summary.frameInterval} s`);
  for (const w of [...spots.summary.warnings, ...frap.summary.warnings]) console.log(`  warning: ${w}`);
}

// 2. Calibrate: the model's own calibration section says which parameters are estimated and how
//    the model is pre-equilibrated; the design gives each cell's drug, dose and time.
const spec = JSON.parse(readFileSync(new URL('./condensate.json', import.meta.url), 'utf8'));
const drugs = loadDrugLibrary();
const design = readDesign(await readTable(file('design.csv')), drugs);
const result = await calibrateTwins(spots.records, {
  spec, design, drugs, frap: frapCurves([frap]), seed: 1, starts: Number(args.starts), rounds: 3, iterationsPerRound: 8,
  onStage: (stage) => { if (!args.json) console.log(`  stage: ${stage}`); },
});
mkdirSync(args.out, { recursive: true });
writeTwins(args.out, result);

// 3. Compare with the parameters the synthetic patient was generated with.
const truth = JSON.parse(readFileSync(file('truth.json'), 'utf8')).patients[args.patient];
const twin = result.twins[0];
const summary = result.summary[0];
const compared = Object.entries(twin.params).filter(([name]) => name in truth.maps_to).map(([name, q]) => ({
  name, estimate: q.value, ci95: q.ci95, truth: truth.maps_to[name], unit: q.unit ?? '1',
}));
if (args.json) {
  console.log(JSON.stringify({ patient: twin.patient, summary, condensate_needed_truth: truth.condensate_needed, compared, out: args.out }));
} else {
  console.log(`${twin.patient}: R² ${summary.r2_fit.toFixed(3)} fitted, ${summary.r2_heldout.toFixed(3)} on held-out cells; condensates needed: ${summary.condensate_needed} (truth: ${truth.condensate_needed})`);
  for (const c of compared) console.log(`  ${c.name.padEnd(6)} ${c.estimate.toPrecision(3).padStart(9)} ${c.unit.padEnd(5)} 95 % [${c.ci95 ? c.ci95.map((v) => v.toPrecision(3)).join(', ') : 'not identifiable'}]  truth ${c.truth.toPrecision(3)}`);
  console.log(`wrote ${args.out}/${twin.patient}.twin.json, cohort.json, summary.csv`);
}
