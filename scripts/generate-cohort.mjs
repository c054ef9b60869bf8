#!/usr/bin/env node
/**
 * The example cohort's generator: an independent, molecule-level stochastic simulator (Gillespie's
 * direct method, 1977) of a super-enhancer condensate, with imaging — NOT the engine's ODE. It writes
 * TrackMate 7 spots tables, easyFRAP tables, a design table, a covariates table and the true
 * parameters into examples/cohort/.
 *
 *   node scripts/generate-cohort.mjs [--seed 20261121] [--out examples/cohort]
 *
 * Molecules in one nucleus (volume V, so n molecules ≙ n/(N_A·V) µM):
 *   ∅ → TF_dil                       k_syn·V·N_A           synthesis
 *   TF_dil → ∅, TF_con → ∅           k_deg·n               degradation
 *   TF_dil → TF_con                  k_in·n_dil·(n_con + n_seed)·(1 − n_con/n_max)   autocatalytic condensation
 *   TF_con → TF_dil                  k_out·h(t)·n_con      dissolution; h = 1 + (f_hex − 1)·[hexanediol given]
 *   site_free → site_engaged         k_rec·M_free·n_con/(K_con + n_con)   recruitment by the condensate
 *                                    (patient "P06": k_rec·M_free·0.5, condensate-independent)
 *   site_engaged → site_free         k_term·M_eng          premature termination
 *   site_engaged → site_free + b·RNA k_esc·g(t)·M_eng      pause release; b MS2-tagged transcripts' worth of signal;
 *                                    g = 1 − 0.95·C/(C + 30 nM) after flavopiridol (C = 300 nM), else 1
 *   RNA → ∅                          k_R·n_RNA             nascent RNA leaves the locus
 * Mean-field: c* = k_out/(k_in·N_A·V) µM, the condensed pool grows when the dilute concentration
 * exceeds c* — the nucleation–growth picture the engine's default model reduces to.
 *
 * Imaging (per cell, frames every 15 s for 900 s): CH1 = b₀ + b₁·t + s₁·n_con·e^{−k_b t} + noise,
 * CH2 = b₀' + b₁'·t + s₂·n_RNA·e^{−k_b' t} + noise (Gaussian read noise plus shot noise), a few
 * untracked spots and dropped frames per file. 1.5 % 1,6-hexanediol is added at 450 s to the odd
 * cells of each patient, 300 nM flavopiridol at 300 s to the even ones. FRAP: the condensed molecules of one cell are bleached at 20 s and the
 * recovery of unbleached condensed molecules is imaged every 0.5 s.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '20261121' }, out: { type: 'string', default: 'examples/cohort' } } });
const SEED = Number(values.seed), OUT = values.out;

/** splitmix32 → uniform (0,1); the whole cohort depends on SEED only. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (((z ^ (z >>> 15)) >>> 0) + 0.5) / 4294967296;
  };
}
const rand = rng(SEED);
const normal = () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
const lognormal = (median, sdLog) => median * Math.exp(sdLog * normal());

const N_A_V = 602; // molecules per µM in a 1 fL nucleus (6.022e23 · 1e-6 mol/L · 1e-15 L)
const FRAMES = 61, DT = 15, T_HEX = 450, F_HEX = 12, T_FLAVO = 300, FLAVO_NM = 300, G_FLAVO = 1 - 0.95 * FLAVO_NM / (FLAVO_NM + 30);

/** Covariates drive the patients' parameters: MYC raises TF synthesis, BRD4 lowers c*, MED1 raises recruitment. */
const PATIENTS = [
  { id: 'P01', MYC: 1.0, BRD4: 1.0, MED1: 1.0, condensate: true },
  { id: 'P02', MYC: 1.6, BRD4: 1.2, MED1: 0.9, condensate: true },
  { id: 'P03', MYC: 0.7, BRD4: 0.8, MED1: 1.2, condensate: true },
  { id: 'P04', MYC: 1.3, BRD4: 1.5, MED1: 1.1, condensate: true },
  { id: 'P05', MYC: 0.9, BRD4: 0.7, MED1: 0.8, condensate: true },
  { id: 'P06', MYC: 1.1, BRD4: 1.0, MED1: 1.0, condensate: false }, // transcription does not go through condensates
];

