/**
 * In-silico drug-combination screens on twins (DESIGN.md `ctwin combo`, docs/combo.md):
 * twins × drug pairs (or triples) × a dose grid × uncertainty samples of each twin's parameters,
 * integrated as one batched ensemble (GPU when there is one), chunked, with progress.
 *
 * Per twin, samples s = 0 … S: s = 0 is the twin's estimate ("nominal"), s ≥ 1 are draws of the
 * estimated parameters u (log p for log-scaled parameters, p otherwise) from the Laplace
 * approximation N(û, Σ) stored in the twin file (`uncertainty`; directions the data do not inform
 * stay at û), clamped to each parameter's bounds. Every sample is pre-equilibrated untreated (the
 * model's `calibration.preequilibration`), then every distinct treatment of the screen is given as
 * a bolus at t = 0 and integrated to t1. The untreated run of the same sample is the reference:
 *
 *   response = 100 · (1 − X_treated / X_untreated)   (% inhibition; negative = the readout rose)
 *
 * Readouts X: `output_auc` = ∫₀^t1 J dt (transcriptional output, pause-release events per
 * promoter; an accumulator state dA/dt = J added to the model), `condensate` = φ(t_at) and
 * `pol2` = P(t_at) (engaged Pol II), with t_at = `at` (default t1). Other states or observables
 * can be read as `auc:<name>` or `<name>@<t>`.
 *
 * Doses: per drug `doses` levels, 0 and then `doses − 1` log-spaced over the library's range
 * (the range over which its PD was set; doses outside it are refused). A drug named twice in a
 * combination is the sham combination: the two doses add (a drug with itself).
 */
import { mathjs } from '../physics/mathjs.js';
import { parseModel, type Model } from '../physics/model.js';
import { splitmix32 } from '../physics/neural.js';
import { makeProblem } from '../solvers/problem.js';
import { solve } from '../solvers/solve.js';
import { STATUS, STATUS_NAMES } from '../methods/status.js';
import type { MethodName } from '../methods/tableaus.js';
import { compileObservable } from '../training/loss.js';
import { jacobiEigen } from '../training/identifiability.js';
import { InputError } from '../io/csv.js';
import { bundledDrugs, drugById, drugParam, treatmentParams, withDrugs, type DrugLibrary, type Treatment } from './drugs.js';
import { calibrationSection, type TwinFile } from './twin.js';

/** A readout of one trajectory: the integral of a state/observable over [0, t1], or its value at a time. */
export type Readout = { name: string; kind: 'auc'; of: string } | { name: string; kind: 'at'; of: string; t: number };

export interface ComboOptions {
  /** Drug combinations: pairs or triples of library ids (case-insensitive). */
  combinations: string[][];
  library?: DrugLibrary;
  /** Dose levels per drug, 0 included (default 8: 0 and 7 log-spaced over the library's range). */
  doses?: number;
  /** Per drug id, [lowest, highest] non-zero dose; must lie within the library's range. */
  doseRanges?: Record<string, [number, number]>;
  /** Uncertainty samples per twin besides the nominal twin (default 32). */
  samples?: number;
  seed?: number;
  /** End of the simulated treatment, seconds (default 86 400: 24 h). */
  t1?: number;
  /** Time of the `condensate` and `pol2` readouts, seconds (default t1). */
  at?: number;
  /** Readout names (default ['output_auc']); see the file comment. */
  readouts?: string[];
  backend?: 'auto' | 'cpu' | 'gpu';
  /** Integrator (default rodas4: the model is stiff over a day, see the file comment). */
  method?: MethodName;
  rtol?: number;
  atol?: number;
  /** Shared neural weights per patient (from cohort.json, `readTwins`); needed for models with a neural term. */
  weights?: Record<string, ArrayLike<number>>;
  /** Trajectories per solve (default 65 536): bounds memory; progress is reported per chunk. */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Resumable screens (`ctwin combo --resume`): `save` is called after every chunk with the readout
   * values of the twin group's first `done` trajectories; `load` returns what was saved. Every
   * trajectory is integrated on its own, so a resumed screen gives the same numbers.
   */
  checkpoint?: { load(group: number): ComboCheckpoint | undefined; save(group: number, c: ComboCheckpoint): void };
}

