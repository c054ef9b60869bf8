/**
 * The default mechanistic model of a transcriptional condensate at a super-enhancer (DESIGN.md,
 * "The default condensate model"; equations, parameter table and sources in docs/model.md).
 *
 *   states  c    dilute-phase TF concentration            µM
 *           phi  condensate volume fraction (nucleus)     1
 *           P    fraction of target promoters with engaged Pol II   1
 *           R    nascent RNA at the locus (optional)      µM
 *
 *   T     = c·(1 − φ + K_p·φ)                     total TF; the dense phase holds c_den = K_p·c
 *   c*    = c_sat·u_csat·(1 + β r²)/(1 + α r),  r = R/K_R      reentrant RNA feedback
 *   s     = c/c* − 1                                supersaturation
 *   dφ/dt = k_φ·(s·φ + φ_nuc·max(s, 0))·(1 − φ/φ_max)       nucleation–growth / dissolution
 *   dc/dt = (k_syn − k_deg·u_deg·T − c·(K_p − 1)·dφ/dt) / (1 − φ + K_p·φ)   ⇔ dT/dt = k_syn − k_deg·u_deg·T
 *   dP/dt = k_rec·u_rec·φ/(K_φ + φ)·(1 − P) − (k_esc·u_esc + k_term)·P
 *   dR/dt = k_tx·u_esc·P − k_R·R,   output J = k_esc·u_esc·P  (RNA is made by released Pol II)
 *
 * The dilute equation is derived from the conservation law rather than posited, so the mechanistic
 * model conserves total TF exactly (up to synthesis/decay); a neural correction may not, which is
 * what the conservation penalty measures. u_* are the drug hooks (1 = untreated) that PK/PD drives.
 */
import { parseModel, type Model } from './model.js';

export interface CondensateOptions {
  /** Include nascent RNA R and its reentrant feedback on c* (default true). */
  rna?: boolean;
  /** Add a 3→16→16→3 tanh MLP on (c, φ, P) to dc/dt, dφ/dt, dP/dt (a UDE; default false). */
  neural?: boolean;
}

type Param = { value: number; unit: string; min: number; max: number; scale?: 'log'; estimate?: boolean; description: string; source: string };