function patientParams(p) {
  return {
    k_syn: 0.19 * p.MYC,            // molecules/s (≙ k_syn µM/s · N_A V)
    k_deg: 1.925e-4,                // 1/s (TF half-life 1 h)
    k_in: 1e-4 * p.BRD4,            // 1/(molecule·s)
    k_out: 0.05,                    // 1/s: per-molecule exit from the condensate
    n_seed: 2, n_max: 4000,
    M: 40,                          // promoter sites at the locus
    k_rec: 0.25 * p.MED1, K_con: 150,
    k_esc: 0.1, k_term: 0.067, b: 1,
    k_R: 0.0058,
    condensate: p.condensate,
  };
}

/** Gillespie's direct method from state s over [t, tEnd]; `onSave(t)` at each save time. */
function gillespie(q, s, t, tEnd, hexOn, saves, onSave, flavoOn) {
  let next = 0;
  while (next < saves.length && saves[next] < t) next++;
  for (;;) {
    const h = hexOn !== undefined && t >= hexOn ? F_HEX : 1;
    const g = flavoOn !== undefined && t >= flavoOn ? G_FLAVO : 1;
    const free = q.M - s.eng;
    const recruit = q.condensate ? q.k_rec * free * s.con / (q.K_con + s.con) : q.k_rec * free * 0.5;
    const a = [
      q.k_syn, q.k_deg * s.dil, q.k_deg * s.con,
      q.k_in * s.dil * (s.con + q.n_seed) * Math.max(0, 1 - s.con / q.n_max),
      q.k_out * h * s.con, recruit, q.k_term * s.eng, q.k_esc * g * s.eng, q.k_R * s.rna,
    ];
    const total = a.reduce((x, y) => x + y, 0);
    let tNext = t - Math.log(rand()) / total;
    // A rate that jumps (hexanediol) restarts the clock at the jump (memoryless, so exact).
    const stop = Math.min(tEnd, hexOn !== undefined && t < hexOn ? hexOn : Infinity, flavoOn !== undefined && t < flavoOn ? flavoOn : Infinity);
    while (next < saves.length && saves[next] <= Math.min(tNext, stop)) onSave(saves[next++], s);
    if (tNext > stop) { t = stop; if (stop >= tEnd) return t; continue; }
    t = tNext;
    let r = rand() * total, k = 0;
    while (k < a.length - 1 && r >= a[k]) r -= a[k++];
    switch (k) {
      // Bleached molecules (FRAP) move like the others: each reaction picks one at random.
      case 0: s.dil++; break;
      case 1: if (rand() * s.dil < s.bleachedDil) s.bleachedDil--; s.dil--; break;
      case 2: if (rand() * s.con < s.bleached) s.bleached--; s.con--; break;
      case 3: if (rand() * s.dil < s.bleachedDil) { s.bleachedDil--; s.bleached++; } s.dil--; s.con++; break;
      case 4: if (rand() * s.con < s.bleached) { s.bleached--; s.bleachedDil++; } s.con--; s.dil++; break;
      case 5: s.eng++; break;
      case 6: s.eng--; break;
      case 7: s.eng--; s.rna += q.b; break;
      case 8: s.rna--; break;
    }
  }
}

/** A cell at its stochastic steady state: total TF at k_syn/k_deg, then 2 h of simulated time. */
function steadyCell(q) {
  const total = Math.round(q.k_syn / q.k_deg);
  const s = { dil: Math.round(total * 0.6), con: Math.round(total * 0.4), eng: 10, rna: 20, bleached: 0, bleachedDil: 0 };
  gillespie(q, s, -7200, 0, undefined, [], () => {});
  return s;
}

/**
 * Mean-field steady state of the condensed pool, k_in·n_dil·(n_con + n_seed)·(1 − n_con/n_max) =
 * k_out·n_con with n_dil + n_con = k_syn/k_deg (bisection), and the FRAP recovery it implies.
 */
