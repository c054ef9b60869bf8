/**
 * Drugs as data: the bundled library validates; PK concentrations put into a model equal the
 * closed forms they are written from; PD acts on the named parameters; design tables convert
 * units; bad libraries and designs give clear errors. Mechanism: 1,6-hexanediol at 450 s dissolves
 * condensates within minutes in the default model (Sabari 2018), untreated cells stay put.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { condensateModelSpec, makeProblem, parseModel, solve } from '../src/index.js';
import { compileExprF64 } from '../src/codegen/compile.js';
import { bundledDrugs, loadDrugLibrary, treatmentParams, withDrugs, NEVER, type DrugLibrary } from '../src/twin/drugs.js';
import { conditionKey, readDesign, treatmentsOf } from '../src/io/design.js';
import { readTextTable } from '../src/io/table.js';

const dir = mkdtempSync(join(tmpdir(), 'ctwin-drugs-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

describe('drug library', () => {
  it('ships the five documented drugs with sources, each acting on a parameter of the default model', () => {
    const lib = bundledDrugs();
    expect(Object.keys(lib.drugs).sort()).toEqual(['dbet6', 'flavopiridol', 'hexanediol', 'jq1', 'thz1']);
    const params = Object.keys((condensateModelSpec() as { params: object }).params);
    for (const d of Object.values(lib.drugs)) {
      expect(d.sources.length).toBeGreaterThan(0);
      for (const e of d.effects) { expect(params).toContain(e.param); expect(e.source.length).toBeGreaterThan(20); }
    }
    // The mechanisms DESIGN.md names: JQ1 raises c* and lowers recruitment; THZ1 lowers recruitment;
    // flavopiridol lowers pause release; hexanediol raises c*; dBET6 raises degradation.
    const sign = (id: string, p: string) => Math.sign(lib.drugs[id]!.effects.find((e) => e.param === p)!.emax);
    expect([sign('jq1', 'u_csat'), sign('jq1', 'u_rec'), sign('thz1', 'u_rec'), sign('flavopiridol', 'u_esc'), sign('hexanediol', 'u_csat'), sign('dbet6', 'u_deg')]).toEqual([1, -1, -1, -1, 1, 1]);
  });

  it('a user library extends the bundled one; bad entries are named', () => {
    const ok = file('ok.json', JSON.stringify({ schema: 'condensate-twin/drugs@1', drugs: { myi: { name: 'MyInhibitor', unit: 'uM', range: [0.01, 10], pk: { model: 'one-compartment', half_life_s: 3600 }, effects: [{ param: 'k_esc', emax: -0.5, ec50: 1, source: 'in-house assay 2026' }], sources: ['in-house'] } } }));
    const lib = loadDrugLibrary(ok);
    expect(Object.keys(lib.drugs)).toContain('myi');
    expect(Object.keys(lib.drugs)).toContain('jq1');
    expect(lib.drugs.myi!.effects[0]!.hill).toBe(1); // default
    const bad = (name: string, drug: object, re: RegExp) => expect(() => loadDrugLibrary(file(name, JSON.stringify({ schema: 'condensate-twin/drugs@1', drugs: { x: drug } })))).toThrow(re);
    const base = { name: 'X', unit: 'nM', range: [1, 10], pk: { model: 'stable' }, effects: [{ param: 'k_esc', emax: -0.5, ec50: 1, source: 's' }], sources: ['s'] };
    bad('emax.json', { ...base, effects: [{ param: 'k_esc', emax: -2, ec50: 1, source: 's' }] }, /drugs\.x\.effects\.0\.emax/);
    bad('ec50.json', { ...base, effects: [{ param: 'k_esc', emax: 1, ec50: 0, source: 's' }] }, /ec50/);
    bad('pk.json', { ...base, pk: { model: 'two-compartment' } }, /drugs\.x\.pk/);
    bad('extra.json', { ...base, colour: 'red' }, /Unrecognized key.*colour|colour/);
    bad('range.json', { ...base, range: [10, 1] }, /range: the lowest dose/);
    bad('profile.json', { ...base, pk: { model: 'profile', points: [[5, 1], [2, 0.5]] } }, /times must start at 0 and increase/);
    expect(() => loadDrugLibrary(file('schema.json', JSON.stringify({ schema: 'drugs@2', drugs: {} })))).toThrow(/schema/);
    expect(() => loadDrugLibrary(file('notjson.json', '{ nope'))).toThrow(/not JSON/);
    const unknownParam = { schema: 'condensate-twin/drugs@1', drugs: { x: { ...base, effects: [{ param: 'k_nope', emax: 1, ec50: 1, source: 's' }] } } };
    expect(() => withDrugs(condensateModelSpec(), loadDrugLibrary(file('p.json', JSON.stringify(unknownParam))), { x: [{ kind: 'bolus' }] })).toThrow(/targets "k_nope", which is not a parameter/);
  });
});

/** The concentration expression of drug `id` in a model with drugs, evaluated in f64. */
function concentrationOf(lib: DrugLibrary, id: string, kind: 'bolus' | 'infusion' | 'repeated', values: Record<string, number>) {
  const spec = withDrugs(condensateModelSpec({ rna: false }), lib, { [id]: [kind === 'repeated' ? { kind, interval: 1, doses: 3 } : { kind }] });
  const model = parseModel(spec);
  const f = compileExprF64(model, model.expressions.find((e) => e.name === `${id}_conc`)!.expr);
  const p = model.params.map((q) => values[q.name] ?? q.value);
  return (t: number) => f(t, model.states.map((s) => s.value), p);
}

