/**
 * Drugs as data: a validated, user-extensible library (src/twin/drugs.json is the bundled one), and
 * the transform that puts drugs into a model.
 *
 * PK — concentration in the medium after a dose D given at t_on (g a smooth step of width τ, the
 * mixing time after pipetting: g(u) = ½ + ½·tanh(u / 2τ), a logistic written with tanh so it stays
 * finite in f32):
 *   bolus      C(t) = D · g(t − t_on) · e^{−k·max(t − t_on, 0)} · (1 − g(t − t_off))
 *   infusion   C(t) = D · (1 − e^{−k·max(min(t, t_off) − t_on, 0)}) · e^{−k·max(t − t_off, 0)}
 *              (one compartment driven to the steady concentration D; needs a half-life)
 *   repeated   Σ_{j<n} bolus at t_on + j·interval
 *   profile    D · (piecewise-linear measured profile, relative to the dose, from t_on)
 * with k = ln 2 / half-life (one-compartment) or k = 0 (stable in the medium); t_off is a washout.
 * PD — Emax/Hill on named parameters:  p_eff = p · Π_d (1 + Emax_d · C_d^h / (EC50_d^h + C_d^h)),
 * independent drugs as a product of factors; drugs that share a binding `site` on a parameter as one
 * factor of their summed potency-weighted concentrations, 1 + Emax · X^h/(1 + X^h), X = Σ_d C_d/EC50_d
 * (concentration addition: a dose-additive pair by construction).
 */
import { z } from 'zod';
import type { MathNode } from 'mathjs';
import { mathjs } from '../physics/mathjs.js';
import { readFileSync } from 'node:fs';
import bundled from './drugs.json' with { type: 'json' };
import { InputError } from '../io/csv.js';

const effectSchema = z.object({
  param: z.string().min(1),
  /** Fold change at saturation minus one: −1 removes the parameter, +9 multiplies it by 10. */
  emax: z.number().min(-1),
  ec50: z.number().positive(),
  hill: z.number().min(0.5).max(10).default(1),
  /**
   * Binding site: effects of different drugs on the same parameter and site combine by
   * concentration addition (Loewe: they compete for one site, X = Σ C_d/EC50_d), not as independent
   * factors; they must then share emax and hill.
   */
  site: z.string().min(1).optional(),
  source: z.string().min(1),
  model_choice: z.string().optional(),
}).strict();

const pkSchema = z.discriminatedUnion('model', [
  z.object({ model: z.literal('stable') }).strict(),
  z.object({ model: z.literal('one-compartment'), half_life_s: z.number().positive() }).strict(),
  z.object({
    model: z.literal('profile'),
    /** [seconds after t_on, concentration relative to the dose], times increasing from 0. */
    points: z.array(z.tuple([z.number().min(0), z.number().min(0)])).min(2),
    source: z.string().optional(),
  }).strict(),
]);

const drugSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  unit: z.string().min(1),
  /** Dose range for screens: [lowest, highest] in `unit`. */
  range: z.tuple([z.number().positive(), z.number().positive()]),
  onset_s: z.number().positive().default(5),
  pk: pkSchema,
  effects: z.array(effectSchema).min(1),
  sources: z.array(z.string()).min(1),
}).strict();

export const drugLibrarySchema = z.object({
  schema: z.literal('condensate-twin/drugs@1'),
  description: z.string().optional(),
  drugs: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'drug ids are lower-case letters, digits and _'), drugSchema),
}).strict();

export type Drug = z.infer<typeof drugSchema>;
export type DrugLibrary = z.infer<typeof drugLibrarySchema>;
export type Schedule =
  | { kind: 'bolus' }
  | { kind: 'infusion' }
  | { kind: 'repeated'; interval: number; doses: number };

/** One drug given to one cell: dose in the drug's unit, times in seconds. */
export interface Treatment {
  drug: string;
  dose: number;
  tOn: number;
  tOff?: number;
  schedule: Schedule;
}

function issues(err: z.ZodError, where: string): InputError {
  const first = err.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  return new InputError(`${where}: not a valid drug library — ${first.join('; ')}`);
}