/** One twin × one combination × one readout: the response over the dose grid, nominal and per sample. */
/** A twin group's screen so far: readout values (one array per readout) of its first `done` trajectories. */
export interface ComboCheckpoint { done: number; values: Float64Array[] }

export interface ComboBlock {
  patient: string;
  drugs: string[];
  units: string[];
  readout: string;
  /** Dose levels per drug, ascending from 0. */
  doses: number[][];
  /** % inhibition of the nominal twin over the grid, row-major (the last drug varies fastest). */
  nominal: Float64Array;
  /** samples × grid cells, the same layout per sample; NaN for a sample left out (see `dropped`). */
  samples: Float64Array;
  /** Samples whose untreated readout was 0 (the twin's off state): no % inhibition, left out. */
  dropped: number;
}

export interface ComboResult {
  blocks: ComboBlock[];
  readouts: Readout[];
  patients: string[];
  drugs: Record<string, { name: string; unit: string; levels: number[] }>;
  samples: number;
  /** Which estimated parameters vary across samples, per patient (the others were not informed by the data). */
  sampled: Record<string, string[]>;
  trajectories: number;
  timing: { prepareMs: number; simulateMs: number; backend: string };
}

/** Readout names understood without a model-specific form (the default condensate model's). */
export const NAMED_READOUTS: Record<string, { kind: 'auc' | 'at'; of: string; description: string; unit: string }> = {
  output_auc: { kind: 'auc', of: 'J', description: 'transcriptional output: ∫ J dt over the treatment', unit: 'events per promoter' },
  condensate: { kind: 'at', of: 'phi', description: 'condensate volume fraction φ', unit: '1' },
  pol2: { kind: 'at', of: 'P', description: 'engaged Pol II: fraction of target promoters P', unit: '1' },
};

/**
 * Parses readout names: `output_auc`, `condensate`, `pol2`, `auc:<name>`, `<name>@<seconds>`.
 * @example
 * parseReadouts(['output_auc', 'phi@60'], 86400, 86400);
 * // [{ name: 'output_auc', kind: 'auc', of: 'J' }, { name: 'phi@60', kind: 'at', of: 'phi', t: 60 }]
 */
export function parseReadouts(names: string[], t1: number, at: number): Readout[] {
  return names.map((raw) => {
    const name = raw.trim();
    const named = NAMED_READOUTS[name];
    if (named) return named.kind === 'auc' ? { name, kind: 'auc', of: named.of } : { name, kind: 'at', of: named.of, t: at };
    if (name.startsWith('auc:') && name.length > 4) return { name, kind: 'auc', of: name.slice(4) };
    const m = /^([A-Za-z_][A-Za-z0-9_]*)@([0-9.eE+]+)$/.exec(name);
    if (m) {
      const t = Number(m[2]);
      if (!(t >= 0 && t <= t1)) throw new InputError(`readout ${name}: the time ${m[2]} s must lie within [0, t1 = ${t1}] s`);
      return { name, kind: 'at', of: m[1]!, t };
    }
    throw new InputError(`unknown readout "${name}"; use ${Object.keys(NAMED_READOUTS).join(', ')}, auc:<state or observable>, or <state or observable>@<seconds>`);
  });
}

/**
 * `n` dose levels: 0, then n − 1 log-spaced from lo to hi (hi exact).
 * @example
 * doseLevels(10, 1000, 4); // [0, 10, 100, 1000]
 */
export function doseLevels(lo: number, hi: number, n: number): number[] {
  if (!(n >= 2) || !Number.isInteger(n)) throw new InputError(`--doses must be an integer ≥ 2 (0 and at least one dose); got ${n}`);
  if (n === 2) return [0, hi];
  return [0, ...Array.from({ length: n - 1 }, (_, k) => (k === n - 2 ? hi : lo * (hi / lo) ** (k / (n - 2))))];
}