function frapTruth(q) {
  const total = q.k_syn / q.k_deg, f = (n) => q.k_in * (total - n) * (n + q.n_seed) * (1 - n / q.n_max) - q.k_out * n;
  let lo = 0, hi = Math.min(total, q.n_max);
  for (let i = 0; i < 200; i++) { const m = 0.5 * (lo + hi); if (f(m) > 0) lo = m; else hi = m; }
  const con = 0.5 * (lo + hi), rate = q.k_out + q.k_in * (con + q.n_seed) * (1 - con / q.n_max);
  return { condensed_molecules: con, dilute_molecules: total - con, recovery_rate_per_s: rate, half_time_s: Math.LN2 / rate };
}

const fmt = (x, d = 3) => x.toFixed(d);
mkdirSync(OUT, { recursive: true });
const truth = { generator: 'scripts/generate-cohort.mjs', seed: SEED, molecules_per_uM: N_A_V, frame_interval_s: DT, frames: FRAMES, hexanediol: { dose: '1.5 %', t_on: T_HEX, fold_k_out: F_HEX, cells: 'odd' }, flavopiridol: { dose: `${FLAVO_NM} nM`, t_on: T_FLAVO, k_esc_factor: G_FLAVO, cells: 'even' }, patients: {} };
const design = ['patient,cell,drug,dose,t_on'];
const covariates = ['patient,MYC,BRD4,MED1'];
const times = Array.from({ length: FRAMES }, (_, i) => i * DT);

