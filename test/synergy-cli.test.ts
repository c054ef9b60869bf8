/**
 * `ctwin synergy` (issue #12): SynergyFinder-layout input with its column-name variants, viability
 * or inhibition, replicates; scores.csv and --json as DESIGN.md specifies; bad input → exit 2 with
 * file:line:column and nothing written.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const MATHEWS = new URL('./fixtures/synergy/mathews_screening_data.csv', import.meta.url).pathname;
const run = promisify(execFile);
const ctwin = (...args: string[]) => run('node', [CLI, 'synergy', ...args]).then(
  (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));

describe('ctwin synergy', () => {
  it("scores SynergyFinder's example blocks (viability input): scores.csv and the --json layout", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-syn-'));
    const r = await ctwin('--in', MATHEWS, '--out', join(dir, 'scores.csv'), '--json', join(dir, 'scores.json'), '--input-type', 'viability');
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('block_id,drug1,drug2,method,score');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 4).join(','))).toEqual(['1', '2'].flatMap((b) => ['HSA', 'Bliss', 'Loewe', 'ZIP'].map((m) => `${b},${b === '1' ? 'ispinesib' : 'canertinib'},ibrutinib,${m}`)));
    const json = JSON.parse(readFileSync(join(dir, 'scores.json'), 'utf8'));
    const b1 = json['1'];
    expect(b1.conc1).toEqual([0, 9.7656, 39.0626, 156.25, 625, 2500]);
    expect(b1.conc_unit1).toBe('nM');
    // Viability → inhibition: the well at ispinesib 2500 nM, ibrutinib 50 nM read 7.802637 % viability.
    expect(b1.response[5][5]).toBeCloseTo(100 - 7.802637, 10);
    // HSA from the JSON's own matrix, by hand: mean over combination cells of y − max(monotherapies).
    let sum = 0;
    for (let i = 1; i < 6; i++) for (let j = 1; j < 6; j++) sum += b1.response[i][j] - Math.max(b1.response[i][0], b1.response[0][j]);
    expect(b1.HSA.summary).toBeCloseTo(sum / 25, 10);
    expect(Number(lines[1]!.split(',')[4])).toBeCloseTo(sum / 25, 10);
    for (const m of ['HSA', 'Bliss', 'Loewe', 'ZIP']) { expect(b1[m].matrix).toHaveLength(6); expect(b1[m].ref[0]).toHaveLength(6); }
    expect(Object.keys(b1.fits.drug1).sort()).toEqual(['b', 'c', 'd', 'e', 'model', 'sse']);
  }, 60_000);

  it('reads the column-name variants, semicolons with decimal commas, and averages replicates (inhibition by default)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-syn-'));
    const wells = [[0, 0, 0], [0, 1, 20], [1, 0, 30], [1, 1, 60], [1, 1, 70]];
    writeFileSync(join(dir, 'r.csv'), ['PairIndex;DrugRow;DrugCol;ConcRow;ConcCol;Inhibition;ConcUnit', ...wells.map(([a, b, y]) => `7;A;B;${a};${b};${String(y).replace('.', ',')},0;µM`)].join('\r\n'));
    const r = await ctwin('--in', join(dir, 'r.csv'), '--out', join(dir, 's.csv'), '--methods', 'hsa,bliss', '--json', join(dir, 's.json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 replicated cells averaged/);
    const json = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8'))['7'];
    expect(json.response).toEqual([[0, 20], [30, 65]]);
    expect(json.HSA.summary).toBe(65 - 30);
    expect(json.Bliss.summary).toBeCloseTo(65 - (30 + 20 - 6), 12);
    expect(json.conc_unit1).toBe('µM');
  });

  it('bad input: exit 2 naming the place and what to do, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctwin-syn-bad-'));
    const header = 'block_id,drug1,drug2,conc1,conc2,response';
    const grid = (rows: string[]) => [header, ...rows].join('\n');
    const full = ['1,A,B,0,0,0', '1,A,B,0,1,10', '1,A,B,1,0,20', '1,A,B,1,1,50'];
    const cases: Array<[string, string, RegExp, string[]?]> = [
      ['nocol.csv', 'block_id,drug1,drug2,conc1,conc2\n1,A,B,0,0', /missing column\(s\) response/],
      ['hole.csv', grid(full.slice(0, 3)), /no well at conc1 1, conc2 1/],
      ['text.csv', grid([...full.slice(0, 3), '1,A,B,1,1,lots']), /text\.csv:5:6: "lots" in column "response" is not a number/],
      ['nozero.csv', grid(['1,A,B,1,1,5', '1,A,B,1,2,6', '1,A,B,2,1,7', '1,A,B,2,2,8']), /no conc1 = 0 wells/],
      ['pair.csv', grid([...full.slice(0, 3), '1,A,C,1,1,50']), /pair\.csv:5:2: block 1 is A × B/],
      ['negative.csv', grid([...full.slice(0, 3), '1,A,B,-1,1,50']), /conc1 -1 is negative/],
      ['ok.csv', grid(full), /--methods: unknown method "synergy"/, ['--methods', 'zip,synergy']],
      ['ok2.csv', grid(full), /--input-type percent/, ['--input-type', 'percent']],
    ];
    for (const [name, content, message, extra] of cases) {
      writeFileSync(join(dir, name), content);
      const out = join(dir, `${name}.scores.csv`);
      const r = await ctwin('--in', join(dir, name), '--out', out, ...(extra ?? []));
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  }, 60_000);
});
