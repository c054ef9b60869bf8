// An in-silico combination screen on calibrated twins: JQ1 (BRD4 inhibitor) with THZ1 (CDK7
// inhibitor) over a dose grid, with each twin's parameter uncertainty, scored as SynergyFinder
// does — and a built-in control: JQ1 with itself (the sham combination), which by definition is
// dose-additive, so its Loewe score must be ≈ 0.
//
//   node examples/combo-screen.mjs TWINS_DIR [--samples 8] [--doses 6] [--backend auto|cpu|gpu] [--json]
//
// TWINS_DIR: the output of `ctwin calibrate` or of examples/calibrate-trackmate.mjs.
import { parseArgs } from 'node:util';
import { rankCombinations, readTwins, runCombo, scoreScreen } from 'condensate-twin';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: {
  samples: { type: 'string', default: '8' }, doses: { type: 'string', default: '6' }, backend: { type: 'string', default: 'auto' }, json: { type: 'boolean' },
} });
if (!positionals[0]) { console.error('usage: node examples/combo-screen.mjs TWINS_DIR [--samples 8] [--doses 6] [--json]'); process.exit(2); }

const { twins, weights } = readTwins(positionals[0]);
const screen = await runCombo(twins, {
  combinations: [['jq1', 'thz1'], ['jq1', 'jq1']], weights,
  doses: Number(args.doses), samples: Number(args.samples), t1: 24 * 3600, readouts: ['output_auc'], backend: args.backend,
  onProgress: (done, total) => { if (!args.json && process.stderr.isTTY) process.stderr.write(`\rsimulating ${done}/${total}`); },
});
if (!args.json && process.stderr.isTTY) process.stderr.write('\n');
const summaries = scoreScreen(screen.blocks, { methods: ['HSA', 'Bliss', 'Loewe', 'ZIP'] });
const ranking = rankCombinations(summaries, 'ZIP');

const blocks = screen.blocks.map((b, k) => ({
  patient: b.patient, combination: b.drugs.join('+'),
  // % inhibition of transcriptional output at the highest dose of both drugs (the grid's last cell)
  top_dose_inhibition: b.nominal[b.nominal.length - 1],
  // the first drug alone (first column of the grid: drug 1 down, drug 2 across) and the second alone
  alone: [b.doses[0].map((_, i) => b.nominal[i * b.doses[1].length]), b.doses[1].map((_, j) => b.nominal[j])],
  doses: b.doses, units: b.units,
  scores: Object.fromEntries(Object.entries(summaries[k].scores).map(([m, s]) => [m, { value: s.value, lo95: s.lo, hi95: s.hi }])),
}));
if (args.json) console.log(JSON.stringify({ trajectories: screen.trajectories, backend: screen.timing.backend, blocks, ranking: ranking.map((r) => ({ patient: r.patient, rank: r.rank, combination: r.combination, zip: r.score.value, call: r.call })) }));
else {
  console.log(`${screen.trajectories} trajectories on ${screen.timing.backend} in ${(screen.timing.simulateMs / 1000).toFixed(1)} s`);
  for (const b of blocks) {
    console.log(`${b.patient} ${b.combination}: ${b.combination.split('+')[0]} alone ${b.alone[0].map((v, i) => `${b.doses[0][i].toPrecision(3)} ${b.units[0]} → ${v.toFixed(1)} %`).join(', ')}`);
    console.log(`${b.patient} ${b.combination.padEnd(9)} inhibition at top doses ${b.top_dose_inhibition.toFixed(1)} %; ` +
      Object.entries(b.scores).map(([m, s]) => `${m} ${s.value.toFixed(2)} [${s.lo95.toFixed(2)}, ${s.hi95.toFixed(2)}]`).join(', '));
  }
  console.log('(the sham combination jq1+jq1 is additive by construction: its Loewe score should be ≈ 0)');
}
