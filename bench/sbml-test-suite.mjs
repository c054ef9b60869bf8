// The SBML Test Suite's semantic cases (github.com/sbmlteam/sbml-test-suite, cases/semantic) run
// through `importSbml` and the f64 CPU solver, each compared with the suite's expected results by
// the suite's own criterion |expected − ours| ≤ absolute + relative·|expected| (settings file).
//
//   node bench/sbml-test-suite.mjs SUITE/cases/semantic [--from 1] [--to 1821] [--only 00001,00027]
//        [--json out.json] [--verbose]
//
// Prints per outcome: pass, fail (numbers differ: the case and the worst variable), refused (the
// importer said what it does not support: grouped by message), skipped (not a deterministic time
// course, or no Level 2/3 file). After `npm run build`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importSbml } from '../dist/io/sbml/sbml.js';
import { parseModel, makeProblem, solve, releaseCpuWorkers } from '../dist/index.js';
import { compileObservable } from '../dist/training/loss.js';


/** settings.txt → { start, duration, steps, variables, absolute, relative, amount, concentration } */
function settings(text) {
  const kv = Object.fromEntries(text.split('\n').map((l) => l.split(/:\s*/, 2)).filter((p) => p.length === 2).map(([k, v]) => [k.trim(), v.trim()]));
  const list = (s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []);
  return {
    start: Number(kv.start), duration: Number(kv.duration), steps: Number(kv.steps), variables: list(kv.variables),
    absolute: Number(kv.absolute), relative: Number(kv.relative), amount: new Set(list(kv.amount)), concentration: new Set(list(kv.concentration)),
  };
}

/** One case (the folder with its files): 'pass' | 'fail' | 'refused' | 'skipped', with details. test/sbml.test.ts uses it too. */
export async function runCase(caseDir, id) {
  const header = readFileSync(join(caseDir, `${id}-model.m`), 'utf8');
  const testType = /testType:\s*(\S+)/.exec(header)?.[1];
  if (testType !== 'TimeCourse') return { outcome: 'skipped', why: `testType ${testType}` };
  const file = ['l3v2', 'l3v1', 'l2v5', 'l2v4', 'l2v3', 'l2v2', 'l2v1'].map((l) => join(caseDir, `${id}-sbml-${l}.xml`)).find(existsSync);
  if (!file) return { outcome: 'skipped', why: 'no Level 2 or 3 file' };
  const s = settings(readFileSync(join(caseDir, `${id}-settings.txt`), 'utf8'));
  let spec;
  try { ({ spec } = importSbml(readFileSync(file, 'utf8'), file)); } catch (err) {
    if (err?.name === 'InputError') return { outcome: 'refused', why: err.message.replace(/^[^:]*:\d+:\d+: /, '').replace(/^[^:]*\.xml: /, '') };
    throw err;
  }
  // Each requested variable as an observable, in the unit the case asks for.
  const renamed = spec.sbml.renamed, nameOf = (id) => renamed[id] ?? id;
  const observables = {};
  for (const v of s.variables) {
    const sp = spec.sbml.species[v];
    let text = nameOf(v);
    if (sp && s.amount.has(v) && !sp.amount) text = `${nameOf(v)} * ${nameOf(sp.compartment)}`;
    if (sp && s.concentration.has(v) && sp.amount) text = `${nameOf(v)} / ${nameOf(sp.compartment)}`;
    observables[`out__${v}`] = text;
  }
  let model;
  try { model = parseModel({ ...spec, observables }); } catch (err) {
    return { outcome: 'refused', why: `parseModel: ${err.message.replace(/^<model>:\d+:\d+: /, '')}` };
  }
  const t1 = s.start + s.duration;
  const saveat = Array.from({ length: s.steps + 1 }, (_, i) => (i === s.steps ? t1 : s.start + (s.duration * i) / s.steps));
  const sol = await solve(makeProblem(model, { t0: s.start, t1, saveat }), 'rodas4', { backend: 'cpu', rtol: 1e-10, atol: 1e-16, maxSteps: 1e6 });
  if (sol.status[0] !== 1) return { outcome: 'fail', why: `solver status ${sol.status[0]} at t = ${sol.tEnd[0]}` };
  const rows = readFileSync(join(caseDir, `${id}-results.csv`), 'utf8').trim().split(/\r?\n/);
  const head = rows[0].split(',').map((h) => h.trim());
  const N = model.states.length, p = Float64Array.from(model.params.map((q) => q.value));
  let worst = { excess: -Infinity };
  for (const v of s.variables) {
    const col = head.indexOf(v);
    if (col < 0) continue;
    const h = compileObservable(model, `out__${v}`);
    rows.slice(1).forEach((line, i) => {
      const expected = Number(line.split(',')[col]);
      const ours = h.value(saveat[i], sol.y.subarray(i * N, (i + 1) * N), p);
      const excess = Math.abs(expected - ours) - (s.absolute + s.relative * Math.abs(expected));
      if (excess > worst.excess || Number.isNaN(ours)) worst = { excess: Number.isNaN(ours) ? Infinity : excess, v, t: saveat[i], expected, ours };
    });
  }
  return worst.excess <= 0 ? { outcome: 'pass' } : { outcome: 'fail', why: `${worst.v} at t = ${worst.t}: expected ${worst.expected}, got ${worst.ours}` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: args, positionals } = parseArgs({ allowPositionals: true, options: {
    from: { type: 'string', default: '1' }, to: { type: 'string', default: '1821' }, only: { type: 'string' },
    json: { type: 'string' }, verbose: { type: 'boolean' },
  } });
  const dir = positionals[0];
  if (!dir || !existsSync(dir)) { console.error('usage: node bench/sbml-test-suite.mjs SUITE/cases/semantic [--from N] [--to N] [--only ids] [--json out.json]'); process.exit(2); }
  const ids = args.only ? args.only.split(',') : Array.from({ length: Number(args.to) - Number(args.from) + 1 }, (_, i) => String(Number(args.from) + i).padStart(5, '0'));
  const results = {};
  const started = performance.now();
  for (const id of ids) {
    const caseDir = join(dir, id);
    if (!existsSync(caseDir)) continue;
    try { results[id] = await runCase(caseDir, id); } catch (err) { results[id] = { outcome: 'error', why: String(err?.stack ?? err).split('\n').slice(0, 3).join(' | ') }; }
    if (args.verbose && results[id].outcome !== 'pass') console.log(id, results[id].outcome, results[id].why ?? '');
  }
  await releaseCpuWorkers();
  const by = (o) => Object.entries(results).filter(([, r]) => r.outcome === o);
  const total = Object.keys(results).length;
  console.log(`${total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s: ${['pass', 'fail', 'refused', 'skipped', 'error'].map((o) => `${by(o).length} ${o}`).join(', ')}`);
  const groups = new Map();
  for (const [id, r] of by('refused')) { const k = r.why.replace(/"[^"]*"/g, '"…"').slice(0, 90); groups.set(k, [...(groups.get(k) ?? []), id]); }
  console.log('refused, by reason:');
  for (const [k, v] of [...groups].sort((a, b) => b[1].length - a[1].length)) console.log(`  ${String(v.length).padStart(4)}  ${k}  (e.g. ${v.slice(0, 3).join(', ')})`);
  for (const o of ['fail', 'error']) { const l = by(o); if (l.length) { console.log(`${o}:`); for (const [id, r] of l.slice(0, 40)) console.log(`  ${id} ${r.why}`); } }
  if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 1));
}
