/**
 * Per-patient twins and `ctwin calibrate`: the applicability test on constructed fits, the
 * Laplace standard errors against second differences of the loss (an independent path: loss
 * values only, no adjoint), twin files validated on load, and the CLI's determinism, checkpoints,
 * --resume after kill -9 and Ctrl-C (byte-identical files, nothing half-written).
 */
import { describe, expect, it } from 'vitest';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applicabilityOf, calibrateTwins, condensateModelSpec, readTwin, type PatientFit } from '../src/index.js';
import { readImaging } from '../src/io/read.js';
import { readTable } from '../src/io/table.js';
import { readDesign } from '../src/io/design.js';
import { writeLong } from '../src/io/long.js';
import { bundledDrugs } from '../src/twin/drugs.js';
import { prepareCalibration } from '../src/twin/calibrate.js';
import { InputError } from '../src/io/csv.js';

const COHORT = new URL('../examples/cohort/', import.meta.url).pathname;
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);

/** A fit with per-cell observations of one observable (n measurements each, σ shared). */
function fitOf(rss: number[], sigma: number, n = 60): PatientFit {
  return {
    patient: 'P', params: {}, x: [], nll: 0, loss: 0, status: 'ok', r2Fit: 1, r2Heldout: 1, nllByObservable: {}, data: rss.length * n, frap: [],
    cells: rss.map((r, i) => ({ cell: String(i), heldOut: false, condition: '', r2: 1, observations: { o: { cell: String(i), scale: 1, offset: 0, drift: 0, bleach: 0, sigma, rss: r, tss: 1, n } } })),
  };
}

describe('applicability test (Vuong over cells, with a materiality margin)', () => {
  it('needs condensates when every cell fits much better with them, not when the gain is small or inconsistent', () => {
    const alt = fitOf([200, 210, 190, 205, 195, 200], Math.sqrt(200 / 60));
    // Much better on every cell: σ² halves → gain ≈ n/2·ln 2 + … per cell.
    const better = applicabilityOf(fitOf([100, 104, 97, 101, 99, 100], Math.sqrt(100 / 60)), alt, 6, 5);
    expect(better.condensate_needed).toBe(true);
    expect(better.delta!).toBeGreaterThan(2.33);
    expect(better.gain_per_measurement!).toBeGreaterThan(0.1);
    // The same fit: no gain at all.
    const same = applicabilityOf(alt, alt, 6, 5);
    expect(same.condensate_needed).toBe(false);
    // Better on half the cells, worse on the others: not consistent across cells.
    const mixed = applicabilityOf(fitOf([120, 300, 110, 290, 130, 280], Math.sqrt(200 / 60)), alt, 6, 5);
    expect(mixed.condensate_needed).toBe(false);
    // Consistent but tiny (1 % lower RSS everywhere): significant yet not material.
    const tiny = applicabilityOf(fitOf([198, 207.9, 188.1, 203, 193.1, 198], Math.sqrt(198.2 / 60)), alt, 6, 5);
    expect(tiny.gain_per_measurement!).toBeLessThan(0.1);
    expect(tiny.condensate_needed).toBe(false);
    expect(applicabilityOf(alt, undefined, 6, null).condensate_needed).toBeNull();
  });
});

/** Patients' cells 0…cells−1 of the example cohort as a long CSV (small, for fast CLI runs). */
async function smallCohort(dir: string, patients: string[], cells: number): Promise<string> {
  const records = (await Promise.all(patients.map((p) => readImaging(`${COHORT}${p}_spots.csv`)))).flatMap((d) => d.records).filter((r) => Number(r.cell) < cells);
  const path = join(dir, 'small.csv');
  writeLong(path, records);
  return path;
}

const twinFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json') || f.endsWith('.csv')).sort();
const bytes = (dir: string) => Object.fromEntries(twinFiles(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('twins: Laplace uncertainty', () => {
  it('standard errors from the adjoint Hessian match those from second differences of the loss', async () => {
    const records = (await readImaging(`${COHORT}P01_spots.csv`)).records.filter((r) => Number(r.cell) < 6);
    const drugs = bundledDrugs(), design = readDesign(await readTable(`${COHORT}design.csv`), drugs);
    const spec = condensateModelSpec();
    const options = { spec, design, drugs, estimate: ['k_esc', 'k_R'], starts: 1, rounds: 3, iterationsPerRound: 10, holdout: 0, seed: 2 };
    const out = await calibrateTwins(records, options);
    const twin = out.twins[0]!;
    // Independent: the Hessian of the loss by 5-point second differences of loss values in x = log p.
    const pre = (spec.calibration as { preequilibration: { duration: number; initial: Record<string, string> } }).preequilibration;
    const setup = prepareCalibration(records, { ...options, preequilibration: pre });
    // In u = log p (the twin's scale), mapped to the optimiser's unknowns for each point.
    const u = setup.names.map((n) => Math.log(twin.params[n]!.value));
    const h = 2e-2, K = setup.K, pts: Float64Array[] = [];
    const at = (du: number[]) => { pts.push(Float64Array.from(u, (v, k) => setup.tf[k]!.toX(Math.exp(v + du[k]!)))); };
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) for (const [sa, sb] of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) at(Array.from({ length: K }, (_, k) => (k === a ? sa! * h : 0) + (k === b ? sb! * h : 0)));
    const xs = new Float64Array(pts.length * K); pts.forEach((p, i) => xs.set(p, i * K));
    const { loss } = await setup.evaluateRows(xs, pts.map(() => 0), undefined, false);
    const H = Array.from({ length: K * K }, (_, e) => { const i = 4 * e; return (loss[i]! - loss[i + 1]! - loss[i + 2]! + loss[i + 3]!) / (4 * h * h); });
    // 2×2 inverse: SE_k = √(H⁻¹)_kk.
    const det = H[0]! * H[3]! - H[1]! * H[2]!;
    const se = [Math.sqrt(H[3]! / det), Math.sqrt(H[0]! / det)];
    expect(twin.params.k_R!.identifiable).toBe(true);
    setup.names.forEach((name, k) => {
      const p = twin.params[name]!;
      expect(p.se! / p.value / se[k]!).toBeCloseTo(1, 1);
      expect(p.ci95![0]).toBeLessThan(p.value);
      expect(p.ci95![1]).toBeGreaterThan(p.value);
    });
  }, 120_000);
});

describe('ctwin calibrate', () => {
  const args = (data: string, out: string, extra: string[] = []) => ['calibrate', '--model', 'examples/condensate.json', '--data', data, '--design', `${COHORT}design.csv`,
    '--out', out, '--starts', '2', '--rounds', '3', '--iterations', '3', '--seed', '5', '--quiet', ...extra];

  it('writes valid twins, cohort.json and summary.csv; the same seed twice gives the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-cal-'));
    const data = await smallCohort(dir, ['P01', 'P06'], 6);
    const frap = `${COHORT}P01_frap.txt`;
    await run('node', [CLI, ...args(data, join(dir, 'a')), frap]);
    await run('node', [CLI, ...args(data, join(dir, 'b')), frap]);
    expect(twinFiles(join(dir, 'a'))).toEqual(['P01.twin.json', 'P06.twin.json', 'cohort.json', 'summary.csv']);
    expect(bytes(join(dir, 'b'))).toEqual(bytes(join(dir, 'a')));
    const twin = readTwin(join(dir, 'a', 'P01.twin.json'));
    expect(twin.schema).toBe('condensate-twin/twin@1');
    expect(Object.keys(twin.params)).toEqual(['c_sat', 'k_phi', 'k_rec', 'k_esc', 'k_R', 'K_phi']);
    expect(twin.provenance.seed).toBe(5);
    expect(twin.provenance.data[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(twin.applicability.params_without).toBe(5);
    // The Hessian's spectrum says why a parameter has no interval: a parameter with an interval
    // lives in positive-curvature directions only, so some eigenvalue is positive.
    const eig = twin.diagnostics.hessian_eigenvalues!;
    expect(eig).toHaveLength(6);
    expect([...eig].sort((a, b) => a - b)).toEqual(eig);
    if (Object.values(twin.params).some((q) => q.se !== null)) expect(eig[5]).toBeGreaterThan(0);
    if (eig[0]! > 1e-8 * eig[5]!) expect(Object.values(twin.params).every((q) => q.se !== null)).toBe(true);
    expect(twin.diagnostics.heldout_cells).toBe(1);
    expect(Object.keys(twin.observation.cells)).toHaveLength(6);
    // P01's FRAP curve is fitted at the twin's recovery rate; P06 has none.
    expect(twin.diagnostics.frap?.map((f) => f.curve)).toEqual(['P01_frap']);
    expect(twin.diagnostics.frap![0]!.rate).toBeGreaterThan(0);
    expect(twin.diagnostics.per_observable.frap_recovery?.n).toBe(twin.diagnostics.frap![0]!.n);
    expect(readTwin(join(dir, 'a', 'P06.twin.json')).diagnostics.frap).toBeUndefined();
    const summary = readFileSync(join(dir, 'a', 'summary.csv'), 'utf8').trim().split('\n');
    expect(summary[0]).toBe('patient,cells,heldout_cells,r2_fit,r2_heldout,nll,condensate_needed,status');
    expect(summary).toHaveLength(3);
    // The twin refers to cohort.json by its hash.
    expect(twin.weights).toEqual({ cohort: 'cohort.json', sha256: (await import('node:crypto')).createHash('sha256').update(readFileSync(join(dir, 'a', 'cohort.json'))).digest('hex') });
    // A damaged twin is refused with the field that is wrong.
    const bad = JSON.parse(readFileSync(join(dir, 'a', 'P01.twin.json'), 'utf8'));
    bad.params.c_sat.value = 'high';
    writeFileSync(join(dir, 'bad.twin.json'), JSON.stringify(bad));
    expect(() => readTwin(join(dir, 'bad.twin.json'))).toThrow(InputError);
    expect(() => readTwin(join(dir, 'bad.twin.json'))).toThrow(/params\.c_sat\.value/);
  }, 180_000);

  it('kill -9 mid-run, then --resume: the same files as an uninterrupted run; Ctrl-C leaves the checkpoint and no twin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-resume-'));
    const data = await smallCohort(dir, ['P01', 'P06'], 6);
    await run('node', [CLI, ...args(data, join(dir, 'full'))]);
    for (const signal of ['SIGKILL', 'SIGINT'] as const) {
      const out = join(dir, signal);
      // `env --default-signal`: a process started in the background by a non-interactive shell
      // (CI, this test's own runner) inherits SIGINT ignored, and Node then never sees Ctrl-C.
      const child = spawn('env', ['--default-signal=INT', 'node', CLI, ...args(data, out)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += String(d); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Wait for the first checkpoint, then interrupt.
      while (!existsSync(join(out, 'checkpoint.json'))) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200)); // inside the next round
      const sent = performance.now();
      child.kill(signal);
      const code = await exited;
      const exitMs = performance.now() - sent;
      // Nothing under a final name and no temporary file: only the checkpoint, whole.
      expect(readdirSync(out)).toEqual(['checkpoint.json']);
      expect(JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')).stages.with.round).toBeGreaterThanOrEqual(0);
      if (signal === 'SIGINT') {
        // The work runs in the engine's worker thread: the main thread answers Ctrl-C at once.
        expect(exitMs).toBeLessThan(2000);
        expect(code).toBe(130);
        expect(stderr).toMatch(/the last checkpoint is .*checkpoint\.json, continue with the same command and --resume/);
      }
      await run('node', [CLI, ...args(data, out, ['--resume'])]);
      expect(bytes(out)).toEqual(bytes(join(dir, 'full')));
      expect(existsSync(join(out, 'checkpoint.json'))).toBe(false);
    }
  }, 300_000);

  it('bad input: exit 2 with what to do, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-bad-'));
    const data = await smallCohort(dir, ['P01'], 3);
    writeFileSync(join(dir, 'observe.json'), '{"MEAN_INTENSITY_CH1": 3}');
    writeFileSync(join(dir, 'P07_frap.txt'), readFileSync(`${COHORT}P01_frap.txt`));
    const noFrapModel = JSON.parse(readFileSync('examples/condensate.json', 'utf8'));
    delete noFrapModel.calibration.frap;
    writeFileSync(join(dir, 'nofrap.json'), JSON.stringify(noFrapModel));
    const cases: Array<[string[], RegExp]> = [
      [args(data, join(dir, 'o1'), ['--observe', join(dir, 'observe.json')]), /--observe must be a JSON object/],
      [args(data, join(dir, 'o2'), ['--estimate', 'c_sat,nope']), /cannot estimate "nope"/],
      [args(data, join(dir, 'o3'), ['--holdout', '1.5']), /--holdout 1\.5/],
      [['calibrate', '--model', 'examples/condensate.json', '--out', join(dir, 'o4')], /--data is required/],
      [[...args(data, join(dir, 'o5')), join(dir, 'P07_frap.txt')], /patient P07 has no imaging time series/],
      [[...args(data, join(dir, 'o6')), `${COHORT}P01_frap.txt`, '--model', join(dir, 'nofrap.json')], /calibration\.frap\.recovery_rate/],
    ];
    for (const [a, message] of cases) {
      const err = await run('node', [CLI, ...a]).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(err?.code).toBe(2);
      expect(err?.stderr).toMatch(message);
    }
    for (const o of ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']) expect(existsSync(join(dir, o, 'P01.twin.json'))).toBe(false);
  }, 60_000);
});