/** The bundled library (hexanediol, jq1, thz1, flavopiridol, dbet6), validated. */
export function bundledDrugs(): DrugLibrary {
  const r = drugLibrarySchema.safeParse(bundled);
  if (!r.success) throw issues(r.error, 'src/twin/drugs.json');
  return r.data;
}

/**
 * Reads a user library and merges it over the bundled one (same id → the user's entry).
 * @example
 * const lib = loadDrugLibrary('my-drugs.json'); // { schema: 'condensate-twin/drugs@1', drugs: { … } }
 * lib.drugs.jq1?.effects[0]?.param; // 'u_csat'
 */
export function loadDrugLibrary(path?: string): DrugLibrary {
  const base = bundledDrugs();
  if (!path) return base;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'cannot read (ENOENT)' : `not JSON (${(err as Error).message})`}`);
  }
  const r = drugLibrarySchema.safeParse(raw);
  if (!r.success) throw issues(r.error, path);
  for (const [id, d] of Object.entries(r.data.drugs)) {
    if (d.pk.model === 'profile') {
      const ts = d.pk.points.map((p) => p[0]);
      if (ts[0] !== 0 || ts.some((t, i) => i > 0 && !(t > ts[i - 1]!))) throw new InputError(`${path}: drugs.${id}.pk.points: times must start at 0 and increase`);
    }
    if (d.range[0] >= d.range[1]) throw new InputError(`${path}: drugs.${id}.range: the lowest dose must be below the highest`);
  }
  return { ...base, drugs: { ...base.drugs, ...r.data.drugs } };
}

/** The library entry for an id (case-insensitive), or an error listing the known ids. */
export function drugById(library: DrugLibrary, id: string, where = 'design'): [string, Drug] {
  const key = id.trim().toLowerCase();
  const d = library.drugs[key];
  if (!d) throw new InputError(`${where}: unknown drug "${id}" (known: ${Object.keys(library.drugs).join(', ')}); add it to a --drugs library file`);
  return [key, d];
}

/** Parameter names a drug adds to a model (per trajectory: dose, on, off, number of doses). */
export const drugParam = (id: string, what: 'dose' | 'on' | 'off' | 'n' | 'interval' | 'tau' | 'k') => `${id}_${what}`;
/** Never-off: a washout time beyond any experiment (finite, so f32 can hold it). */
export const NEVER = 1e9;

/** The concentration expression of drug `id` (mathjs syntax, in the drug's unit). */
function concentration(id: string, drug: Drug, schedules: Schedule[]): string {
  const p = (w: Parameters<typeof drugParam>[1]) => drugParam(id, w);
  const g = (u: string) => `(0.5 + 0.5*tanh((${u})/(2*${p('tau')})))`;
  const off = `(1 - ${g(`t - ${p('off')}`)})`;
  const decay = (on: string) => (drug.pk.model === 'one-compartment' ? `*exp(-${p('k')}*max(t - ${on}, 0))` : '');
  const bolus = (on: string) => `${g(`t - ${on}`)}${decay(on)}*${off}`;
  const kinds = new Set(schedules.map((s) => s.kind));
  if (kinds.size > 1) throw new InputError(`drug ${id}: one schedule kind per drug in a data set (got ${[...kinds].join(', ')})`);
  const kind = schedules[0]?.kind ?? 'bolus';
  if (drug.pk.model === 'profile') {
    // Piecewise linear through the points: value at 0 (gated by the onset), then slope changes.
    // Knot times and slope changes are parameters (`<id>_pt<i>` in s, `<id>_ps<i>` in 1/s) so the
    // expression keeps its units; they are set from the library by `profileParams`.
    const n = drug.pk.points.length;
    const terms = Array.from({ length: n }, (_, i) => ` + ${id}_ps${i}*max(t - ${p('on')} - ${id}_pt${i}, 0)`).join('');
    return `${p('dose')}*(${drug.pk.points[0]![1]}*${g(`t - ${p('on')}`)}${terms})*${off}`;
  }
  if (kind === 'infusion') {
    if (drug.pk.model !== 'one-compartment') throw new InputError(`drug ${id}: an infusion needs a one-compartment PK with a half-life (the library entry has "${drug.pk.model}")`);
    return `${p('dose')}*(1 - exp(-${p('k')}*max(min(t, ${p('off')}) - ${p('on')}, 0)))*exp(-${p('k')}*max(t - ${p('off')}, 0))`;
  }
  if (kind === 'repeated') {
    const n = Math.max(...schedules.map((s) => (s.kind === 'repeated' ? s.doses : 1)));
    const terms = Array.from({ length: n }, (_, j) => {
      const on = `(${p('on')} + ${j}*${p('interval')})`;
      return `(${p('n')} > ${j} ? ${bolus(on)} : 0)`;
    });
    return `${p('dose')}*(${terms.join(' + ')})`;
  }
  return `${p('dose')}*${bolus(p('on'))}`;
}

/** Renames every use of `from` in a mathjs expression string to `to`. */
function renameSymbol(text: string, from: string, to: string): string {
  const node = mathjs.parse(text).transform((n: MathNode, path: string) => (
    (n as { isSymbolNode?: boolean }).isSymbolNode && (n as unknown as { name: string }).name === from && path !== 'fn' ? mathjs.parse(to) : n));
  return node.toString();
}

/**
 * The model spec with the drugs `ids` in it: per drug the parameters `<id>_dose`, `<id>_on`,
 * `<id>_off` (and `<id>_n`, `<id>_interval` for repeated dosing), defaults meaning "not given";
 * PD parameters `<id>_<param>_emax|ec50|hill`; and every targeted parameter p replaced by the
 * expression `p_eff`. A model without units gets none added.
 * @example
 * const spec = withDrugs(condensateModelSpec(), loadDrugLibrary(), { hexanediol: [{ kind: 'bolus' }] });
 * parseModel(spec).params.some((p) => p.name === 'hexanediol_dose'); // true
 */
export function withDrugs(spec: Record<string, unknown>, library: DrugLibrary, drugs: Record<string, Schedule[]>): Record<string, unknown> {
  const out = structuredClone(spec) as Record<string, unknown> & { params: Record<string, unknown>; expressions?: Record<string, string>; equations: Record<string, string>; observables?: Record<string, unknown>; conserved?: Record<string, { expression: string; rate: string }> };
  const united = Object.values(out.params).some((v) => typeof v === 'object' && v !== null && 'unit' in v);
  const param = (value: number, unit: string, description: string) => (united ? { value, unit, description } : value);
  out.expressions = { ...(out.expressions ?? {}) };
  const factors = new Map<string, string[]>();
  // Effects sharing a binding site on a parameter: one factor over Σ C_d/EC50_d (file comment).
  const sites = new Map<string, { emax: string; hill: string; terms: string[]; emaxValue: number; hillValue: number; drug: string }>();
  for (const [id, schedules] of Object.entries(drugs)) {
    const [key, drug] = drugById(library, id);
    const unit = drug.unit === '%' ? 'percent' : drug.unit;
    const p = (w: Parameters<typeof drugParam>[1]) => drugParam(key, w);
    out.params[p('dose')] = param(0, unit, `${drug.name}: dose (0 = not given)`);
    out.params[p('on')] = param(0, 's', `${drug.name}: time given`);
    out.params[p('off')] = param(NEVER, 's', `${drug.name}: washout time`);
    out.params[p('tau')] = param(drug.onset_s, 's', `${drug.name}: mixing time after addition (model choice)`);
    if (drug.pk.model === 'one-compartment') out.params[p('k')] = param(Math.LN2 / drug.pk.half_life_s, '1/s', `${drug.name}: elimination rate ln2/half-life`);
    if (drug.pk.model === 'profile') {
      // Piecewise linear through the points: slope changes at each knot, and −(last slope) at the
      // last knot so the profile stays at its last value.
      const pts = drug.pk.points;
      const slopes = pts.slice(1).map(([t, c], i) => (c - pts[i]![1]) / (t - pts[i]![0]));
      pts.forEach(([t], i) => {
        const change = (i < slopes.length ? slopes[i]! : 0) - (i > 0 ? slopes[i - 1]! : 0);
        out.params[`${key}_pt${i}`] = param(t, 's', `${drug.name}: profile knot ${i}`);
        out.params[`${key}_ps${i}`] = param(change, '1/s', `${drug.name}: profile slope change at knot ${i} (relative to the dose)`);
      });
    }
    if (schedules.some((s) => s.kind === 'repeated')) {
      out.params[p('n')] = param(1, '1', `${drug.name}: number of doses`);
      out.params[p('interval')] = param(NEVER, 's', `${drug.name}: dosing interval`);
    }
    const conc = `${key}_conc`;
    out.expressions[conc] = concentration(key, drug, schedules);
    for (const e of drug.effects) {
      if (!(e.param in out.params)) throw new InputError(`drug ${key}: its effect targets "${e.param}", which is not a parameter of model "${String(out.name)}"`);
      const q = (w: string) => `${key}_${e.param}_${w}`;
      out.params[q('emax')] = param(e.emax, '1', `${drug.name}: maximal fold change − 1 of ${e.param}`);
      out.params[q('ec50')] = param(e.ec50, unit, `${drug.name}: half-maximal concentration on ${e.param}`);
      out.params[q('hill')] = param(e.hill, '1', `${drug.name}: Hill coefficient on ${e.param}`);
      const x = `(max(${conc}, 0)/${q('ec50')})`; // dimensionless C/EC50
      if (e.site) {
        const siteKey = `${e.param}\u0000${e.site}`, site = sites.get(siteKey);
        if (!site) sites.set(siteKey, { emax: q('emax'), hill: q('hill'), terms: [x], emaxValue: e.emax, hillValue: e.hill, drug: key });
        else {
          if (site.emaxValue !== e.emax || site.hillValue !== e.hill) throw new InputError(`drugs ${site.drug} and ${key}: effects on ${e.param} at site "${e.site}" combine by concentration addition and must share emax and hill (${site.emaxValue}, ${site.hillValue} against ${e.emax}, ${e.hill} of ${key})`);
          site.terms.push(x);
        }
        continue;
      }
      const f = `(1 + ${q('emax')}*${x}^${q('hill')}/(1 + ${x}^${q('hill')}))`;
      factors.set(e.param, [...(factors.get(e.param) ?? []), f]);
    }
  }
  for (const [key, site] of sites) {
    const param = key.split('\u0000')[0]!, x = `(${site.terms.join(' + ')})`;
    factors.set(param, [...(factors.get(param) ?? []), `(1 + ${site.emax}*${x}^${site.hill}/(1 + ${x}^${site.hill}))`]);
  }
  const rename = (text: string) => [...factors.keys()].reduce((s, name) => renameSymbol(s, name, `${name}_eff`), text);
  for (const k of Object.keys(out.expressions)) if (!k.endsWith('_conc')) out.expressions[k] = rename(out.expressions[k]!);
  for (const k of Object.keys(out.equations)) out.equations[k] = rename(out.equations[k]!);
  for (const [k, v] of Object.entries(out.observables ?? {})) {
    out.observables![k] = typeof v === 'string' ? rename(v) : { ...(v as object), expression: rename((v as { expression: string }).expression) };
  }
  for (const law of Object.values(out.conserved ?? {})) { law.expression = rename(law.expression); law.rate = rename(law.rate); }
  for (const [name, fs] of factors) out.expressions[`${name}_eff`] = `${name}*${fs.join('*')}`;
  return out;
}

/**
 * Per-trajectory values of the drug parameters for one set of treatments (absent drugs: dose 0).
 * @example
 * treatmentParams(loadDrugLibrary(), [{ drug: 'hexanediol', dose: 1.5, tOn: 450, schedule: { kind: 'bolus' } }]);
 * // { hexanediol_dose: 1.5, hexanediol_on: 450, hexanediol_off: 1e9 }
 */
export function treatmentParams(library: DrugLibrary, treatments: Treatment[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tr of treatments) {
    const [key] = drugById(library, tr.drug);
    if (out[drugParam(key, 'dose')] !== undefined) throw new InputError(`drug ${key} is given twice to one cell; use a repeated schedule`);
    out[drugParam(key, 'dose')] = tr.dose;
    out[drugParam(key, 'on')] = tr.tOn;
    out[drugParam(key, 'off')] = tr.tOff ?? NEVER;
    if (tr.schedule.kind === 'repeated') { out[drugParam(key, 'n')] = tr.schedule.doses; out[drugParam(key, 'interval')] = tr.schedule.interval; }
  }
  return out;
}
