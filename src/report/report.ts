/**
 * `ctwin report` (DESIGN.md): one self-contained HTML file a biologist can read — the twins' fits
 * against their data, parameter estimates with intervals, whether condensates are needed, and, with
 * a combination screen, dose–response curves, synergy heat maps, trajectories under the top
 * combinations and the ranking with its uncertainty.
 *
 * Self-contained and inert: every figure is static SVG made by Vega-Lite/Vega here (no script in
 * the page, no network), the page's Content-Security-Policy forbids scripts and remote loads, and
 * every name from users' files (patients, cells, drugs, files) is HTML-escaped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { parseModel, type Model } from '../physics/model.js';
import { makeProblem } from '../solvers/problem.js';
import { solve } from '../solvers/solve.js';
import { compileObservable } from '../training/loss.js';
import { InputError } from '../io/csv.js';
import { readTable } from '../io/table.js';
import { detectKind, imagingFromTable } from '../io/read.js';
import { readDesign, treatmentsOf, type Design } from '../io/design.js';
import type { LongRecord } from '../io/imaging.js';
import { bundledDrugs, withDrugs, type DrugLibrary, type Treatment } from '../twin/drugs.js';
import { preequilibration, twinParams } from '../twin/combo.js';
import { DEFAULT_OBSERVE } from '../twin/calibrate.js';
import { readTwins, sha256, type TwinFile } from '../twin/twin.js';
import { COMBO_SCHEMA } from '../twin/combo-files.js';
import { curveResponse } from '../synergy/curves.js';
import { doseResponseSpec, fitSpec, heatmapSpec, paramsSpec, rankingSpec, renderSvg, trajectorySpec } from './charts.js';

/**
 * HTML-escapes text (names from users' files included).
 * @example
 * escapeHtml('<img src=x onerror=alert(1)>'); // '&lt;img src=x onerror=alert(1)&gt;'
 */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface ReportOptions {
  twinsDir: string;
  comboDir?: string;
  library?: DrugLibrary;
  /** Where the data files named in the twins' provenance are looked for besides their recorded path. */
  dataRoots?: string[];
}

const ComboJson = z.object({
  schema: z.literal(COMBO_SCHEMA),
  options: z.object({ t1: z.number(), rank_by: z.string(), readouts: z.array(z.string()), samples: z.number() }).passthrough(),
  readouts: z.array(z.object({ name: z.string(), kind: z.string(), of: z.string(), description: z.string().optional(), unit: z.string().optional() }).passthrough()),
  drugs: z.record(z.string(), z.object({ name: z.string(), unit: z.string(), levels: z.array(z.number()) })),
  patients: z.array(z.string()),
  blocks: z.array(z.object({
    block_id: z.number(), patient: z.string(), drugs: z.array(z.string()), readout: z.string(), doses: z.array(z.array(z.number())),
    response: z.array(z.number().nullable()), samples_used: z.number(), samples_dropped: z.number(),
    scores: z.record(z.string(), z.object({ summary: z.number().nullable(), lo95: z.number().nullable(), hi95: z.number().nullable(), matrix: z.array(z.array(z.number().nullable())).optional() }).passthrough()),
    fits: z.record(z.string(), z.object({ model: z.string(), b: z.number(), c: z.number(), d: z.number(), e: z.number() }).passthrough()).optional(),
  }).passthrough()),
  ranking: z.array(z.object({
    patient: z.string(), readout: z.string(), method: z.string(), rank: z.number(), combination: z.string(), call: z.string(), samplesUsed: z.number(),
    score: z.object({ value: z.number().nullable(), lo95: z.number().nullable(), hi95: z.number().nullable() }),
    efficacy: z.object({ value: z.number().nullable(), lo95: z.number().nullable(), hi95: z.number().nullable() }),
    tiedWith: z.array(z.string()).nullable(),
  }).passthrough()),
}).passthrough();
type ComboJson = z.infer<typeof ComboJson>;

