/**
 * Combination screens on twins (src/twin/combo.ts, src/synergy/screen.ts): dose grids, uncertainty
 * samples, the runner's responses against a direct f64 solve with an independent AUC (Simpson's
 * rule on a fine grid), the mechanism checks of issue #12, triples, intervals and ranking.
 */
import { describe, expect, it } from 'vitest';
import {
  callOf, doseLevels, indistinguishable, intervalOf, loadDrugLibrary, makeProblem, multiDrugScores, parseModel, parseReadouts,
  rankCombinations, runCombo, sampleTwinParams, scoreScreen, solve, withDrugs, type DrugLibrary,
} from '../src/index.js';
import { ESTIMATED, syntheticTwin } from './helpers/twin.js';

const cpu = { backend: 'cpu' as const };

describe('dose grids and readouts', () => {
  it('doseLevels: 0, then log-spaced over the range with the top exact', () => {
    const d = doseLevels(10, 5000, 8);
    expect(d).toHaveLength(8);
    expect(d[0]).toBe(0);
    expect(d[1]).toBe(10);
    expect(d[7]).toBe(5000);
    for (let k = 2; k < 8; k++) expect(d[k]! / d[k - 1]!).toBeCloseTo(500 ** (1 / 6), 12);
    expect(() => doseLevels(1, 10, 1)).toThrow(/--doses/);
  });
  it('parseReadouts: named, auc:<name>, <name>@<t>, and a clear error otherwise', () => {
    expect(parseReadouts(['output_auc', 'pol2', 'auc:R', 'phi@60'], 3600, 1800)).toEqual([
      { name: 'output_auc', kind: 'auc', of: 'J' }, { name: 'pol2', kind: 'at', of: 'P', t: 1800 },
      { name: 'auc:R', kind: 'auc', of: 'R' }, { name: 'phi@60', kind: 'at', of: 'phi', t: 60 },
    ]);
    expect(() => parseReadouts(['viability'], 3600, 3600)).toThrow(/unknown readout "viability"/);
    expect(() => parseReadouts(['phi@7200'], 3600, 3600)).toThrow(/within \[0, t1/);
  });
});

describe('uncertainty samples', () => {
  it('draws log-parameters with the twin\'s covariance; row 0 is the estimate; uninformed directions stay put', () => {
    // Correlated c_sat/k_phi (ρ = 0.6), k_rec with SD 0.2, the rest not informed (zero variance).
    const K = ESTIMATED.length;
    const cov = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    cov[0]![0] = 0.04; cov[1]![1] = 0.09; cov[0]![1] = cov[1]![0] = 0.6 * 0.2 * 0.3; cov[2]![2] = 0.04;
    const twin = syntheticTwin('S', { covariance: cov });
    const model = parseModel(twin.model);
    const S = 4000, P = model.params.length;
    const { params, sampled } = sampleTwinParams(twin, model, S, 7);
    expect(sampled.sort()).toEqual(['c_sat', 'k_phi', 'k_rec'].sort());
    const col = (name: string) => model.params.findIndex((q) => q.name === name);
    ESTIMATED.forEach((n) => expect(params[col(n)]).toBe(twin.params[n]!.value));
    const logs = ['c_sat', 'k_phi', 'k_rec'].map((n) => Array.from({ length: S }, (_, s) => Math.log(params[(s + 1) * P + col(n)]! / twin.params[n]!.value)));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const covOf = (a: number[], b: number[]) => { const ma = mean(a), mb = mean(b); return a.reduce((acc, v, i) => acc + (v - ma) * (b[i]! - mb), 0) / (a.length - 1); };
    // Sampling error of a variance with 4000 draws: ~2.2 % relative; allow 4 SE.
    expect(covOf(logs[0]!, logs[0]!)).toBeCloseTo(0.04, 2);
    expect(Math.abs(covOf(logs[1]!, logs[1]!) / 0.09 - 1)).toBeLessThan(0.09);
    expect(Math.abs(covOf(logs[0]!, logs[1]!) / 0.036 - 1)).toBeLessThan(0.12);
    expect(Math.abs(covOf(logs[0]!, logs[2]!))).toBeLessThan(0.004);
    for (let s = 1; s <= S; s++) expect(params[s * P + col('k_esc')]).toBe(twin.params.k_esc!.value);
    // Bounds hold: the model's min/max.
    const q = model.params[col('k_phi')]!;
    for (let s = 1; s <= S; s++) { expect(params[s * P + col('k_phi')]!).toBeGreaterThanOrEqual(q.min!); expect(params[s * P + col('k_phi')]!).toBeLessThanOrEqual(q.max!); }
  });
});

describe('the runner against a direct f64 solve', () => {
  it('one dose cell\'s % inhibition of output AUC and Pol II equal an independent computation', async () => {
    const twin = syntheticTwin('R');
    const t1 = 7200;
    const screen = await runCombo([twin], { combinations: [['jq1', 'flavopiridol']], samples: 0, doses: 4, t1, readouts: ['output_auc', 'pol2'], ...cpu, rtol: 1e-7, atol: 1e-10 });
    const [auc, pol2] = screen.blocks;
    const { jq1, flavopiridol } = screen.drugs;
    // Independent: the model with both drugs, pre-equilibrated from the model's own initial rule,
    // J sampled every 2 s over [0, t1] and integrated by Simpson's rule.
    const lib = loadDrugLibrary();
    const model = parseModel(withDrugs(twin.model, lib, { jq1: [{ kind: 'bolus' }], flavopiridol: [{ kind: 'bolus' }] }));
    const N = model.states.length;
    const idx = (n: string) => model.params.findIndex((q) => q.name === n);
    const run = async (d1: number, d2: number) => {
      const p = Float64Array.from(model.params, (q) => q.value);
      p[idx('jq1_dose')] = d1; p[idx('flavopiridol_dose')] = d2;
      const pre = await solve(makeProblem(model, { t0: -20100, t1: -100, saveat: [-100], params: p, initial: Float64Array.from(model.states, (s) => (s.name === 'c' ? 1 : s.name === 'phi' ? 1e-3 : 0)) }), 'tsit5', { ...cpu, rtol: 1e-9, atol: 1e-12 });
      const n = t1 / 2;
      const ts = Array.from({ length: n + 1 }, (_, k) => k * 2);
      const sol = await solve(makeProblem(model, { t0: -100, t1, saveat: ts, params: p, initial: pre.y.slice(0, N) }), 'tsit5', { ...cpu, rtol: 1e-9, atol: 1e-12 });
      // J = k_esc·u_esc_eff·P; flavopiridol's PD (emax −0.95, EC50 30 nM, Hill 1) on its PK, a
      // bolus mixed in with the smooth step ½ + ½·tanh(t/2τ), τ = 5 s (src/twin/drugs.json).
      const J = ts.map((t, k) => { const c = d2 * (0.5 + 0.5 * Math.tanh(t / 10)); return p[idx('k_esc')]! * sol.y[k * N + 2]! * (1 - 0.95 * (c / 30) / (1 + c / 30)); });
      const simpson = (2 / 3) * J.reduce((a, v, k) => a + v * (k === 0 || k === n ? 1 : k % 2 ? 4 : 2), 0);
      return { auc: simpson, P: sol.y[n * N + 2]! };
    };
    const ref = await run(0, 0);
    for (const [i, j] of [[1, 2], [3, 0], [0, 3]] as const) {
      const got = await run(jq1!.levels[i]!, flavopiridol!.levels[j]!);
      const cell = i * 4 + j;
      expect(auc!.nominal[cell]!).toBeCloseTo(100 * (1 - got.auc / ref.auc), 3);
      expect(pol2!.nominal[cell]!).toBeCloseTo(100 * (1 - got.P / ref.P), 3);
    }
    expect(auc!.nominal[0]).toBe(0);
  }, 60_000);
});

describe('mechanism checks (issue #12)', () => {
  const twin = syntheticTwin('M');
  it('a condensate-dissolving drug (1,6-hexanediol) lowers φ first and transcriptional output after', async () => {
    const times = [15, 60, 300];
    const s = await runCombo([twin], { combinations: [['hexanediol', 'thz1']], samples: 0, t1: 600, readouts: times.flatMap((t) => [`phi@${t}`, `J@${t}`]), ...cpu });
    const at = (name: string, i: number) => s.blocks.find((b) => b.readout === name)!.nominal[i * 8]!; // hexanediol alone, level i
    const i = s.drugs.hexanediol!.levels.findIndex((d) => d > 1.5); // ≈ 1.58 %, the classic dose
    expect(at('phi@15', i)).toBeGreaterThan(2.5 * at('J@15', i)); // φ falls well ahead of J …
    expect(at('phi@60', i)).toBeGreaterThan(at('J@60', i) + 15);
    expect(at('J@300', i)).toBeGreaterThan(95); // … and J follows: output gone within 5 min
    for (let k = 1; k < 8; k++) expect(at('phi@15', k)).toBeGreaterThan(at('J@15', k));
  }, 60_000);
  it('a CDK9 inhibitor (flavopiridol) raises engaged Pol II while lowering output', async () => {
    const s = await runCombo([twin], { combinations: [['jq1', 'flavopiridol']], samples: 0, t1: 3600, readouts: ['output_auc', 'pol2'], ...cpu });
    const [auc, pol2] = s.blocks;
    for (let j = 1; j < 8; j++) {
      expect(pol2!.nominal[j]!).toBeLessThan(0); // % inhibition < 0: P rose
      expect(auc!.nominal[j]!).toBeGreaterThan(0);
      if (j > 1) expect(auc!.nominal[j]!).toBeGreaterThan(auc!.nominal[j - 1]!);
    }
  }, 60_000);
  it('a drug with itself (the sham combination) scores Loewe ≈ 0; ZIP stays in the additive band', async () => {
    const s = await runCombo([twin], { combinations: [['thz1', 'thz1']], samples: 0, ...cpu });
    const grid = scoreScreen(s.blocks)[0]!, exact = scoreScreen(s.blocks, { methods: ['Loewe'], loewe: { solve: 'exact' } })[0]!;
    expect(Math.abs(exact.scores.Loewe!.value)).toBeLessThan(0.05); // curve-fit error only
    expect(Math.abs(grid.scores.Loewe!.value)).toBeLessThan(0.5); // + SynergyFinder's 100-level grid
    // ZIP's reference is Bliss independence of the fitted curves, which a sham combination of a
    // Hill-type drug undershoots (docs/combo.md): small and negative, well inside ±10.
    expect(Math.abs(grid.scores.ZIP!.value)).toBeLessThan(5);
    expect(callOf(grid.scores.ZIP!)).toBe('additive');
  }, 60_000);
  it('a dose-additive pair (two CDK7 inhibitors at one site) is not called synergistic', async () => {
    const lib: DrugLibrary = structuredClone(loadDrugLibrary());
    lib.drugs.thz1!.effects[0]!.site = 'cdk7';
    lib.drugs.thz1_analogue = { ...structuredClone(lib.drugs.thz1!), name: 'THZ1 analogue (3× less potent)', effects: [{ ...lib.drugs.thz1!.effects[0]!, ec50: 150 }] };
    const s = await runCombo([twin], { combinations: [['thz1', 'thz1_analogue']], samples: 0, library: lib, ...cpu });
    const r = scoreScreen(s.blocks)[0]!;
    expect(Math.abs(r.scores.Loewe!.value)).toBeLessThan(0.5);
    for (const m of ['Loewe', 'ZIP', 'Bliss'] as const) expect(callOf(r.scores[m]!)).not.toBe('synergistic');
    // The same two drugs as independent factors (no shared site) are a different, Bliss-like pair.
    const plain = structuredClone(lib);
    delete plain.drugs.thz1!.effects[0]!.site; delete plain.drugs.thz1_analogue!.effects[0]!.site;
    const q = scoreScreen((await runCombo([twin], { combinations: [['thz1', 'thz1_analogue']], samples: 0, library: plain, ...cpu })).blocks)[0]!;
    expect(Math.abs(q.scores.Loewe!.value - r.scores.Loewe!.value)).toBeGreaterThan(1);
  }, 60_000);
});

describe('triples, intervals and ranking', () => {
  it('multiDrugScores: HSA and Bliss of a 2×2×2 grid by hand', () => {
    const d = [0, 1], y = [0, 10, 20, 35, 30, 40, 45, 70]; // singles: drug3 10, drug2 20, drug1 30
    // combination cells: 011 (35; HSA ref 20, Bliss 28), 101 (40; 30, 37), 110 (45; 30, 44), 111 (70; 30, 49.6)
    expect(multiDrugScores([d, d, d], y, 'HSA')).toBeCloseTo((15 + 10 + 15 + 40) / 4, 12);
    expect(multiDrugScores([d, d, d], y, 'Bliss')).toBeCloseTo((7 + 3 + 1 + 20.4) / 4, 12);
  });
  it('a triple screen: 4³ cells, HSA and Bliss with intervals; pairs ranked with ties', async () => {
    const twin = syntheticTwin('T');
    const s = await runCombo([twin], { combinations: [['jq1', 'thz1', 'flavopiridol'], ['jq1', 'thz1'], ['thz1', 'flavopiridol']], samples: 6, doses: 4, t1: 3600, ...cpu });
    expect(s.blocks[0]!.nominal).toHaveLength(64);
    expect(s.blocks[0]!.samples).toHaveLength(6 * 64);
    const summaries = scoreScreen(s.blocks);
    expect(Object.keys(summaries[0]!.scores).sort()).toEqual(['Bliss', 'HSA']);
    expect(Object.keys(summaries[1]!.scores).sort()).toEqual(['Bliss', 'HSA', 'Loewe', 'ZIP']);
    for (const sum of summaries) for (const iv of Object.values(sum.scores)) expect(iv!.lo).toBeLessThanOrEqual(iv!.hi);
    const rank = rankCombinations(summaries, 'Bliss');
    expect(rank.map((r) => r.rank)).toEqual([1, 2, 3]);
    expect(rank[0]!.score.value).toBeGreaterThanOrEqual(rank[1]!.score.value);
    // Ties are symmetric.
    for (const a of rank) for (const b of a.tiedWith!) expect(rank.find((r) => r.combination === b)!.tiedWith).toContain(a.combination);
  }, 60_000);
  it('samples without an untreated readout (NaN rows) are left out of intervals and comparisons', () => {
    const doses = [[0, 1], [0, 1]];
    const block = (patient: string, shift: number) => ({
      patient, drugs: ['a', 'b'], readout: 'x', doses, nominal: [0, 20, 30, 60 + shift],
      samples: [0, 20, 30, 61 + shift, NaN, NaN, NaN, NaN, 0, 20, 30, 59 + shift],
    });
    const [s] = scoreScreen([block('P', 0)], { methods: ['HSA', 'Bliss'] });
    // HSA per sample: 61 − 30 = 31 and 59 − 30 = 29; the NaN sample is skipped.
    expect(s!.scores.HSA).toMatchObject({ value: 30, median: 30 });
    expect(s!.scores.HSA!.lo).toBeCloseTo(29.05, 12);
    expect(s!.efficacy.median).toBe(60);
    expect(indistinguishable(Float64Array.of(1, NaN, 3), Float64Array.of(2, 5, 4))).toBe(false);
  });
  it('chunking the batch changes nothing, and progress reaches the total', async () => {
    const twin = syntheticTwin('C');
    const options = { combinations: [['jq1', 'thz1']], samples: 2, doses: 3, t1: 1800, ...cpu };
    const whole = await runCombo([twin], options);
    const seen: Array<[number, number]> = [];
    const chunked = await runCombo([twin], { ...options, chunk: 7, onProgress: (d, t) => seen.push([d, t]) });
    expect(Array.from(chunked.blocks[0]!.nominal)).toEqual(Array.from(whole.blocks[0]!.nominal));
    expect(Array.from(chunked.blocks[0]!.samples)).toEqual(Array.from(whole.blocks[0]!.samples));
    expect(seen.at(-1)![0]).toBe(seen.at(-1)![1]);
    expect(seen.length).toBeGreaterThan(3);
  }, 60_000);
  it('indistinguishable: paired differences, not overlapping marginal intervals', () => {
    // Wide marginals that overlap, but b is always 1 above a: told apart.
    const a = Float64Array.from({ length: 40 }, (_, i) => i), b = a.map((v) => v + 1);
    expect(indistinguishable(a, b)).toBe(false);
    const c = a.map((v, i) => v + (i % 2 ? 1 : -1));
    expect(indistinguishable(a, c)).toBe(true);
    expect(intervalOf(5, a)).toMatchObject({ value: 5, median: 19.5 });
  });
});