/** Standard normal draws from a seeded uniform generator (Box–Muller). */
function normals(rand: () => number) {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) { const v = spare; spare = undefined; return v; }
    const u1 = Math.max(rand(), 1e-300), u2 = rand(), r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/**
 * Parameter vectors (model order) of a twin's nominal estimate and `samples` draws from its Laplace
 * approximation (see the file comment); row 0 is the estimate. `sampled` lists the estimated
 * parameters that vary.
 * @example
 * const twin = readTwin('twins/P01.twin.json'), model = parseModel(twin.model);
 * const { params } = sampleTwinParams(twin, model, 32, 1); // 33 × P, row 0 = the estimate
 */
export function sampleTwinParams(twin: TwinFile, model: Model, samples: number, seed: number): { params: Float64Array; sampled: string[] } {
  const P = model.params.length;
  const base = twinParams(twin, model);
  const out = new Float64Array((samples + 1) * P);
  for (let s = 0; s <= samples; s++) out.set(base, s * P);
  // Covariance on each parameter's scale: the stored Laplace covariance, else the SEs alone.
  const names = twin.uncertainty?.names ?? Object.keys(twin.params);
  const K = names.length;
  const log = names.map((n) => twin.params[n]?.scale === 'log');
  const C = new Float64Array(K * K);
  if (twin.uncertainty) twin.uncertainty.covariance.forEach((row, a) => row.forEach((v, b) => { C[a * K + b] = v; }));
  else names.forEach((n, a) => { const e = twin.params[n]!; if (e.se !== null) C[a * K + a] = (log[a] ? e.se / e.value : e.se) ** 2; });
  // Σ = V Λ Vᵀ; a draw is û + V √Λ z over the directions with λ > 0.
  const { values, vectors } = jacobiEigen(C, K);
  const lmax = Math.max(0, ...values);
  const keep = values.map((l) => l > 1e-12 * lmax && l > 0);
  const sampled = names.filter((_, a) => keep.some((k, j) => k && Math.abs(vectors[a * K + j]!) > 1e-6));
  const idx = names.map((n) => {
    const i = model.params.findIndex((q) => q.name === n);
    if (i < 0) throw new InputError(`twin ${twin.patient}: its uncertainty names "${n}", which is not a parameter of its model`);
    return i;
  });
  const gauss = normals(splitmix32(seed));
  for (let s = 1; s <= samples; s++) {
    const z = values.map((l, j) => (keep[j] ? Math.sqrt(l) * gauss() : 0));
    idx.forEach((i, a) => {
      let du = 0;
      for (let j = 0; j < K; j++) du += vectors[a * K + j]! * z[j]!;
      const q = model.params[i]!, u0 = base[i]!;
      const p = log[a] ? u0 * Math.exp(du) : u0 + du;
      out[s * P + i] = Math.min(Math.max(p, q.min ?? -Infinity), q.max ?? Infinity);
    });
  }
  return { params: out, sampled };
}

/** A twin's parameter vector (model order) under treatments: its estimates, the drugs' doses and times. */
export function twinParams(twin: TwinFile, model: Model, treatments: Treatment[] = [], library?: DrugLibrary): Float64Array {
  const p = Float64Array.from(model.params, (q) => twin.params[q.name]?.value ?? q.value);
  if (treatments.length === 0) return p;
  const drug = treatmentParams(library ?? bundledDrugs(), treatments);
  model.params.forEach((q, i) => { if (drug[q.name] !== undefined) p[i] = drug[q.name]!; });
  return p;
}

/** The model spec with an accumulator state `auc_<of>` (dA/dt = of) per AUC readout. */
function withAccumulators(spec: Record<string, unknown>, readouts: Readout[]): Record<string, unknown> {
  const out = structuredClone(spec) as Record<string, unknown> & { states: Record<string, unknown>; equations: Record<string, string>; observables?: Record<string, unknown> };
  const states = Object.keys(out.states);
  const united = Object.values(out.states).some((v) => typeof v === 'object' && v !== null && 'unit' in v);
  for (const r of readouts) {
    if (r.kind !== 'auc') continue;
    const name = `auc_${r.of}`;
    if (name in out.states) continue;
    const obs = out.observables?.[r.of];
    const expr = states.includes(r.of) ? r.of : typeof obs === 'string' ? obs : (obs as { expression?: string } | undefined)?.expression;
    if (!expr) throw new InputError(`readout ${r.name}: "${r.of}" is neither a state nor an observable of model "${String(out.name)}"`);
    // The integral carries the unit of `of` times the time unit; dimensionless is enough for a ratio.
    out.states[name] = united ? { value: 0, unit: unitTimesTime(out, r.of), description: `∫ ${r.of} dt (readout accumulator)` } : 0;
    out.equations[name] = expr;
  }
  return out;
}

