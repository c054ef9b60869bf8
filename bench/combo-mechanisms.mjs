#!/usr/bin/env node
// The mechanism figures of docs/combo.md and test/combo.test.ts, printed: a twin at the default
// model's values (no calibration), samples 0, CPU f64. After `npm run build`:
//
//   node bench/combo-mechanisms.mjs
import { readFileSync } from 'node:fs';
import { loadDrugLibrary, releaseCpuWorkers, runCombo, scoreScreen } from '../dist/index.js';

const model = JSON.parse(readFileSync('examples/condensate.json', 'utf8'));
const names = ['c_sat', 'k_phi', 'k_rec', 'k_esc', 'k_R', 'K_phi'];
const twin = {
  schema: 'condensate-twin/twin@1', patient: 'default', model,
  params: Object.fromEntries(names.map((n) => [n, { value: model.params[n].value, se: null, ci95: null, identifiable: false, scale: 'log' }])),
  observation: { equation: '', bleach: 'cell', sigma: 'patient', drift: true, cells: {} }, weights: { values: [] },
  applicability: { condensate_needed: null, criterion: '', delta: null, nll_with: null, nll_without: null, params_with: 6, params_without: null, cells: 0, gain_per_measurement: null },
  diagnostics: { status: 'ok', r2_fit: null, r2_heldout: null, nll: null, loss: null, cells: 0, heldout_cells: 0, data_points: 0, per_observable: {}, hessian_eigenvalues: null },
  provenance: { engine: 'condensate-twin', version: '0', model_sha256: '0'.repeat(64), data: [], options: { rtol: 1e-7, atol: 1e-10 }, seed: 1 },
};
const cpu = { backend: 'cpu', samples: 0 };
const row = (b, name) => Array.from({ length: 8 }, (_, i) => +b.find((x) => x.readout === name).nominal[i * 8].toFixed(1));
const col = (b, name) => Array.from(b.find((x) => x.readout === name).nominal.slice(0, 8), (v) => +v.toFixed(1));

const hex = await runCombo([twin], { ...cpu, combinations: [['hexanediol', 'thz1']], t1: 600, readouts: ['phi@15', 'J@15', 'phi@60', 'J@60', 'J@300'] });
console.log(JSON.stringify({ hexanediol_doses: hex.drugs.hexanediol.levels.map((d) => +d.toPrecision(3)), ...Object.fromEntries(['phi@15', 'J@15', 'phi@60', 'J@60', 'J@300'].map((r) => [r, row(hex.blocks, r)])) }));
const fl = await runCombo([twin], { ...cpu, combinations: [['jq1', 'flavopiridol']], t1: 3600, readouts: ['output_auc', 'pol2'] });
console.log(JSON.stringify({ flavopiridol_doses: fl.drugs.flavopiridol.levels.map((d) => +d.toPrecision(3)), output_auc_1h: col(fl.blocks, 'output_auc'), pol2_1h: col(fl.blocks, 'pol2') }));
const summary = (blocks, extra = {}) => Object.fromEntries(Object.entries(scoreScreen(blocks, extra)[0].scores).map(([m, v]) => [m, +v.value.toFixed(4)]));
const sham = await runCombo([twin], { ...cpu, combinations: [['thz1', 'thz1']] });
console.log(JSON.stringify({ thz1_with_itself: summary(sham.blocks), loewe_exact: summary(sham.blocks, { methods: ['Loewe'], loewe: { solve: 'exact' } }).Loewe }));
const lib = structuredClone(loadDrugLibrary());
lib.drugs.thz1.effects[0].site = 'cdk7';
lib.drugs.thz1_analogue = { ...structuredClone(lib.drugs.thz1), effects: [{ ...lib.drugs.thz1.effects[0], ec50: 150 }] };
const site = await runCombo([twin], { ...cpu, combinations: [['thz1', 'thz1_analogue']], library: lib });
console.log(JSON.stringify({ two_cdk7_inhibitors_one_site: summary(site.blocks) }));
await releaseCpuWorkers();