describe('PK: concentration expressions equal their closed forms', () => {
  const g = (u: number, tau: number) => 1 / (1 + Math.exp(-u / tau)); // the logistic the tanh form equals
  const lib: DrugLibrary = { ...bundledDrugs() };
  lib.drugs = { ...lib.drugs, pkd: { ...lib.drugs.jq1!, pk: { model: 'one-compartment', half_life_s: 600 } }, prof: { ...lib.drugs.jq1!, pk: { model: 'profile', points: [[0, 1], [300, 0.4], [900, 0.1]] } } };
  const k = Math.LN2 / 600;
  it('bolus, stable in the medium, with a washout', () => {
    const c = concentrationOf(lib, 'jq1', 'bolus', { jq1_dose: 500, jq1_on: 100, jq1_off: 1000 });
    for (const t of [0, 90, 100, 110, 500, 995, 1000, 1010, 2000]) expect(c(t)).toBeCloseTo(500 * g(t - 100, 5) * (1 - g(t - 1000, 5)), 9);
    expect(c(500)).toBeCloseTo(500, 9);
  });
  it('bolus with one-compartment elimination (half-life 600 s)', () => {
    const c = concentrationOf(lib, 'pkd', 'bolus', { pkd_dose: 200, pkd_on: 60 });
    for (const t of [0, 60, 200, 660, 1260, 3000]) expect(c(t)).toBeCloseTo(200 * g(t - 60, 5) * Math.exp(-k * Math.max(t - 60, 0)), 9);
    expect(c(660) / c(1260)).toBeCloseTo(2, 6);
  });
  it('infusion to a steady concentration, then washout', () => {
    const c = concentrationOf(lib, 'pkd', 'infusion', { pkd_dose: 100, pkd_on: 0, pkd_off: 1200 });
    for (const t of [0, 300, 1200, 1800]) expect(c(t)).toBeCloseTo(100 * (1 - Math.exp(-k * Math.max(Math.min(t, 1200), 0))) * Math.exp(-k * Math.max(t - 1200, 0)), 9);
  });
  it('repeated dosing: n boluses every interval superpose', () => {
    const c = concentrationOf(lib, 'pkd', 'repeated', { pkd_dose: 10, pkd_on: 0, pkd_n: 2, pkd_interval: 600 });
    const one = (t: number, on: number) => 10 * g(t - on, 5) * Math.exp(-k * Math.max(t - on, 0));
    for (const t of [100, 700, 1300, 1900]) expect(c(t)).toBeCloseTo(one(t, 0) + one(t, 600), 9); // the third dose is not given (n = 2)
  });
  it('a measured profile, piecewise linear from t_on', () => {
    const c = concentrationOf(lib, 'prof', 'bolus', { prof_dose: 50, prof_on: 100 });
    const lin = (u: number) => (u <= 300 ? 1 - 0.6 * u / 300 : u <= 900 ? 0.4 - 0.3 * (u - 300) / 600 : 0.1);
    // The value at t_on is gated by the mixing step; the slopes start at t_on: C = D·(g(u) + lin(u) − 1).
    for (const u of [50, 150, 300, 600, 900, 2000]) expect(c(100 + u)).toBeCloseTo(50 * (g(u, 5) + lin(u) - 1), 9);
    expect(c(0)).toBeCloseTo(0, 3);
  });
});