/** The unit of state/observable `of` times the model's time unit, for the accumulator's unit check. */
function unitTimesTime(spec: Record<string, unknown>, of: string): string {
  const find = (section: unknown) => {
    const v = (section as Record<string, unknown> | undefined)?.[of];
    return typeof v === 'object' && v !== null && 'unit' in v ? String((v as { unit: string }).unit) : undefined;
  };
  const unit = find(spec.states) ?? find(spec.observables) ?? '1';
  const time = String(spec.time_unit ?? 's');
  return unit === '1' ? time : `${unit}*${time}`;
}

/** The pre-equilibration of a twin's model: duration and initial states as functions of the parameters. */
export function preequilibration(spec: Record<string, unknown>, model: Model) {
  const pre = calibrationSection(spec).preequilibration ?? { duration: 20000, initial: {} };
  const rules = model.states.map((s) => {
    const rule = pre.initial[s.name];
    if (rule === undefined) return () => s.value;
    const f = mathjs.compile(String(rule));
    return (scope: Record<string, number>) => f.evaluate(scope) as number;
  });
  return {
    duration: pre.duration,
    initial: (p: ArrayLike<number>) => {
      const scope = Object.fromEntries(model.params.map((q, i) => [q.name, p[i]!]));
      return Float64Array.from(rules, (r) => r(scope));
    },
  };
}

/** Throws a clear error when trajectories of a solve failed. */
function checkStatus(status: Uint8Array, what: string): void {
  const failed = [...status].filter((s) => s !== STATUS.success);
  if (failed.length === 0) return;
  const kinds = [...new Set(failed)].map((s) => STATUS_NAMES[s] ?? String(s)).join(', ');
  throw new Error(`${failed.length} of ${status.length} trajectories of the ${what} did not reach the end (${kinds}); try --backend cpu or a smaller --rtol`);
}

/**
 * The cells of a dose grid as level indices, row-major with the last drug fastest (the layout of
 * every screen block).
 * @example
 * gridCells([2, 3]); // [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
 */
export function gridCells(sizes: number[]): number[][] {
  return sizes.reduce<number[][]>((acc, n) => acc.flatMap((prefix) => Array.from({ length: n }, (_, i) => [...prefix, i])), [[]]);
}

/**
 * Runs the screen (see the file comment): every twin × combination × dose cell × sample.
 * @example
 * const twins = ['P01', 'P02'].map((p) => readTwin(`twins/${p}.twin.json`));
 * const result = await runCombo(twins, { combinations: [['jq1', 'thz1']], samples: 16, readouts: ['output_auc', 'pol2'] });
 * result.blocks[0]?.nominal; // % inhibition over the 8 × 8 grid, jq1 down, thz1 across
 */