for (const p of PATIENTS) {
  const q = patientParams(p);
  covariates.push(`${p.id},${p.MYC},${p.BRD4},${p.MED1}`);
  const keys = 'LABEL,ID,TRACK_ID,QUALITY,POSITION_X,POSITION_Y,POSITION_Z,POSITION_T,FRAME,RADIUS,VISIBILITY,MEAN_INTENSITY_CH1,TOTAL_INTENSITY_CH1,MEAN_INTENSITY_CH2,TOTAL_INTENSITY_CH2';
  const names = 'Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame,Radius,Visibility,Mean intensity ch1,Sum intensity ch1,Mean intensity ch2,Sum intensity ch2';
  const short = 'Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame,R,Visibility,Mean ch1,Sum ch1,Mean ch2,Sum ch2';
  const units = ',,,(quality),(micron),(micron),(micron),(sec),,(micron),,(counts),(counts),(counts),(counts)';
  const rows = [];
  let spot = 0;
  const cells = [];
  for (let cell = 0; cell < 20; cell++) {
    const treated = cell % 2 === 1;
    design.push(treated ? `${p.id},${cell},hexanediol,1.5 %,${T_HEX}` : `${p.id},${cell},flavopiridol,${FLAVO_NM} nM,${T_FLAVO}`);
    const obs = {
      s1: lognormal(2.0, 0.25), b1: lognormal(300, 0.2), d1: 0.02 * normal(), k1: lognormal(2e-4, 0.3),
      s2: lognormal(20, 0.25), b2: lognormal(150, 0.2), d2: 0.01 * normal(), k2: lognormal(1.5e-4, 0.3), sigma1: 12, sigma2: 12,
    };
    const s = steadyCell(q);
    const x0 = 5 + 40 * rand(), y0 = 5 + 40 * rand();
    const samples = [];
    gillespie(q, s, 0, times[times.length - 1], treated ? T_HEX : undefined, times, (t, st) => samples.push({ t, con: st.con, rna: st.rna }), treated ? undefined : T_FLAVO);
    cells.push({ cell, treated, obs, mean: samples.reduce((a, v) => a + v.con, 0) / samples.length });
    const drop = new Set([Math.floor(rand() * FRAMES)]); // one dropped frame (a tracking gap) per cell
    samples.forEach(({ t, con, rna }, f) => {
      if (drop.has(f)) return;
      const ch1 = obs.b1 + obs.d1 * t + obs.s1 * con * Math.exp(-obs.k1 * t);
      const ch2 = obs.b2 + obs.d2 * t + obs.s2 * rna * Math.exp(-obs.k2 * t);
      const i1 = ch1 + Math.sqrt(Math.max(ch1, 1)) * normal() + obs.sigma1 * normal();
      const i2 = ch2 + Math.sqrt(Math.max(ch2, 1)) * normal() + obs.sigma2 * normal();
      spot++;
      rows.push(`ID${spot},${spot},${cell},${fmt(20 + 5 * rand())},${fmt(x0 + 0.05 * normal())},${fmt(y0 + 0.05 * normal())},0.000,${fmt(t, 1)},${f},0.400,1,${fmt(i1)},${fmt(i1 * 21)},${fmt(i2)},${fmt(i2 * 21)}`);
    });
  }
  for (let k = 0; k < 5; k++) { // untracked spots: detections never linked into a track
    const f = Math.floor(rand() * FRAMES);
    spot++;
    rows.push(`ID${spot},${spot},,${fmt(3 + rand())},${fmt(50 * rand())},${fmt(50 * rand())},0.000,${fmt(f * DT, 1)},${f},0.400,1,${fmt(250 + 30 * rand())},${fmt(5000 + 600 * rand())},${fmt(140 + 20 * rand())},${fmt(3000 + 400 * rand())}`);
  }
  writeFileSync(join(OUT, `${p.id}_spots.csv`), [keys, names, short, units, ...rows].join('\n') + '\n');
  // FRAP of one untreated cell: bleach the condensed molecules at 20 s, image every 0.5 s for 120 s.
  const f = steadyCell(q);
  const frap = ['Time\tROI1\tROI2\tROI3'];
  const frapTimes = Array.from({ length: 241 }, (_, i) => i * 0.5);
  const pre = frapTimes.filter((t) => t < 20);
  gillespie(q, f, 0, 20 - 1e-9, undefined, pre, (t, st) => frap.push(`${t}\t${fmt(100 + 3 * st.con + 5 * normal())}\t${fmt(100 + 3 * (st.con + st.dil) + 5 * normal())}\t${fmt(100 + 5 * normal())}`));
  f.bleached = f.con;
  const post = frapTimes.filter((t) => t >= 20);
  gillespie(q, f, 20, 120, undefined, post, (t, st) => {
    const visibleCon = st.con - st.bleached;
    frap.push(`${t}\t${fmt(100 + 3 * visibleCon + 5 * normal())}\t${fmt(100 + 3 * (visibleCon + st.dil - st.bleachedDil) + 5 * normal())}\t${fmt(100 + 5 * normal())}`);
  });
  writeFileSync(join(OUT, `${p.id}_frap.txt`), frap.join('\n') + '\n');
  truth.patients[p.id] = {
    covariates: { MYC: p.MYC, BRD4: p.BRD4, MED1: p.MED1 }, condensate_needed: p.condensate, generator: q,
    // Where the generator's parameters map onto the default model's (mean-field of the reactions above).
    maps_to: {
      c_sat: q.k_out / (q.k_in * N_A_V), k_syn: q.k_syn / N_A_V, k_deg: q.k_deg, k_esc: q.k_esc, k_term: q.k_term, k_R: q.k_R,
      k_phi: q.k_out,
    },
    // FRAP: the label relaxes between the pools at k_out + (entry rate of a dilute molecule), i.e.
    // k_out·(1 + C/D) at the mean-field steady state (a closed nucleus; double normalisation).
    frap: frapTruth(q),
    imaging: cells.map((c) => ({ cell: c.cell, drug: c.treated ? 'hexanediol' : 'flavopiridol', scale_ch1: c.obs.s1, offset_ch1: c.obs.b1, drift_ch1: c.obs.d1, bleach_ch1: c.obs.k1, scale_ch2: c.obs.s2, offset_ch2: c.obs.b2, drift_ch2: c.obs.d2, bleach_ch2: c.obs.k2 })),
  };
}
writeFileSync(join(OUT, 'design.csv'), design.join('\n') + '\n');
writeFileSync(join(OUT, 'covariates.csv'), covariates.join('\n') + '\n');
writeFileSync(join(OUT, 'truth.json'), JSON.stringify(truth, null, 1) + '\n');
console.log(`wrote ${OUT}: ${PATIENTS.length} patients × 20 cells (TrackMate spots), FRAP, design, covariates, truth.json (seed ${SEED})`);