/** Parameters: value, unit, plausible range, and where the number comes from (docs/model.md). */
export const CONDENSATE_PARAMS: Record<string, Param> = {
  c_sat: { value: 0.8, unit: 'uM', min: 0.05, max: 5, scale: 'log', estimate: true, description: 'saturation concentration of the TF/coactivator mixture without RNA', source: 'order of magnitude: MED1-IDR and BRD4-IDR form droplets in vitro at µM concentrations (Sabari 2018)' },
  K_p: { value: 100, unit: '1', min: 5, max: 500, scale: 'log', estimate: true, description: 'partition coefficient c_den/c (dense over dilute phase)', source: 'model choice; enrichment of clients in MED1 condensates of order 10–100× (Sabari 2018; Klein 2020 for small molecules)' },
  k_phi: { value: 0.05, unit: '1/s', min: 0.001, max: 1, scale: 'log', estimate: true, description: 'growth/dissolution rate constant of the condensed phase', source: 'set so 1.5% 1,6-hexanediol dissolves condensates within ~1–2 min (Sabari 2018; Cho 2018)' },
  phi_nuc: { value: 1e-4, unit: '1', min: 1e-6, max: 1e-2, scale: 'log', description: 'nucleation seed fraction (growth from φ = 0 above c*)', source: 'model choice (nucleation–growth reduction); affects onset time only' },
  phi_max: { value: 0.05, unit: '1', min: 0.01, max: 0.2, description: 'largest condensed volume fraction of the nucleus', source: 'model choice; super-enhancer condensates occupy ≪ 5% of the nucleus (Cho 2018)' },
  k_syn: { value: 1.925e-4, unit: 'uM/s', min: 1e-6, max: 1e-2, scale: 'log', estimate: true, description: 'TF synthesis', source: 'model choice: k_syn/k_deg = 1 µM total nuclear TF (order of magnitude)' },
  k_deg: { value: 1.925e-4, unit: '1/s', min: 1e-5, max: 1e-2, scale: 'log', estimate: true, description: 'TF degradation (half-life ln2/k_deg = 1 h)', source: 'MYC ~20–30 min (Sears 2000); most proteins hours or longer (Schwanhäusser 2011)' },
  k_rec: { value: 0.2, unit: '1/s', min: 0.01, max: 2, scale: 'log', estimate: true, description: 'Pol II recruitment rate at saturating condensate', source: 'model choice: with k_esc, k_term about 40% of target promoters engaged at steady state' },
  K_phi: { value: 0.005, unit: '1', min: 1e-4, max: 0.05, scale: 'log', description: 'condensate fraction at half-maximal recruitment', source: 'model choice, near the steady-state φ' },
  k_esc: { value: 0.1, unit: '1/s', min: 0.01, max: 1, scale: 'log', estimate: true, description: 'pause release into productive elongation (CDK9-dependent)', source: 'Pol II cluster dwell 1/(k_esc + k_term) ≈ 6 s: Cisse 2013 (~5 s), Cho 2016 (~8 s)' },
  k_term: { value: 0.067, unit: '1/s', min: 0.005, max: 1, scale: 'log', description: 'premature termination of engaged Pol II', source: 'as k_esc (dwell 5–8 s)' },
  k_tx: { value: 0.02, unit: 'uM/s', min: 1e-4, max: 1, scale: 'log', estimate: true, description: 'nascent RNA production per engaged promoter fraction at full pause release (∝ J)', source: 'set so steady RNA sits in the promoting (low-RNA) regime, r ≈ 1.5 (Henninger 2021)' },
  k_R: { value: 0.0058, unit: '1/s', min: 1e-4, max: 0.1, scale: 'log', description: 'nascent RNA turnover (half-life ~2 min)', source: 'nascent transcript dwell of minutes at the locus (Henninger 2021)' },
  K_R: { value: 1, unit: 'uM', min: 0.05, max: 20, scale: 'log', description: 'RNA scale of the feedback', source: 'model choice; Henninger 2021 (reentrant phase behaviour with RNA)' },
  alpha_R: { value: 1.5, unit: '1', min: 0, max: 10, description: 'low-RNA promotion of condensation (lowers c*)', source: 'Henninger 2021 (low RNA promotes MED1 condensates)' },
  beta_R: { value: 0.5, unit: '1', min: 0, max: 10, description: 'high-RNA dissolution (raises c*)', source: 'Henninger 2021 (high RNA dissolves condensates)' },
  u_csat: { value: 1, unit: '1', min: 0.1, max: 100, description: 'drug hook: multiplies c* (JQ1 via BRD4 eviction, 1,6-hexanediol)', source: '1,6-hexanediol dissolves MED1/BRD4 condensates (Sabari 2018); BET inhibition evicts BRD4 from super-enhancers (Lovén 2013)' },
  u_rec: { value: 1, unit: '1', min: 0, max: 1, description: 'drug hook: multiplies Pol II recruitment (JQ1, THZ1/CDK7)', source: 'Kwiatkowski 2014 (THZ1); Lovén 2013 (JQ1 at super-enhancers)' },
  u_esc: { value: 1, unit: '1', min: 0, max: 1, description: 'drug hook: multiplies pause release (flavopiridol/CDK9)', source: 'Chao & Price 2001 (flavopiridol inhibits P-TEFb)' },
  u_deg: { value: 1, unit: '1', min: 1, max: 1000, description: 'drug hook: multiplies TF degradation (dTAG, dBET6)', source: 'Nabet 2018 (dTAG); Winter 2017 (dBET6)' },
};

const RNA_PARAMS = ['k_tx', 'k_R', 'K_R', 'alpha_R', 'beta_R'];

/** The model as JSON (the full model form of DESIGN.md), for files, reports and `parseModel`.
 * @example
 * const json = JSON.stringify(condensateModelSpec({ rna: false }), null, 2); // a model file
 */