export async function runCombo(twins: TwinFile[], options: ComboOptions): Promise<ComboResult> {
  const started = performance.now();
  if (twins.length === 0) throw new InputError('no twins to screen');
  const library = options.library ?? bundledDrugs();
  const samples = options.samples ?? 32, seed = options.seed ?? 1;
  if (!Number.isInteger(samples) || samples < 0) throw new InputError(`--samples must be a whole number ≥ 0 (got ${samples})`);
  const t1 = options.t1 ?? 86400, at = options.at ?? t1;
  if (!(t1 > 0)) throw new InputError(`--t1 must be positive (got ${t1})`);
  if (!(at >= 0 && at <= t1)) throw new InputError(`--at ${at} must lie within [0, t1 = ${t1}] s`);
  const readouts = parseReadouts(options.readouts ?? ['output_auc'], t1, at);
  if (options.combinations.length === 0) throw new InputError('no drug combinations: give --pairs A+B,… or --all-pairs');

  // Drugs and their dose levels.
  const combos = options.combinations.map((c) => {
    if (c.length < 2 || c.length > 3) throw new InputError(`combination ${c.join('+')}: a pair or a triple of drugs is screened`);
    // A drug named twice is the sham combination (a drug with itself): the doses add.
    return c.map((d) => drugById(library, d, 'combination')[0]);
  });
  const used = [...new Set(combos.flat())];
  const nLevels = options.doses ?? 8;
  const drugs: ComboResult['drugs'] = {};
  for (const id of used) {
    const d = library.drugs[id]!;
    const [lo, hi] = options.doseRanges?.[id] ?? d.range;
    if (!(lo > 0 && hi > lo)) throw new InputError(`dose range of ${id}: need 0 < lowest < highest (got ${lo}:${hi})`);
    if (lo < d.range[0] * (1 - 1e-12) || hi > d.range[1] * (1 + 1e-12)) {
      throw new InputError(`dose range of ${id} ${lo}:${hi} ${d.unit} lies outside the library's range ${d.range[0]}:${d.range[1]} ${d.unit}, over which its effect was set; widen the range in a --drugs library if you have data there`);
    }
    drugs[id] = { name: d.name, unit: d.unit, levels: doseLevels(lo, hi, nLevels) };
  }
  for (const id of Object.keys(options.doseRanges ?? {})) if (!used.includes(drugById(library, id, '--dose-range')[0])) throw new InputError(`--dose-range names ${id}, which no combination uses`);

  // Distinct treatments (dose tuples over `used`) across all combinations: shared monotherapy
  // and untreated cells are simulated once per sample.
  const treatmentKey = (doses: number[]) => doses.join(',');
  const treatments = new Map<string, number[]>();
  const untreated = used.map(() => 0);
  treatments.set(treatmentKey(untreated), untreated);
  const cellsOf = combos.map((ids) => gridCells(ids.map((id) => drugs[id]!.levels.length)).map((cell) => {
    const doses = used.map(() => 0);
    cell.forEach((l, k) => { doses[used.indexOf(ids[k]!)]! += drugs[ids[k]!]!.levels[l]!; });
    const key = treatmentKey(doses);
    if (!treatments.has(key)) treatments.set(key, doses);
    return key;
  }));
  const treatmentIndex = new Map([...treatments.keys()].map((k, i) => [k, i]));
  const treatmentDoses = [...treatments.values()];
  const T = treatmentDoses.length;
  const schedules = Object.fromEntries(used.map((id) => [id, [{ kind: 'bolus' as const }]]));

  // One model per distinct twin model (usually one): the twin's spec + accumulators + the drugs.
  const results: ComboBlock[] = [];
  const sampledBy: Record<string, string[]> = {};
  let simulateMs = 0, backendUsed = '', trajectories = 0;
  const groups = new Map<string, TwinFile[]>();
  const weightsOf = (t: TwinFile) => options.weights?.[t.patient] ?? ('values' in t.weights ? t.weights.values : undefined);
  for (const t of twins) { const k = JSON.stringify([t.model, weightsOf(t) ? Array.from(weightsOf(t)!) : null]); groups.set(k, [...(groups.get(k) ?? []), t]); }
  const totalTraj = twins.length * (samples + 1) * (T + 1);
  let done = 0;
  for (const [groupIndex, group] of [...groups.values()].entries()) {
    const spec = withDrugs(withAccumulators(group[0]!.model, readouts), library, schedules);
    const model = parseModel(spec);
    for (const r of readouts) {
      if (!model.states.some((s) => s.name === r.of) && !model.observables.some((o) => o.name === r.of)) {
        throw new InputError(`readout ${r.name}: "${r.of}" is neither a state nor an observable of model "${model.name}"`);
      }
    }
    const P = model.params.length, N = model.states.length;
    const given = weightsOf(group[0]!);
    if (!given && model.neural) throw new InputError(`twin ${group[0]!.patient}: its model has a neural term but no weights were given; load the twins with readTwins (cohort.json beside them)`);
    const weights = given ? Float64Array.from(given) : undefined;
    const pre = preequilibration(group[0]!.model, model);
    // 1. Pre-equilibration of every (twin, sample), untreated, to t = −lead (the drugs' smooth onset
    //    at t = 0 is ≈ 0 there: g(−lead) = ½ + ½ tanh(−lead/2τ)).
    const tau = Math.max(...used.map((id) => library.drugs[id]!.onset_s));
    const lead = 20 * tau;
    const rows = group.length * (samples + 1);
    const baseParams = new Float64Array(rows * P);
    group.forEach((twin, g) => {
      // Seeded by the twin's place in the whole list, so grouping by model changes no draw.
      const { params, sampled } = sampleTwinParams(twin, model, samples, seed + twins.indexOf(twin) * 7919);
      baseParams.set(params, g * (samples + 1) * P);
      sampledBy[twin.patient] = sampled;
    });
    // The pre-equilibration runs on the twin's own model (no readout accumulators: they would
    // enter the step-size control and change the step sequence), so it retraces the calibration's
    // path exactly; the accumulators, appended after the model's states, start at 0.
    const preModel = parseModel(withDrugs(group[0]!.model, library, schedules));
    const N0 = preModel.states.length;
    if (preModel.params.length !== P || preModel.states.some((st, i) => model.states[i]!.name !== st.name)) throw new Error('internal: the screen model must extend the twin model');
    const initial0 = new Float64Array(rows * N0);
    for (let r = 0; r < rows; r++) initial0.set(pre.initial(baseParams.subarray(r * P, (r + 1) * P)).subarray(0, N0), r * N0);
    const method = options.method ?? 'rodas4';
    const solverOptions = { backend: options.backend ?? 'auto', rtol: options.rtol ?? 1e-5, atol: options.atol ?? 1e-8, maxSteps: 200000 } as const;
    const t = performance.now();
    // The same integrator and tolerances as the calibration's pre-equilibration (f64, tsit5, the
    // twin's recorded rtol/atol): a twin near a bistable switch must start where it was fitted.
    const recorded = group[0]!.provenance.options as { rtol?: number; atol?: number; method?: MethodName };
    const preOptions = { backend: 'cpu' as const, rtol: recorded.rtol ?? 1e-7, atol: recorded.atol ?? 1e-10, maxSteps: 200000 };
    const preSol = await solve(makeProblem(preModel, { t0: -lead - pre.duration, t1: -lead, saveat: [-lead], params: baseParams, initial: initial0, weights }), recorded.method ?? 'tsit5', preOptions);
    checkStatus(preSol.status, 'untreated pre-equilibration');
    done += rows; options.onProgress?.(done, totalTraj);
    // 2. Every treatment of every (twin, sample) from its steady state, in chunks.
    const saveat = [...new Set([0, ...readouts.filter((r) => r.kind === 'at').map((r) => (r as { t: number }).t), t1])].sort((a, b) => a - b);
    const B = rows * T;
    const values = readouts.map(() => new Float64Array(B));
    const chunk = Math.max(1, options.chunk ?? 65536);
    const doseIdx = used.map((id) => model.params.findIndex((q) => q.name === drugParam(id, 'dose')));
    const template = treatmentParams(library, used.map((id): Treatment => ({ drug: id, dose: 0, tOn: 0, schedule: { kind: 'bolus' } })));
    const fixedIdx = Object.keys(template).map((n) => [model.params.findIndex((q) => q.name === n), template[n]!] as const);
    const reads = readouts.map((r) => {
      const si = saveat.indexOf(r.kind === 'at' ? r.t : t1);
      if (r.kind === 'auc') { const k = model.states.findIndex((s) => s.name === `auc_${r.of}`); return (y: Float64Array, _p: Float64Array, b: number) => y[(b * saveat.length + si) * N + k]! - y[b * saveat.length * N + k]!; }
      const h = compileObservable(model, r.of);
      return (y: Float64Array, p: Float64Array, b: number) => { const o = (b * saveat.length + si) * N; return h.value(r.t, y.subarray(o, o + N), p.subarray(b * P, (b + 1) * P)); };
    });
    const saved = options.checkpoint?.load(groupIndex);
    let resumeAt = 0;
    if (saved) {
      if (saved.values.length !== readouts.length || saved.done > B || saved.values.some((v) => v.length < saved.done)) throw new InputError('the combo checkpoint does not fit this screen; run again without --resume');
      resumeAt = saved.done;
      saved.values.forEach((v, k) => values[k]!.set(v.subarray(0, resumeAt)));
      done += resumeAt; options.onProgress?.(done, totalTraj);
    }
    for (let start = resumeAt; start < B; start += chunk) {
      const count = Math.min(chunk, B - start);
      const params = new Float64Array(count * P), initial = new Float64Array(count * N);
      for (let b = 0; b < count; b++) {
        const row = Math.floor((start + b) / T), tr = treatmentDoses[(start + b) % T]!;
        params.set(baseParams.subarray(row * P, (row + 1) * P), b * P);
        for (const [i, v] of fixedIdx) params[b * P + i] = v;
        tr.forEach((dose, k) => { params[b * P + doseIdx[k]!] = dose; });
        initial.set(preSol.y.subarray(row * N0, (row + 1) * N0), b * N);
      }
      const sol = await solve(makeProblem(model, { t0: -lead, t1, saveat, params, initial, weights }), method, {
        ...solverOptions, onProgress: (f) => options.onProgress?.(done + f, totalTraj),
      });
      checkStatus(sol.status, 'screen');
      backendUsed = sol.backend;
      readouts.forEach((_, k) => { for (let b = 0; b < count; b++) values[k]![start + b] = reads[k]!(sol.y, params, b); });
      done += count; options.onProgress?.(done, totalTraj);
      options.checkpoint?.save(groupIndex, { done: start + count, values: values.map((v) => v.slice(0, start + count)) });
    }
    simulateMs += performance.now() - t;
    trajectories += rows + B;

    // 3. Responses: % inhibition against the same sample's untreated run.
    const u = treatmentIndex.get(treatmentKey(untreated))!;
    group.forEach((twin, g) => combos.forEach((ids, c) => readouts.forEach((r, k) => {
      const cells = cellsOf[c]!.map((key) => treatmentIndex.get(key)!);
      // A sample whose untreated readout is (next to) zero — a draw in the twin's off state, with no
      // condensate or no output to inhibit — has no % inhibition: its cells are NaN and it is left
      // out of the intervals (counted in `dropped`). For the nominal twin that is an error.
      const nominalRef = values[k]![g * (samples + 1) * T + u]!;
      const response = (s: number, out: Float64Array, offset: number) => {
        const row = (g * (samples + 1) + s) * T, ref = values[k]![row + u]!;
        const valid = Number.isFinite(ref) && Math.abs(ref) > 1e-6 * Math.abs(nominalRef);
        cells.forEach((tr, j) => { out[offset + j] = valid ? 100 * (1 - values[k]![row + tr]! / ref) : NaN; });
        return valid;
      };
      const nominal = new Float64Array(cells.length), sampled = new Float64Array(samples * cells.length);
      if (!(Number.isFinite(nominalRef) && nominalRef !== 0) || !response(0, nominal, 0) || !nominal.every(Number.isFinite)) {
        throw new InputError(`twin ${twin.patient}: its untreated ${r.name} is ${nominalRef}, so a % inhibition of it is not defined (the twin has no ${r.of} to lower); leave this readout out for it`);
      }
      let dropped = 0;
      for (let s = 1; s <= samples; s++) if (!response(s, sampled, (s - 1) * cells.length)) dropped++;
      results.push({ patient: twin.patient, drugs: ids, units: ids.map((id) => drugs[id]!.unit), readout: r.name, doses: ids.map((id) => drugs[id]!.levels), nominal, samples: sampled, dropped });
    })));
  }
  const order = new Map(twins.map((t, i) => [t.patient, i]));
  results.sort((a, b) => order.get(a.patient)! - order.get(b.patient)!);
  return {
    blocks: results, readouts, patients: twins.map((t) => t.patient), drugs, samples, sampled: sampledBy, trajectories,
    timing: { prepareMs: performance.now() - started - simulateMs, simulateMs, backend: backendUsed },
  };
}
