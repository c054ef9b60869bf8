/**
 * Per-patient twins from imaging data (DESIGN.md, `ctwin calibrate` and the twin file):
 *
 *  1. the cohort calibration of the model (./calibrate.ts);
 *  2. uncertainty by the Laplace approximation: the Hessian H of each patient's loss (profiled
 *     observation NLL + covariate prior) in the optimiser's unknowns x, by central differences of
 *     the adjoint gradient; Cov(x) ≈ H⁻¹ over the directions the data inform
 *     (src/training/identifiability.ts, `standardErrors`), carried to log p (log-scaled
 *     parameters) or p by the delta method; 95% intervals are ±1.96 SE on that scale;
 *  3. the applicability test: the same calibration of the model without the condensate mechanism
 *     (the model's `calibration.without_condensates` overrides; warm-started from the full fit, so
 *     the nested model starts where the full one ended), compared by Vuong's (1989) test with the
 *     cells as the independent units: d_c = ℓ_c(with) − ℓ_c(without), each cell's log-likelihood
 *     under each model's fitted observation parameters, and
 *       z = (Σ_c d_c − Δk) / (√C · sd(d)),   Δk = k_with − k_without (Akaike's correction),
 *     condensates needed when z > 2.33 (one-sided p < 0.01) and the gain is material: at least
 *     0.1 nats per measurement on average (the model with condensates gives the data ≥ e^0.1 ≈ 1.1×
 *     the likelihood per frame; with thousands of frames a significant gain can be negligible).
 *     Why cells and not frames: an image
 *     time series has strongly autocorrelated residuals (a molecule count drifts slowly against
 *     15-s frames, and a cell's misfit is systematic), so frames are not independent errors and a
 *     frame-level AIC over thousands of frames rewards any extra flexibility; cells are
 *     independent draws, and a mechanism the data need improves the fit consistently across them.
 *
 * Twin files are JSON validated by zod on load and written atomically; everything in them is a
 * function of the inputs, the options and the seed, so the same run gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError, writeFileAtomic } from '../io/csv.js';
import { median, naturalOrder, type LongRecord } from '../io/imaging.js';
import { jacobiEigen, standardErrorsOf } from '../training/identifiability.js';
import { transformFor } from '../training/optimize.js';
import { prepareCalibration, runCalibration, type CalibrateOptions, type CalibrationCheckpoint, type CalibrationResult, type PatientFit } from './calibrate.js';
import type { CellObservation } from './observation.js';

export const TWIN_SCHEMA = 'condensate-twin/twin@1';
export const COHORT_SCHEMA = 'condensate-twin/cohort@1';
/** Vuong's z above which the condensate mechanism is needed (one-sided p < 0.01). */
export const APPLICABILITY_THRESHOLD = 2.33;
/** The smallest material gain: mean log-likelihood gain per measurement, in nats. */
export const APPLICABILITY_MARGIN = 0.1;
/** A parameter is identifiable when its relative standard error (SE of log p) is at most this: a 95% interval within ×/÷ e^{1.96·0.5} ≈ 2.7. */
export const IDENTIFIABLE_SE = 0.5;

/** The model's own calibration settings (the `calibration` section of a model JSON). */
export const CalibrationSection = z.object({
  estimate: z.array(z.string()).min(1).optional(),
  preequilibration: z.object({ duration: z.number().nonnegative(), initial: z.record(z.string(), z.union([z.string(), z.number()])) }).optional(),
  without_condensates: z.object({ expressions: z.record(z.string(), z.string()).optional(), equations: z.record(z.string(), z.string()).optional() }).optional(),
  /** The recovery rate (1/s) of a bleached condensate in an untreated cell at t = 0, for FRAP curves. */
  frap: z.object({ recovery_rate: z.string().min(1) }).strict().optional(),
  /** The integrator (default tsit5; rodas4 or rosenbrock23 for stiff models, e.g. imported SBML ones). */
  method: z.enum(['rk4', 'bs3', 'dopri5', 'tsit5', 'vern6', 'rosenbrock23', 'rodas4']).optional(),
}).strict();
export type CalibrationSection = z.infer<typeof CalibrationSection>;