export function condensateModelSpec(options: CondensateOptions = {}): Record<string, unknown> {
  const rna = options.rna ?? true;
  const params = Object.fromEntries(Object.entries(CONDENSATE_PARAMS).filter(([k]) => rna || !RNA_PARAMS.includes(k)));
  const spec: Record<string, unknown> = {
    name: rna ? 'condensate' : 'condensate_no_rna',
    description: 'Transcriptional condensate at a super-enhancer: dilute TF, condensed fraction, engaged Pol II' + (rna ? ', nascent RNA with reentrant feedback' : ''),
    time_unit: 's',
    states: {
      c: { value: 1, unit: 'uM', min: 0, max: 10, description: 'dilute-phase TF concentration' },
      phi: { value: 0, unit: '1', min: 0, max: 1, description: 'condensate volume fraction of the nucleus' },
      P: { value: 0, unit: '1', min: 0, max: 1, description: 'fraction of target promoters with engaged Pol II' },
      ...(rna ? { R: { value: 0, unit: 'uM', min: 0, max: 100, description: 'nascent RNA at the locus' } } : {}),
    },
    params,
    expressions: {
      ...(rna ? { r: 'R/K_R' } : {}),
      c_star: rna ? 'c_sat*u_csat*(1 + beta_R*r^2)/(1 + alpha_R*r)' : 'c_sat*u_csat',
      s: 'c/c_star - 1',
      growth: 'k_phi*(s*phi + phi_nuc*max(s, 0))*(1 - phi/phi_max)',
      T_total: 'c*(1 - phi + K_p*phi)',
      occupancy: 'phi/(K_phi + phi)',
    },
    equations: {
      c: '(k_syn - k_deg*u_deg*T_total - c*(K_p - 1)*growth)/(1 - phi + K_p*phi)',
      phi: 'growth',
      P: 'k_rec*u_rec*occupancy*(1 - P) - (k_esc*u_esc + k_term)*P',
      ...(rna ? { R: 'k_tx*u_esc*P - k_R*R' } : {}),
    },
    observables: {
      J: { expression: 'k_esc*u_esc*P', unit: '1/s', description: 'transcriptional output (pause-release flux per promoter)' },
      total_TF: { expression: 'T_total', unit: 'uM' },
      condensed_TF: { expression: 'phi*K_p*c', unit: 'uM', description: 'TF in the dense phase per nuclear volume' },
      c_dense: { expression: 'K_p*c', unit: 'uM' },
      // What microscopes see (docs/observation.md): a tagged TF/coactivator in condensates (its
      // condensed amount) and MS2/PP7-tagged nascent RNA at the locus.
      condensate_intensity: { expression: 'phi*K_p*c', unit: 'uM', description: 'condensed TF per nuclear volume: what a tagged TF/coactivator channel images' },
      ...(rna ? { nascent_rna_intensity: { expression: 'R', unit: 'uM', description: 'nascent RNA at the locus: what an MS2/PP7 channel images' } } : {}),
    },
    conserved: {
      T: { expression: 'c*(1 - phi + K_p*phi)', rate: 'k_syn - k_deg*u_deg*T', unit: 'uM', description: 'total TF: synthesis and decay only' },
    },
  };
  // How `ctwin calibrate` fits this model to imaging data (docs/observation.md, "Calibration"):
  // - estimate: what time-lapse images of a condensate channel and an MS2 channel constrain. The
  //   absolute scales (K_p, k_syn, k_deg, k_tx) are confounded with each cell's intensity scale,
  //   so they stay at their values (their product is what the observation scale absorbs).
  // - preequilibration: cells enter the imaging window at steady state; 20 000 s ≈ 4/k_deg, and the
  //   TF starts at its synthesis–decay balance k_syn/k_deg with a seed of condensed phase.
  // - without_condensates: the same model with Pol II recruitment not going through condensates
  //   (occupancy ≡ 1; k_rec absorbs the constant), the alternative of the applicability test.
  spec.calibration = {
    estimate: ['c_sat', 'k_phi', 'k_rec', 'k_esc', ...(rna ? ['k_R'] : []), 'K_phi'],
    preequilibration: { duration: 20000, initial: { c: 'k_syn/k_deg', phi: 0.001 } },
    without_condensates: { expressions: { occupancy: '1' } },
    // FRAP of a condensate at steady state (docs/observation.md, "FRAP"): each condensed molecule
    // leaves at k_phi (the dissolution rate: dφ/dt = −k_phi·φ without dilute TF) and the label
    // relaxes between the two pools of a closed nucleus at k_out·(1 + C/D), C/D = K_p·φ/(1 − φ).
    frap: { recovery_rate: 'k_phi*(1 + K_p*phi/(1 - phi))' },
  };
  if (options.neural) {
    spec.neural = {
      inputs: ['c', 'phi', 'P'],
      // Scales well below the mechanistic rates (dc/dt ~ 1e-3 µM/s, dφ/dt ~ 1e-4 /s, dP/dt ~ 0.1 /s
      // while condensates form), so an untrained network perturbs the mechanism instead of replacing it.
      outputs: [{ state: 'c', scale: 1e-4 }, { state: 'phi', scale: 1e-6 }, { state: 'P', scale: 1e-3 }],
      hidden: [16, 16], activation: 'tanh', seed: 1,
    };
  }
  // A deep copy: the parameter entries came from CONDENSATE_PARAMS, and a caller that edits the
  // spec (a value, a bound) must not change the defaults of every later model.
  return structuredClone(spec);
}

/** The default condensate model, parsed and unit-checked.
 * @example
 * const ude = condensateModel({ neural: true }); // c, φ, P, R plus a 3→16→16→3 tanh network
 */
export const condensateModel = (options: CondensateOptions = {}): Model =>
  parseModel(condensateModelSpec(options), options.neural ? 'condensate (UDE)' : 'condensate');