/** Reads and validates combo.json of a `ctwin combo` folder. */
function readCombo(dir: string): ComboJson {
  const path = join(dir, 'combo.json');
  let json: unknown;
  try { json = JSON.parse(readFileSync(path, 'utf8')); } catch (err) { throw new InputError(`${path}: cannot read (${(err as Error).message}); give the --out folder of ctwin combo`); }
  const r = ComboJson.safeParse(json);
  if (!r.success) throw new InputError(`${path}: not a valid ${COMBO_SCHEMA} file: ${r.error.issues.slice(0, 4).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(digits - 1) : v.toPrecision(digits));

/** The pre-equilibrated nominal twin under treatments, saved at `times` (s after dosing). */
async function simulateTwin(twin: TwinFile, model: Model, library: DrugLibrary, arms: Treatment[][], times: number[]): Promise<Float64Array[]> {
  const P = model.params.length, N = model.states.length;
  const pre = preequilibration(twin.model, model);
  const recorded = twin.provenance.options as { rtol?: number; atol?: number };
  const params = new Float64Array(arms.length * P), initial = new Float64Array(arms.length * N);
  arms.forEach((arm, b) => {
    const p = twinParams(twin, model, arm, library);
    params.set(p, b * P);
    initial.set(pre.initial(p), b * N);
  });
  // One solve from the pre-equilibration start, as the calibration does (tsit5, its tolerances).
  const sol = await solve(makeProblem(model, { t0: -pre.duration, t1: times[times.length - 1]!, saveat: times, params, initial }), 'tsit5', { backend: 'cpu', rtol: recorded.rtol ?? 1e-7, atol: recorded.atol ?? 1e-10, maxSteps: 500000 });
  return arms.map((_, b) => sol.y.subarray(b * times.length * N, (b + 1) * times.length * N));
}

/** The data files a twin was calibrated on, found at their recorded path or under `roots`, checked by sha256. */
function locate(file: string, sha: string, roots: string[]): string | undefined {
  const candidates = isAbsolute(file) ? [file] : [file, ...roots.map((r) => join(r, file))];
  return candidates.find((c) => existsSync(c) && sha256(readFileSync(c)) === sha);
}

interface FitFigure { patient: string; observable: string; svg?: string; note?: string }

/** Data on the model's scale with the twin's prediction, per patient and observable. */
async function fitFigures(twins: TwinFile[], library: DrugLibrary, roots: string[]): Promise<FitFigure[]> {
  const out: FitFigure[] = [];
  for (const twin of twins) {
    const files = twin.provenance.data.map((d) => ({ ...d, path: locate(d.file, d.sha256, roots) }));
    const missing = files.filter((f) => !f.path).map((f) => f.file);
    let design: Design | undefined;
    const records: LongRecord[] = [];
    for (const f of files) {
      if (!f.path) continue;
      const table = await readTable(f.path); // read once: its kind decides what it is
      const kind = detectKind(table);
      if (kind === 'design') design = readDesign(table, library);
      else if (kind === 'trackmate-spots' || kind === 'long') records.push(...imagingFromTable(table).records.filter((r) => r.patient === twin.patient));
    }
    const observe = (twin.provenance.options as { observe?: Record<string, string> | null }).observe ?? DEFAULT_OBSERVE;
    const byObservable = new Map<string, LongRecord[]>();
    for (const r of records) { const o = observe[r.observable]; if (o && twin.observation.cells[r.cell]) byObservable.set(o, [...(byObservable.get(o) ?? []), r]); }
    if (byObservable.size === 0) {
      out.push({ patient: twin.patient, observable: '', note: files.length === 0 ? 'no data files are recorded in this twin' : `its data files were not found with the recorded contents (${missing.join(', ') || 'none readable'}); run ctwin report where ctwin calibrate ran` });
      continue;
    }
    // Conditions of the patient's cells, their treatments from the design.
    const conditions = new Map<string, Treatment[]>();
    for (const cell of Object.keys(twin.observation.cells)) {
      const key = twin.observation.cells[cell]!.condition;
      if (!conditions.has(key)) conditions.set(key, treatmentsOf(design, twin.patient, cell));
    }
    const used: Record<string, Array<{ kind: 'bolus' }>> = {};
    for (const arm of conditions.values()) for (const t of arm) used[t.drug] = [{ kind: 'bolus' }];
    const model = parseModel(withDrugs(twin.model, library, used));
    const tMax = Math.max(...records.map((r) => r.t));
    const times = Array.from({ length: 241 }, (_, k) => (k / 240) * tMax);
    const keys = [...conditions.keys()];
    const ys = await simulateTwin(twin, model, library, keys.map((k) => conditions.get(k)!), times);
    const N = model.states.length;
    // A few cells per patient (the first fitted ones and the first held-out ones), in data units:
    // z(t) = scale·e^{−bleach·t}·h(t) + offset + drift·t with each cell's own observation model.
    const cellIds = Object.keys(twin.observation.cells).sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
    const shown = [...cellIds.filter((c) => !twin.observation.cells[c]!.held_out).slice(0, 4), ...cellIds.filter((c) => twin.observation.cells[c]!.held_out).slice(0, 2)];
    const columns = Object.fromEntries(Object.entries(observe).map(([col, o]) => [o, col]));
    for (const [observable, recs] of byObservable) {
      const h = compileObservable(model, observable);
      const rows: Array<Record<string, string | number>> = [];
      shown.forEach((cellId, order) => {
        const cell = twin.observation.cells[cellId]!, o = cell.observables[observable];
        if (!o) return;
        const a = keys.indexOf(cell.condition);
        const panel = `cell ${cellId}${cell.held_out ? ' (held out)' : ''}: ${cell.condition}`;
        for (const r of recs) if (r.cell === cellId) rows.push({ panel, order, kind: 'measured', t_min: r.t / 60, y: r.value });
        const p = twinParams(twin, model, conditions.get(cell.condition)!, library);
        const tEnd = Math.max(...recs.filter((r) => r.cell === cellId).map((r) => r.t));
        times.forEach((t, k) => {
          if (t > tEnd) return;
          const z = o.scale * Math.exp(-o.bleach * t) * h.value(t, ys[a]!.subarray(k * N, (k + 1) * N), p) + o.offset + o.drift * t;
          rows.push({ panel, order, kind: 'twin', t_min: t / 60, y: z });
        });
      });
      out.push({ patient: twin.patient, observable, svg: await renderSvg(fitSpec(rows, `${columns[observable] ?? observable} (a.u.)`)) });
    }
  }
  return out;
}

const figure = (svg: string, caption: string) => `<figure>${svg}<figcaption><b>What this shows:</b> ${caption}</figcaption></figure>`;

/**
 * The report's HTML (see the file comment).
 * @example
 * const html = await buildReport({ twinsDir: 'twins/', comboDir: 'screen/' });
 * html.startsWith('<!doctype html>'); // true: write it to report.html
 */
export async function buildReport(options: ReportOptions): Promise<string> {
  const library = options.library ?? bundledDrugs();
  const { twins } = readTwins(options.twinsDir);
  const combo = options.comboDir ? readCombo(options.comboDir) : undefined;
  const roots = options.dataRoots ?? [dirname(options.twinsDir), join(options.twinsDir, '..', '..')];
  const parts: string[] = [];
  const e = escapeHtml;

  // 1. Twins: applicability, fits, parameters.
  parts.push('<h2>Twins</h2>');
  parts.push(`<table><thead><tr><th>patient</th><th>cells fitted / held out</th><th>R² fitted</th><th>R² held out</th><th>condensates needed?</th></tr></thead><tbody>${twins.map((t) => {
    const a = t.applicability;
    const verdict = a.condensate_needed === null ? 'not assessed' : a.condensate_needed
      ? `<b>yes</b>: the data are fitted better with the condensate mechanism (Vuong z = ${fmt(a.delta)} &gt; 2.33, gain ${fmt(a.gain_per_measurement)} nats per measurement)`
      : `<b>no</b>: the model without condensates explains these data as well (Vuong z = ${fmt(a.delta)}, gain ${fmt(a.gain_per_measurement)} nats per measurement); drug effects through condensates are not supported by this patient's data`;
    return `<tr><td>${e(t.patient)}</td><td>${t.diagnostics.cells} / ${t.diagnostics.heldout_cells}</td><td>${fmt(t.diagnostics.r2_fit)}</td><td>${fmt(t.diagnostics.r2_heldout)}</td><td>${verdict}</td></tr>`;
  }).join('')}</tbody></table>`);
  const fits = await fitFigures(twins, library, roots);
  for (const f of fits) {
    parts.push(`<h3>${e(f.patient)}${f.observable ? `: ${e(f.observable.replace(/_/g, ' '))}` : ''}</h3>`);
    parts.push(f.svg
      ? figure(f.svg, `measured intensity of ${e(f.observable.replace(/_/g, ' '))} in up to six cells of ${e(f.patient)} (grey points) against the twin's prediction through each cell's own scale, offset, drift and bleaching (red line); panels marked "held out" are cells the twin's parameters were not fitted to.`)
      : `<p class="note">No fit figure for ${e(f.patient)}: ${e(f.note ?? '')}.</p>`);
  }
  const paramRows = twins.flatMap((t) => Object.entries(t.params).map(([name, p]) => ({
    patient: t.patient, param: `${name}${p.unit ? ` (${p.unit})` : ''}`, value: p.value, lo: p.ci95?.[0] ?? p.value, hi: p.ci95?.[1] ?? p.value, identifiable: p.identifiable ? 'yes' : 'no',
  })));
  parts.push('<h2>Parameter estimates</h2>');
  parts.push(figure(await renderSvg(paramsSpec(paramRows)), 'each estimated parameter per patient with its 95 % Laplace interval (log axis); red points are not identifiable from the data (relative SE above 0.5 or no interval: the data do not pin them down), and a point without a bar has no finite interval.'));

  // 2. The screen.
  if (combo) {
    const primary = combo.readouts[0]!;
    const title = primary.description ?? primary.name;
    const method = combo.options.rank_by;
    parts.push(`<h2>Combination screen</h2><p>${combo.patients.length} twin(s), ${new Set(combo.blocks.map((b) => b.drugs.join('+'))).size} combination(s), ${combo.options.samples} uncertainty samples per twin; readout for ranking: ${e(title)}; synergy by ${e(method)} (SynergyFinder 3.x rules). Scores are in percentage points of inhibition: above +10 likely synergistic, below −10 likely antagonistic.</p>`);
    // Dose–response of each drug alone (nominal twins) with the LL.4 fits.
    const seen = new Set<string>();
    const points: Array<Record<string, string | number>> = [], curves: Array<Record<string, string | number>> = [];
    for (const b of combo.blocks.filter((x) => x.readout === primary.name && x.drugs.length === 2)) {
      b.drugs.forEach((drug, k) => {
        const key = `${b.patient}\u0000${drug}`;
        if (seen.has(key)) return;
        seen.add(key);
        const label = `${drug} (${combo.drugs[drug]?.unit ?? ''})`;
        const n2 = b.doses[1]!.length;
        b.doses[k]!.forEach((dose, i) => { if (dose > 0) points.push({ patient: b.patient, drug: label, dose, response: (k === 0 ? b.response[i * n2] : b.response[i]) ?? NaN }); });
        const fit = b.fits?.[k === 0 ? 'drug1' : 'drug2'];
        const ds = b.doses[k]!.filter((d) => d > 0);
        if (fit) for (let j = 0; j <= 60; j++) { const dose = ds[0]! * (ds[ds.length - 1]! / ds[0]!) ** (j / 60); curves.push({ patient: b.patient, drug: label, dose, response: curveResponse({ model: 'LL.4', b: fit.b, c: fit.c, d: fit.d, e: fit.e }, dose) }); }
      });
    }
    if (points.length) parts.push(figure(await renderSvg(doseResponseSpec(points, curves, primary.name.replace(/_/g, ' '))), `each drug alone on each nominal twin: % inhibition of ${e(title)} after ${fmt(combo.options.t1 / 3600)} h against dose (points, log axis), with the four-parameter log-logistic fit SynergyFinder's Loewe and ZIP rest on (lines).`));
    // Heat maps per combination, one panel per patient.
    for (const combination of [...new Set(combo.blocks.filter((b) => b.drugs.length === 2).map((b) => b.drugs.join('+')))]) {
      const cells = combo.blocks.filter((b) => b.readout === primary.name && b.drugs.join('+') === combination).flatMap((b) => {
        const m = b.scores[method]?.matrix;
        if (!m) return [];
        const label = (v: number) => String(Number(v.toPrecision(3)));
        return m.flatMap((row, i) => row.map((score, j) => ({ patient: b.patient, i, j, dose1: label(b.doses[0]![i]!), dose2: label(b.doses[1]![j]!), score: score ?? NaN })));
      });
      if (cells.length === 0) continue;
      const [d1, d2] = combination.split('+');
      parts.push(`<h3>${e(combination)}</h3>`);
      parts.push(figure(await renderSvg(heatmapSpec(cells, method, combination)), `${e(method)} synergy per dose cell (${e(d1!)} in ${e(combo.drugs[d1!]?.unit ?? '')} down, ${e(d2!)} in ${e(combo.drugs[d2!]?.unit ?? '')} across), nominal twin of each patient: red = more inhibition of ${e(title)} than the drugs' expected joint effect, blue = less.`));
    }
    // Trajectories under each patient's top combination at its most synergistic dose cell.
    const trajectoryFigures: string[] = [];
    for (const twin of twins) {
      const rows: Array<Record<string, string | number>> = [];
      const top = combo.ranking.find((r) => r.patient === twin.patient && r.readout === primary.name && r.rank === 1);
      const block = top && combo.blocks.find((b) => b.patient === twin.patient && b.readout === primary.name && b.drugs.join('+') === top.combination);
      const m = block?.scores[method]?.matrix;
      if (!top || !block || !m || block.drugs.length !== 2) continue;
      let best = [1, 1], bestScore = -Infinity;
      m.forEach((row, i) => row.forEach((v, j) => { if (i > 0 && j > 0 && v !== null && v > bestScore) { bestScore = v; best = [i, j]; } }));
      const [a, b2] = block.drugs as [string, string];
      const doseA = block.doses[0]![best[0]!]!, doseB = block.doses[1]![best[1]!]!;
      const arm = (drugs: Array<[string, number]>) => drugs.map(([drug, dose]): Treatment => ({ drug, dose, tOn: 0, schedule: { kind: 'bolus' } }));
      const arms: Array<[string, Treatment[]]> = [
        ['untreated', []], ['first drug alone', arm([[a, doseA]])], ['second drug alone', arm([[b2, doseB]])], ['both', arm([[a, doseA], [b2, doseB]])],
      ];
      const rowLabel = `${twin.patient}: ${a} ${fmt(doseA)} ${combo.drugs[a]?.unit ?? ''} + ${b2} ${fmt(doseB)} ${combo.drugs[b2]?.unit ?? ''}`;
      const model = parseModel(withDrugs(twin.model, library, { [a]: [{ kind: 'bolus' }], [b2]: [{ kind: 'bolus' }] }));
      const t1 = combo.options.t1;
      // Denser early on, where the drugs act within minutes: t = t1·(k/200)².
      const times = Array.from({ length: 201 }, (_, k) => t1 * (k / 200) ** 2);
      const ys = await simulateTwin(twin, model, library, arms.map(([, tr]) => tr), times);
      const N = model.states.length;
      const quantities: Array<[string, (y: Float64Array, p: Float64Array, t: number) => number]> = [];
      const jObs = model.observables.some((o) => o.name === 'J') ? compileObservable(model, 'J') : undefined;
      if (jObs) quantities.push(['transcriptional output J (1/s)', (y, p, t) => jObs.value(t, y, p)]);
      for (const [name, label] of [['phi', 'condensate fraction φ (1)'], ['P', 'engaged Pol II P (1)']] as const) {
        const k = model.states.findIndex((s) => s.name === name);
        if (k >= 0) quantities.push([label, (y) => y[k]!]);
      }
      arms.forEach(([label, tr], armIndex) => {
        const p = twinParams(twin, model, tr, library);
        for (const [quantity, f] of quantities) times.forEach((t, k) => rows.push({ arm: label, quantity, t_h: t / 3600, value: f(ys[armIndex]!.subarray(k * N, (k + 1) * N), p, t) }));
      });
      trajectoryFigures.push(await renderSvg(trajectorySpec(rows, rowLabel)));
    }
    if (trajectoryFigures.length) parts.push('<h2>Trajectories under the top combinations</h2>' + figure(trajectoryFigures.join('<br>'), `each patient's top-ranked combination (title, with the doses of the cell where its ${e(method)} synergy is largest): the nominal twin untreated, with each drug alone and with both, given at time 0; the time axis is square-root scaled so the first minutes, where the drugs act, are visible.`));
    // Ranking.
    const ranking = combo.ranking.filter((r) => r.readout === primary.name);
    parts.push('<h2>Ranking</h2>');
    const forest = ranking.map((r) => ({ patient: r.patient, combination: r.combination, rank: r.rank, score: r.score.value ?? NaN, lo: r.score.lo95 ?? r.score.value ?? NaN, hi: r.score.hi95 ?? r.score.value ?? NaN, call: r.call }));
    parts.push(figure(await renderSvg(rankingSpec(forest, method)),
      `each combination's ${e(method)} summary on the nominal twin (point) and its 95 % interval over the twin's uncertainty samples (bar), best first; the colour is SynergyFinder's reading (±10), "uncertain" when the interval crosses it.`));
    parts.push(`<table><thead><tr><th>patient</th><th>rank</th><th>combination</th><th>${e(method)} score [95 % interval]</th><th>call</th><th>mean inhibition, % [95 % interval]</th><th>samples</th><th>cannot be told apart from</th></tr></thead><tbody>${ranking.map((r) =>
      `<tr><td>${e(r.patient)}</td><td>${r.rank}</td><td>${e(r.combination)}</td><td>${fmt(r.score.value)} [${fmt(r.score.lo95)}, ${fmt(r.score.hi95)}]</td><td>${e(r.call)}</td><td>${fmt(r.efficacy.value)} [${fmt(r.efficacy.lo95)}, ${fmt(r.efficacy.hi95)}]</td><td>${r.samplesUsed}</td><td>${r.tiedWith === null ? 'not assessed (no samples)' : e(r.tiedWith.join(', ') || '—')}</td></tr>`).join('')}</tbody></table>`);
  }

  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>condensate-twin report</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.4rem; font-size: 1.05rem; }
figure { margin: 0.8rem 0 1.4rem; overflow-x: auto; } figcaption { color: #444; max-width: 900px; margin-top: 0.3rem; }
table { border-collapse: collapse; margin: 0.6rem 0; } th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } .note { color: #8a4b00; }
</style></head><body>
<h1>condensate-twin report</h1>
<p>Twins: ${e(options.twinsDir)} (${twins.length}: ${twins.map((t) => e(t.patient)).join(', ')})${options.comboDir ? `; combination screen: ${e(options.comboDir)}` : ''}. Engine ${e(version)}.</p>
${parts.join('\n')}
</body></html>
`;
}