const num = z.number();
const ParamEntry = z.object({
  value: num, se: num.nullable(), ci95: z.tuple([num, num]).nullable(), identifiable: z.boolean(),
  scale: z.enum(['linear', 'log']), unit: z.string().optional(),
}).strict();
const ObservationEntry = z.object({ scale: num, offset: num, drift: num, bleach: num, sigma: num, n: z.number().int() }).strict();
const FrapEntry = z.object({
  curve: z.string(), rate: num, half_time_s: num, mobile_fraction: num, y0: num, sigma: num, r2: num.nullable(), n: z.number().int(), nll: num,
}).strict();
const PerObservable = z.object({ nll: num.nullable(), r2_fit: num.nullable(), r2_heldout: num.nullable(), rmse: num.nullable(), n: z.number().int() }).strict();

export const TwinFile = z.object({
  schema: z.literal(TWIN_SCHEMA),
  patient: z.string().min(1),
  model: z.record(z.string(), z.unknown()),
  params: z.record(z.string(), ParamEntry),
  /**
   * The Laplace covariance of the estimated parameters, each on its own scale (log p for log-scaled
   * parameters, p otherwise), over the directions the data inform (zero along the others): what
   * `ctwin combo` draws its uncertainty samples from. Optional: older twin files lack it, and then
   * the samples use the standard errors alone.
   */
  uncertainty: z.object({ names: z.array(z.string()), covariance: z.array(z.array(num)) }).strict().optional(),
  observation: z.object({
    equation: z.string(), bleach: z.enum(['cell', 'patient', 'none']), sigma: z.enum(['cell', 'patient']), drift: z.boolean(),
    cells: z.record(z.string(), z.object({ held_out: z.boolean(), condition: z.string(), r2: num.nullable(), observables: z.record(z.string(), ObservationEntry) }).strict()),
  }).strict(),
  weights: z.union([z.object({ values: z.array(num) }).strict(), z.object({ cohort: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict()]),
  applicability: z.object({
    condensate_needed: z.boolean().nullable(), criterion: z.string(), delta: num.nullable(),
    nll_with: num.nullable(), nll_without: num.nullable(), params_with: z.number().int(), params_without: z.number().int().nullable(),
    cells: z.number().int(), gain_per_measurement: num.nullable(),
  }).strict(),
  diagnostics: z.object({
    status: z.string(), r2_fit: num.nullable(), r2_heldout: num.nullable(), nll: num.nullable(), loss: num.nullable(),
    cells: z.number().int(), heldout_cells: z.number().int(), data_points: z.number().int(),
    per_observable: z.record(z.string(), PerObservable),
    /**
     * Eigenvalues of the loss's Hessian in the optimiser's unknowns (ascending; null when not
     * finite). One ≤ 0 means the end point is no smooth minimum (a cliff or fold of the loss), and
     * the parameters with weight in that direction get no interval.
     */
    hessian_eigenvalues: z.array(num).nullable(),
    /** FRAP curves at the twin's recovery rate (present when FRAP curves were fitted). */
    frap: z.array(FrapEntry).optional(),
  }).strict(),
  provenance: z.object({
    engine: z.literal('condensate-twin'), version: z.string(), model_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    data: z.array(z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict()),
    options: z.record(z.string(), z.unknown()), seed: z.number().int(),
  }).strict(),
}).strict();
export type TwinFile = z.infer<typeof TwinFile>;

export const CohortFile = z.object({
  schema: z.literal(COHORT_SCHEMA),
  patients: z.array(z.string()),
  estimated: z.array(z.string()),
  weights: z.array(num),
  covariate_map: z.object({ covariates: z.array(z.string()), intercept_and_slopes: z.array(z.array(num)), sd: z.array(num) }).strict().nullable(),
  model_sha256: z.string(),
  options: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
}).strict();
export type CohortFile = z.infer<typeof CohortFile>;

export interface TwinOptions extends Omit<CalibrateOptions, 'checkpoint'> {
  /** Input files (data, design, covariates, …) with their sha256, for the provenance. */
  dataFiles?: Array<{ file: string; sha256: string }>;
  /** Checkpoints per stage ('with', 'without'); see CalibrateOptions.checkpoint. */
  checkpoint?: { load(stage: string): CalibrationCheckpoint | undefined; save(stage: string, c: CalibrationCheckpoint): void };
  onStage?: (stage: 'with' | 'without' | 'uncertainty') => void;
}

export interface TwinsResult {
  twins: TwinFile[];
  cohort: CohortFile;
  /** The bytes of cohort.json (the twins hold its sha256). */
  cohortText: string;
  summary: Array<{ patient: string; cells: number; heldout_cells: number; r2_fit: number; r2_heldout: number; nll: number; condensate_needed: boolean | null; status: string }>;
}

/** sha256 of a file's bytes or of a string, hex. */
export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
export const sha256File = (path: string) => sha256(readFileSync(path));

/** JSON with keys sorted at every level: the model hash does not depend on key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

const engineVersion = () => (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
/** JSON has no NaN or ∞: those become null. */
const orNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Starts of the fit without condensates: half the full fit's (the first warm-started from it). */
export const withoutStarts = (starts: number) => Math.max(1, Math.ceil(starts / 2));

/** The calibration section of a spec, validated (an InputError names the bad field). */
export function calibrationSection(spec: Record<string, unknown>, file = 'model'): CalibrationSection {
  const r = CalibrationSection.safeParse(spec.calibration ?? {});
  if (!r.success) throw new InputError(`${file}: calibration section: ${r.error.issues.map((i) => `${i.path.join('.') || '(section)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** The spec with the condensate mechanism switched off by the section's overrides. */
function withoutCondensates(spec: Record<string, unknown>, over: NonNullable<CalibrationSection['without_condensates']>): Record<string, unknown> {
  const out = structuredClone(spec) as Record<string, unknown> & { expressions?: Record<string, string>; equations: Record<string, string> };
  for (const [k, v] of Object.entries(over.expressions ?? {})) {
    if (!out.expressions || !(k in out.expressions)) throw new InputError(`calibration.without_condensates: the model has no expression "${k}"`);
    out.expressions[k] = v;
  }
  for (const [k, v] of Object.entries(over.equations ?? {})) {
    if (!(k in out.equations)) throw new InputError(`calibration.without_condensates: the model has no equation for "${k}"`);
    out.equations[k] = v;
  }
  return out;
}

/** Does any expression of the spec still mention `name`? */
function mentions(spec: Record<string, unknown>, name: string): boolean {
  const texts: string[] = [];
  const collect = (v: unknown) => {
    if (typeof v === 'string') texts.push(v);
    else if (v && typeof v === 'object') for (const [k, w] of Object.entries(v)) if (k !== 'description' && k !== 'source' && k !== 'unit') collect(w);
  };
  for (const k of ['expressions', 'equations', 'observables', 'conserved']) collect(spec[k]);
  const re = new RegExp(`\\b${name}\\b`);
  return texts.some((t) => re.test(t));
}

interface LaplaceFit { se: number[]; eigenvalues: number[] | null; covariance: Float64Array | null }

/**
 * H⁺ over the informed directions (those `standardErrorsOf` keeps: λ > 1e-8·λ_max): Σ_j v_j v_jᵀ/λ_j.
 * A draw from N(x̂, H⁺) moves only along directions the data inform; the others stay at x̂.
 */
function informedCovariance({ values, vectors }: { values: number[]; vectors: Float64Array }, K: number): Float64Array {
  const lmax = Math.max(...values), C = new Float64Array(K * K);
  for (let j = 0; j < K; j++) {
    if (!(values[j]! > 1e-8 * lmax)) continue;
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) C[a * K + b]! += vectors[a * K + j]! * vectors[b * K + j]! / values[j]!;
  }
  return C;
}

/**
 * Laplace approximation at each patient's optimum: H by central differences (step h in x) of the
 * adjoint gradient, all patients × 2K points in one batch; returns per patient the SE of each x.
 */
async function laplace(setup: ReturnType<typeof prepareCalibration>, result: CalibrationResult, h = 1e-2): Promise<LaplaceFit[]> {
  const { K, evaluateRows } = setup;
  const P = result.patients.length;
  const rowPatient: number[] = [], xs = new Float64Array(P * 2 * K * K);
  result.patients.forEach((fit, p) => {
    for (let k = 0; k < K; k++) for (const sign of [1, -1]) {
      const r = rowPatient.length;
      rowPatient.push(p);
      xs.set(fit.x, r * K);
      xs[r * K + k]! += sign * h;
    }
  });
  const e = await evaluateRows(xs, rowPatient, undefined, true, result.prior);
  return result.patients.map((_, p) => {
    const H = new Float64Array(K * K);
    for (let k = 0; k < K; k++) {
      const up = (p * K + k) * 2, down = up + 1;
      for (let j = 0; j < K; j++) H[j * K + k] = (e.gx[up * K + j]! - e.gx[down * K + j]!) / (2 * h);
    }
    for (let a = 0; a < K; a++) for (let b = a + 1; b < K; b++) { const m = 0.5 * (H[a * K + b]! + H[b * K + a]!); H[a * K + b] = m; H[b * K + a] = m; }
    if (!H.every(Number.isFinite)) return { se: new Array<number>(K).fill(Infinity), eigenvalues: null, covariance: null };
    const eigen = jacobiEigen(H, K);
    return { se: standardErrorsOf(eigen, K), eigenvalues: [...eigen.values].sort((a, b) => a - b), covariance: informedCovariance(eigen, K) };
  });
}

/**
 * Calibrates the cohort and builds one twin per patient: parameters with Laplace uncertainty and
 * identifiability, the applicability test against the model without condensates, diagnostics and
 * provenance (see the file comment).
 * @example
 * const { records } = await readImaging('examples/cohort/P01_spots.csv');
 * const { twins, summary } = await calibrateTwins(records, { spec: condensateModelSpec(), seed: 1 });
 * twins[0]?.params.c_sat?.ci95; twins[0]?.applicability.condensate_needed; summary[0]?.r2_heldout;
 */
export async function calibrateTwins(records: LongRecord[], options: TwinOptions): Promise<TwinsResult> {
  const section = calibrationSection(options.spec);
  const base: CalibrateOptions = {
    ...options, estimate: options.estimate ?? section.estimate, preequilibration: options.preequilibration ?? section.preequilibration,
    method: options.method ?? section.method,
    frapRate: options.frapRate ?? section.frap?.recovery_rate, checkpoint: undefined,
  };
  const stageStore = (stage: string) => options.checkpoint && { load: () => options.checkpoint!.load(stage), save: (c: CalibrationCheckpoint) => options.checkpoint!.save(stage, c) };

  options.onStage?.('with');
  const setup = prepareCalibration(records, base);
  const result = await runCalibration(setup, { ...base, checkpoint: stageStore('with') });
  options.onStage?.('uncertainty');
  const laplaceFits = await laplace(setup, result);

  // The alternative without condensates: the same data, holdout and starts; parameters that no
  // expression mentions any more are dropped from the fit.
  let without: CalibrationResult | undefined;
  if (section.without_condensates) {
    options.onStage?.('without');
    const spec = withoutCondensates(options.spec, section.without_condensates);
    const estimate = result.estimated.filter((n) => mentions(spec, n));
    const w = { ...base, spec, estimate, starts: withoutStarts(base.starts ?? 4), startFrom: result.patients.map((p) => p.params) };
    without = await runCalibration(prepareCalibration(records, w), { ...w, checkpoint: stageStore('without') });
  }
  return assemble({ ...options, preequilibration: base.preequilibration, frapRate: base.frapRate }, result, laplaceFits, without);
}

/** Twin files, cohort.json and the summary rows from the fits. */
function assemble(options: TwinOptions, result: CalibrationResult, laplaceFits: LaplaceFit[], without: CalibrationResult | undefined): TwinsResult {
  const model = result.model, seed = options.seed ?? 1;
  const modelHash = sha256(canonicalJson(options.spec));
  const recorded = {
    estimate: result.estimated, starts: options.starts ?? 4, holdout: options.holdout ?? 0.2, rounds: options.rounds ?? 4,
    iterations_per_round: options.iterationsPerRound ?? 10, backend: options.backend ?? 'auto',
    observation: { bleach: options.observation?.bleach ?? 'cell', sigma: options.observation?.sigma ?? 'patient', drift: options.observation?.drift ?? true },
    preequilibration: options.preequilibration ?? null, frap_recovery_rate: options.frapRate ?? null,
    rtol: options.rtol ?? 1e-7, atol: options.atol ?? 1e-10, observe: options.observe ?? null, method: options.method ?? 'tsit5',
  };
  const cohort: CohortFile = {
    schema: COHORT_SCHEMA, patients: result.patients.map((p) => p.patient), estimated: result.estimated,
    weights: result.weights,
    covariate_map: result.prior && result.covariateNames
      ? { covariates: result.covariateNames, intercept_and_slopes: result.prior.coef, sd: result.prior.sd } : null,
    model_sha256: modelHash, options: recorded, seed,
  };
  const cohortText = JSON.stringify(cohort, null, 2) + '\n';
  const cohortHash = sha256(cohortText);
  const twins: TwinFile[] = [], summary: TwinsResult['summary'] = [];
  result.patients.forEach((fit, p) => {
    const params: TwinFile['params'] = {};
    const dudx: number[] = [];
    result.estimated.forEach((name, k) => {
      const q = model.params.find((x) => x.name === name)!;
      const log = q.scale === 'log';
      // The optimiser's unknown x is a logit of the (log-)parameter u within its bounds
      // (src/training/optimize.ts, transformFor): SE(u) = SE(x)·du/dx (delta method).
      const value = fit.params[name]!, dpdx = transformFor(q).dpdx(fit.x[k]!);
      dudx.push(log ? dpdx / value : dpdx);
      const s = laplaceFits[p]!.se[k]! * Math.abs(dudx[k]!);
      const finite = Number.isFinite(s);
      params[name] = {
        value, se: finite ? (log ? value * s : s) : null,
        ci95: finite ? (log ? [value * Math.exp(-1.96 * s), value * Math.exp(1.96 * s)] : [value - 1.96 * s, value + 1.96 * s]) : null,
        identifiable: finite && (log ? s : s / Math.abs(value)) <= IDENTIFIABLE_SE,
        scale: log ? 'log' : 'linear', ...(q.unit && q.unit !== '1' ? { unit: q.unit } : {}),
      };
    });
    // The same covariance on the scale of each parameter (log p or p): Cov(u) = D·H⁺·D, D = du/dx.
    const Cx = laplaceFits[p]!.covariance, K = result.estimated.length;
    const uncertainty: TwinFile['uncertainty'] = Cx ? {
      names: result.estimated,
      covariance: Array.from({ length: K }, (_, a) => Array.from({ length: K }, (_, b) => Cx[a * K + b]! * dudx[a]! * dudx[b]!)),
    } : undefined;
    const alt = without?.patients[p];
    const applicability = applicabilityOf(fit, alt, result.estimated.length, without?.estimated.length ?? null);
    const observables = [...new Set(fit.cells.flatMap((c) => Object.keys(c.observations)))].sort();
    const perObservable: TwinFile['diagnostics']['per_observable'] = {};
    for (const o of observables) {
      const r2Of = (held: boolean) => median(fit.cells.filter((c) => c.heldOut === held && c.observations[o]).map((c) => { const x = c.observations[o]!; return 1 - x.rss / x.tss; }));
      const fitted = fit.cells.filter((c) => !c.heldOut && c.observations[o]).map((c) => c.observations[o]!);
      const n = fitted.reduce((a, x) => a + x.n, 0), rss = fitted.reduce((a, x) => a + x.rss, 0);
      perObservable[o] = { nll: orNull(fit.nllByObservable[o] ?? NaN), r2_fit: orNull(r2Of(false)), r2_heldout: orNull(r2Of(true)), rmse: orNull(Math.sqrt(rss / n)), n };
    }
    if (fit.frap.length > 0) {
      const n = fit.frap.reduce((a, f) => a + f.n, 0), rss = fit.frap.reduce((a, f) => a + f.rss, 0);
      perObservable.frap_recovery = { nll: orNull(fit.nllByObservable.frap_recovery ?? NaN), r2_fit: orNull(median(fit.frap.map((f) => 1 - f.rss / f.tss))), r2_heldout: null, rmse: orNull(Math.sqrt(rss / n)), n };
    }
    const cells: TwinFile['observation']['cells'] = {};
    for (const c of fit.cells) {
      cells[c.cell] = {
        held_out: c.heldOut, condition: c.condition, r2: orNull(c.r2),
        observables: Object.fromEntries(Object.entries(c.observations).map(([o, x]) => [o, { scale: x.scale, offset: x.offset, drift: x.drift, bleach: x.bleach, sigma: x.sigma, n: x.n }])),
      };
    }
    const heldout = fit.cells.filter((c) => c.heldOut).length;
    twins.push({
      schema: TWIN_SCHEMA, patient: fit.patient, model: options.spec, params,
      ...(uncertainty ? { uncertainty } : {}),
      observation: { equation: 'z(t) = scale·exp(−bleach·t)·h(t) + offset + drift·t + ε, ε ~ N(0, sigma²)', ...recorded.observation, cells },
      weights: { cohort: 'cohort.json', sha256: cohortHash },
      applicability,
      diagnostics: {
        status: fit.status, r2_fit: orNull(fit.r2Fit), r2_heldout: orNull(fit.r2Heldout), nll: orNull(fit.nll), loss: orNull(fit.loss),
        cells: fit.cells.length - heldout, heldout_cells: heldout, data_points: fit.data, per_observable: perObservable,
        hessian_eigenvalues: laplaceFits[p]!.eigenvalues,
        ...(fit.frap.length > 0 ? {
          frap: fit.frap.map((f) => ({ curve: f.cell, rate: f.rate, half_time_s: f.halfTime, mobile_fraction: f.mobile, y0: f.y0, sigma: f.sigma, r2: orNull(1 - f.rss / f.tss), n: f.n, nll: f.nll })),
        } : {}),
      },
      provenance: { engine: 'condensate-twin', version: engineVersion(), model_sha256: modelHash, data: options.dataFiles ?? [], options: recorded, seed },
    });
    summary.push({ patient: fit.patient, cells: fit.cells.length - heldout, heldout_cells: heldout, r2_fit: fit.r2Fit, r2_heldout: fit.r2Heldout, nll: fit.nll, condensate_needed: applicability.condensate_needed, status: fit.status });
  });
  return { twins, cohort, cohortText, summary };
}

/**
 * The applicability test of the file comment: Vuong's z over the fitted cells and the mean gain
 * per measurement of the fit with condensates (`full`) over the fit without (`alt`).
 * @example
 * const { records } = await readImaging('examples/cohort/P06_spots.csv');
 * const spec = condensateModelSpec(), estimate = ['c_sat', 'k_phi', 'k_rec', 'k_esc', 'k_R'];
 * const withFit = (await calibrate(records, { spec, estimate: [...estimate, 'K_phi'] })).patients[0]!;
 * const without = { ...spec, expressions: { ...(spec.expressions as Record<string, string>), occupancy: '1' } };
 * const withoutFit = (await calibrate(records, { spec: without, estimate })).patients[0]!;
 * const a = applicabilityOf(withFit, withoutFit, 6, 5);
 * a.condensate_needed; a.delta; // Vuong's z
 */
export function applicabilityOf(full: PatientFit, alt: PatientFit | undefined, kWith: number, kWithout: number | null): TwinFile['applicability'] {
  const gains = alt ? cellGains(full, alt) : [];
  const delta = alt && kWithout !== null ? vuong(gains, kWith - kWithout) : NaN;
  const perMeasurement = gains.reduce((a, v) => a + v, 0) / full.data;
  return {
    condensate_needed: Number.isNaN(delta) ? null : delta > APPLICABILITY_THRESHOLD && perMeasurement > APPLICABILITY_MARGIN,
    criterion: alt
      ? `Vuong's z over the fitted cells: z = (Σ d_c − Δk)/(√C·sd(d)), d_c = log-likelihood of cell c with condensates − without; condensates needed when z > ${APPLICABILITY_THRESHOLD} (one-sided p < 0.01) and Σ d_c per measurement > ${APPLICABILITY_MARGIN} nats`
      : 'not assessed: the model has no calibration.without_condensates section',
    delta: orNull(delta), nll_with: orNull(full.nll), nll_without: alt ? orNull(alt.nll) : null,
    params_with: kWith, params_without: kWithout, cells: gains.length,
    gain_per_measurement: gains.length ? orNull(perMeasurement) : null,
  };
}

/** Per fitted cell: its log-likelihood under the full fit minus that under the alternative. */
function cellGains(full: PatientFit, alt: PatientFit): number[] {
  const ll = (o: CellObservation) => -0.5 * o.n * Math.log(2 * Math.PI * o.sigma * o.sigma) - o.rss / (2 * o.sigma * o.sigma);
  return full.cells.filter((c) => !c.heldOut).map((c) => {
    const other = alt.cells.find((x) => x.cell === c.cell)!;
    return Object.keys(c.observations).reduce((a, o) => a + ll(c.observations[o]!) - ll(other.observations[o]!), 0);
  });
}

/** Vuong's statistic for per-unit log-likelihood ratios d, with Akaike's correction Δk. */
function vuong(d: number[], dk: number): number {
  const C = d.length;
  if (C < 2) return NaN;
  const mean = d.reduce((a, v) => a + v, 0) / C;
  const sd = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / (C - 1));
  // No spread (e.g. the same fit twice): the sign of the total decides.
  if (sd === 0) return C * mean - dk > 0 ? Infinity : C * mean - dk < 0 ? -Infinity : 0;
  return (C * mean - dk) / (Math.sqrt(C) * sd);
}

/** Formats a summary number for the CSV (empty when not defined). */
const cell = (v: number | boolean | null | string) => (v === null || (typeof v === 'number' && !Number.isFinite(v)) ? '' : String(v));

/**
 * Writes cohort.json, `<patient>.twin.json` and summary.csv into `dir`, each atomically (a
 * temporary file renamed into place), cohort.json first so every twin's hash refers to a file
 * that exists.
 * @example
 * const { records } = await readImaging('examples/cohort/P01_spots.csv');
 * writeTwins('twins/', await calibrateTwins(records, { spec: condensateModelSpec() }));
 */
export function writeTwins(dir: string, out: TwinsResult): void {
  writeFileAtomic(join(dir, 'cohort.json'), (w) => w(out.cohortText));
  for (const t of out.twins) writeFileAtomic(join(dir, `${t.patient}.twin.json`), (w) => w(JSON.stringify(t, null, 2) + '\n'));
  const header = 'patient,cells,heldout_cells,r2_fit,r2_heldout,nll,condensate_needed,status\n';
  writeFileAtomic(join(dir, 'summary.csv'), (w) => {
    w(header);
    for (const s of out.summary) w([s.patient, s.cells, s.heldout_cells, s.r2_fit, s.r2_heldout, s.nll, s.condensate_needed, s.status].map(cell).join(',') + '\n');
  });
}

/**
 * Reads and validates a twin file: an InputError names the file and each field that is wrong.
 * @example
 * const twin = readTwin('twins/P01.twin.json');
 * twin.params.c_sat?.value; twin.applicability.condensate_needed;
 */
export function readTwin(path: string): TwinFile {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) { throw new InputError(`${path}: cannot read (${(err as Error).message})`); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (err) { throw new InputError(`${path}: not JSON (${(err as Error).message}); a twin file is written by ctwin calibrate`); }
  const r = TwinFile.safeParse(json);
  if (!r.success) {
    throw new InputError(`${path}: not a valid ${TWIN_SCHEMA} file: ${r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/**
 * Every `*.twin.json` of a folder (sorted by patient), validated, with the shared neural weights of
 * the cohort.json they refer to (its sha256 checked). An InputError names the file that is wrong.
 * @example
 * const { twins, weights } = readTwins('twins/');
 * twins.map((t) => t.patient); // ['P01', 'P02', …]
 */
export function readTwins(dir: string): { twins: TwinFile[]; weights: Record<string, number[]> } {
  let names: string[];
  try { names = readdirSync(dir).filter((f) => f.endsWith('.twin.json')); } catch (err) { throw new InputError(`${dir}: cannot read the twins folder (${(err as Error).message}); give the --out folder of ctwin calibrate`); }
  if (names.length === 0) throw new InputError(`${dir}: no *.twin.json files; give the --out folder of ctwin calibrate`);
  const twins = names.map((f) => readTwin(join(dir, f))).sort((a, b) => naturalOrder.compare(a.patient, b.patient));
  const seen = new Set<string>();
  for (const t of twins) { if (seen.has(t.patient)) throw new InputError(`${dir}: two twin files for patient ${t.patient}`); seen.add(t.patient); }
  const weights: Record<string, number[]> = {};
  for (const t of twins) {
    if ('values' in t.weights) { weights[t.patient] = t.weights.values; continue; }
    const path = join(dir, t.weights.cohort);
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch { throw new InputError(`${join(dir, `${t.patient}.twin.json`)}: its weights are in ${t.weights.cohort}, which is missing from ${dir}`); }
    if (sha256(text) !== t.weights.sha256) throw new InputError(`${path}: its sha256 differs from the one twin ${t.patient} records; the twins and cohort.json come from different calibrations`);
    const r = CohortFile.safeParse(JSON.parse(text));
    if (!r.success) throw new InputError(`${path}: not a valid ${COHORT_SCHEMA} file: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
    weights[t.patient] = r.data.weights;
  }
  return { twins, weights };
}
