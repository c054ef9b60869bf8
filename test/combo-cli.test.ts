/**
 * `ctwin combo` (issue #12): the files a screen writes, responses.csv scored again by
 * `ctwin synergy` to the same numbers, and bad input (unknown drug, dose out of range, a twin file
 * failing its schema, a missing cohort.json) → exit 2, a clear message and nothing written.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticTwin } from './helpers/twin.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);
const ctwin = (...args: string[]) => run('node', [CLI, ...args]).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));

let twins: string;
beforeAll(() => {
  twins = mkdtempSync(join(tmpdir(), 'ctwin-twins-'));
  // Two patients: the model's values and a twin with a higher saturation concentration.
  writeFileSync(join(twins, 'A.twin.json'), JSON.stringify(syntheticTwin('A')));
  writeFileSync(join(twins, 'B.twin.json'), JSON.stringify(syntheticTwin('B', { values: { c_sat: 0.9, k_esc: 0.15 } })));
});

describe('ctwin combo', () => {
  it('writes responses.csv (SynergyFinder layout), scores, ranking, samples and combo.json; ctwin synergy agrees', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ctwin-combo-')), 'screen');
    const r = await ctwin('combo', '--twins', twins, '--out', out, '--pairs', 'jq1+thz1,thz1+flavopiridol', '--doses', '5', '--samples', '4',
      '--t1', '7200', '--readout', 'output_auc,pol2', '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['combo.json', 'ranking.csv', 'responses.csv', 'samples.csv', 'scores.csv']);
    const responses = readFileSync(join(out, 'responses.csv'), 'utf8').trim().split('\n');
    expect(responses[0]).toBe('block_id,drug1,drug2,conc1,conc2,response,conc_unit1,conc_unit2,patient,readout');
    expect(responses).toHaveLength(1 + 2 * 2 * 2 * 25); // patients × pairs × readouts × 5×5 cells
    expect(responses[1]).toMatch(/^1,jq1,thz1,0,0,0,nM,nM,A,output_auc$/);
    const ranking = readFileSync(join(out, 'ranking.csv'), 'utf8').trim().split('\n');
    expect(ranking[0]).toBe('patient,readout,method,rank,combination,score,score_median,score_lo95,score_hi95,call,efficacy,efficacy_lo95,efficacy_hi95,samples_used,cannot_be_told_apart_from');
    expect(ranking).toHaveLength(1 + 2 * 2 * 2);
    const json = JSON.parse(readFileSync(join(out, 'combo.json'), 'utf8'));
    expect(json.schema).toBe('condensate-twin/combo@1');
    expect(json.drugs.jq1.levels).toEqual([0, 10, 10 * 500 ** (1 / 3), 10 * 500 ** (2 / 3), 5000]);
    expect(json.blocks[0].scores.ZIP.matrix).toHaveLength(5);
    // The same responses scored by ctwin synergy give the nominal scores of scores.csv.
    const again = join(out, '..', 'again.csv');
    const s = await ctwin('synergy', '--in', join(out, 'responses.csv'), '--out', again, '--quiet');
    expect(s.code, s.stderr).toBe(0);
    const mine = new Map(readFileSync(join(out, 'scores.csv'), 'utf8').trim().split('\n').slice(1).map((l) => { const f = l.split(','); return [`${f[0]}/${f[3]}`, Number(f[4])]; }));
    const theirs = readFileSync(again, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(theirs).toHaveLength(8 * 4);
    for (const f of theirs) expect(Number(f[4])).toBeCloseTo(mine.get(`${f[0]}/${f[3]}`)!, 9);
  }, 120_000);

  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown drug', ['--pairs', 'jq1+aspirin'], /unknown drug "aspirin".*known: hexanediol/],
    ['a dose range outside the library\'s', ['--pairs', 'jq1+thz1', '--dose-range', 'jq1=1:50000'], /dose range of jq1 1:50000 nM lies outside the library's range 10:5000 nM/],
    ['a malformed dose range', ['--pairs', 'jq1+thz1', '--dose-range', 'jq1=10-100'], /--dose-range jq1=10-100: expected drug=lowest:highest/],
    ['no combination', [], /give --pairs/],
    ['an unknown readout', ['--pairs', 'jq1+thz1', '--readout', 'viability'], /unknown readout "viability"/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what}: exit 2, a clear message, nothing written`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'ctwin-combo-bad-')), 'screen');
      const r = await ctwin('combo', '--twins', twins, '--out', out, '--samples', '0', '--doses', '3', '--backend', 'cpu', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a twin file failing its schema, or twins whose cohort.json is missing: exit 2, the file named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-badtwin-'));
    const broken = syntheticTwin('C') as unknown as Record<string, unknown>;
    delete broken.applicability;
    writeFileSync(join(dir, 'C.twin.json'), JSON.stringify(broken));
    const out = join(dir, 'screen');
    let r = await ctwin('combo', '--twins', dir, '--out', out, '--pairs', 'jq1+thz1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/C\.twin\.json: not a valid condensate-twin\/twin@1 file: applicability/);
    expect(existsSync(out)).toBe(false);
    const dir2 = mkdtempSync(join(tmpdir(), 'ctwin-nocohort-'));
    writeFileSync(join(dir2, 'D.twin.json'), JSON.stringify({ ...syntheticTwin('D'), weights: { cohort: 'cohort.json', sha256: 'a'.repeat(64) } }));
    r = await ctwin('combo', '--twins', dir2, '--out', join(dir2, 'screen'), '--pairs', 'jq1+thz1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/weights are in cohort\.json, which is missing/);
    mkdirSync(join(dir2, 'empty'));
    r = await ctwin('combo', '--twins', join(dir2, 'empty'), '--out', join(dir2, 'screen'), '--pairs', 'jq1+thz1');
    expect(r.stderr).toMatch(/no \*\.twin\.json files/);
    expect(r.code).toBe(2);
  });
});

describe('ctwin combo, interrupted', () => {
  it('Ctrl-C mid-screen: exit 130 within 2 s, no result file, the checkpoint kept; --resume gives the same files', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ctwin-combo-int-'));
    const args = (out: string, extra: string[] = []) => ['combo', '--twins', twins, '--out', out, '--pairs', 'jq1+thz1', '--doses', '7', '--samples', '40',
      '--backend', 'cpu', '--chunk', '10', '--quiet', ...extra];
    const full = join(base, 'full'), cut = join(base, 'cut');
    expect((await ctwin(...args(full))).code).toBe(0);
    const files = readdirSync(full).sort();
    expect(files).toEqual(['combo.json', 'ranking.csv', 'responses.csv', 'samples.csv', 'scores.csv']);
    // `env --default-signal`: a process started in the background by a non-interactive shell
    // inherits SIGINT ignored, and Node then never sees Ctrl-C.
    const child = spawn('env', ['--default-signal=INT', 'node', CLI, ...args(cut)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!existsSync(join(cut, 'checkpoint.json'))) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300)); // well inside the screen: chunks are being simulated
    const sent = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const exitMs = performance.now() - sent;
    expect(code).toBe(130);
    expect(exitMs).toBeLessThan(2000);
    expect(stderr).toMatch(/interrupted: nothing of the screen written; the last checkpoint is .*checkpoint\.json, continue with the same command and --resume/);
    // Nothing under a final name, no temporary file left: only the checkpoint, whole.
    expect(readdirSync(cut)).toEqual(['checkpoint.json']);
    const ck = JSON.parse(readFileSync(join(cut, 'checkpoint.json'), 'utf8')) as { groups: Record<string, { done: number }> };
    const done = ck.groups['0']!.done;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(2 * 41 * 49); // twins × (samples + 1) × treatments
    mkdirSync(join(base, 'other'));
    writeFileSync(join(base, 'other', 'checkpoint.json'), readFileSync(join(cut, 'checkpoint.json')));
    const resumed = await ctwin(...args(cut, ['--resume']).filter((a) => a !== '--quiet'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming from .*checkpoint\\.json: ${done} treated trajectories already simulated`));
    expect(readdirSync(cut).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(cut, f), 'utf8'), f).toBe(readFileSync(join(full, f), 'utf8'));
    // The checkpoint of another screen (here: other --samples) is refused, and left as it was.
    const other = await ctwin(...args(join(base, 'other'), ['--resume', '--samples', '3']));
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/checkpoint\.json: made by a screen with other twins or options; rerun without --resume/);
    expect(readdirSync(join(base, 'other'))).toEqual(['checkpoint.json']);
  }, 120_000);

  it('Ctrl-C while the engine scores (long synchronous work, in the worker thread): exit 130 within 2 s, only the checkpoint left', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ctwin-combo-score-')), 'screen');
    const child = spawn('env', ['--default-signal=INT', 'node', CLI, 'combo', '--twins', twins, '--out', out, '--all-pairs', '--samples', '24', '--backend', 'cpu'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!/^scoring$/m.test(stderr)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300)); // inside the scoring (several seconds here)
    const sent = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const exitMs = performance.now() - sent;
    console.log(`combo interrupted while scoring: exit ${code} after ${exitMs.toFixed(0)} ms`);
    expect(code).toBe(130);
    expect(exitMs).toBeLessThan(2000);
    expect(stderr).not.toMatch(/^wrote /m);
    expect(readdirSync(out)).toEqual(['checkpoint.json']);
    const ck = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { groups: Record<string, { done: number }> };
    expect(ck.groups['0']!.done).toBe(2 * 25 * 526); // every trajectory simulated: only the scores were missing
  }, 120_000);
});