describe('PD and the mechanism', () => {
  it('1,6-hexanediol at 450 s dissolves condensates within minutes; untreated cells stay at steady state', async () => {
    const lib = bundledDrugs();
    const model = parseModel(withDrugs(condensateModelSpec(), lib, { hexanediol: [{ kind: 'bolus' }] }));
    const base = model.params.map((q) => q.value);
    // Steady state first (drug absent), then two cells: untreated and treated at 450 s.
    const pre = await solve(makeProblem(model, { t1: 2e5, saveat: [2e5] }), 'rodas4', { backend: 'cpu', rtol: 1e-8, atol: 1e-10 });
    const y0 = pre.y.slice(0, model.states.length);
    const treated = { ...treatmentParams(lib, [{ drug: 'hexanediol', dose: 1.5, tOn: 450, schedule: { kind: 'bolus' } }]) };
    const params = new Float64Array(2 * base.length);
    params.set(base, 0);
    params.set(model.params.map((q) => treated[q.name] ?? q.value), base.length);
    const sol = await solve(makeProblem(model, { t1: 900, saveat: [0, 400, 600, 900], params, initial: Float64Array.from([...y0, ...y0]) }), 'rodas4', { backend: 'cpu', rtol: 1e-8, atol: 1e-12 });
    const phi = (b: number, s: number) => sol.y[(b * 4 + s) * model.states.length + 1]!;
    expect(phi(0, 0)).toBeGreaterThan(1e-3); // condensates at steady state
    expect(Math.abs(phi(0, 3) - phi(0, 0)) / phi(0, 0)).toBeLessThan(1e-4);
    expect(Math.abs(phi(1, 1) - phi(1, 0)) / phi(1, 0)).toBeLessThan(1e-3); // before the drug
    expect(phi(1, 3)).toBeLessThan(0.1 * phi(1, 0)); // dissolved within 7.5 min
    expect(params[base.length + model.params.findIndex((q) => q.name === 'hexanediol_off')]).toBe(NEVER);
  });
});

describe('design tables', () => {
  it('converts doses to the library unit; * means every cell; conditions are keyed', () => {
    const lib = bundledDrugs();
    const d = readDesign(readTextTable(file('d.csv', 'patient,cell,drug,dose,t_on,t_off\nP01,*,JQ1,0.5 uM,0,\nP01,7,hexanediol,"1,5 %",450,\nP02,3,flavopiridol,300 nM,60,1860\n')), lib);
    expect(treatmentsOf(d, 'P01', '1')).toEqual([{ drug: 'jq1', dose: 500, tOn: 0, schedule: { kind: 'bolus' } }]);
    expect(treatmentsOf(d, 'P01', '7')).toEqual([{ drug: 'hexanediol', dose: 1.5, tOn: 450, schedule: { kind: 'bolus' } }]);
    expect(treatmentsOf(d, 'P02', '4')).toEqual([]);
    expect(conditionKey(treatmentsOf(d, 'P02', '3'))).toBe('flavopiridol 300@60s-1860s');
    expect(conditionKey([])).toBe('untreated');
  });
  const bad: Array<[string, RegExp]> = [
    ['patient,cell,drug,dose\nP01,1,jq1,1 nM\n', /:1:1: missing column "t_on"/],
    ['patient,cell,drug,dose,t_on,when\nP01,1,jq1,1 nM,0,x\n', /:1:6: unknown column "when"/],
    ['patient,cell,drug,dose,t_on\nP01,1,aspirin,1 nM,0\n', /:2:3: unknown drug "aspirin" \(known: hexanediol, jq1/],
    ['patient,cell,drug,dose,t_on\nP01,1,jq1,500,0\n', /:2:4: dose "500" has no unit; write it with one, e\.g\. "500 nM"/],
    ['patient,cell,drug,dose,t_on\nP01,1,hexanediol,500 nM,0\n', /:2:4: dose "500 nM" cannot be converted to percent/],
    ['patient,cell,drug,dose,t_on\nP01,1,jq1,lots,0\n', /:2:4: dose "lots" is not a number with a unit/],
    ['patient,cell,drug,dose,t_on,t_off\nP01,1,jq1,1 nM,100,50\n', /:2:6: t_off 50 s is not after t_on 100 s/],
    ['patient,cell,drug,dose,t_on,schedule\nP01,1,jq1,1 nM,0,weekly\n', /:2:6: schedule "weekly" is not bolus, infusion or repeated/],
    ['patient,cell,drug,dose,t_on,schedule,interval\nP01,1,jq1,1 nM,0,repeated,60\n', /needs "doses"/],
    ['patient,cell,drug,dose,t_on\nP01,1,jq1,1 nM,0\nP01,1,jq1,2 nM,60\n', /:3:1: jq1 is given twice to patient P01, cell 1/],
    ['patient,cell,drug,dose,t_on\nP01,1,jq1,1 nM,soon\n', /:2:5: "soon" in column "t_on" is not a number/],
  ];
  for (const [text, re] of bad) it(`rejects ${re.source.slice(0, 50)}`, () => expect(() => readDesign(readTextTable(file('bad.csv', text)), bundledDrugs())).toThrow(re));
});
