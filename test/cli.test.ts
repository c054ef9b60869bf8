/** `ctwin` end to end: the DESIGN.md contract, and bad input → clear message, exit 2, no output file. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ctwin-'));
const model = join(dir, 'lorenz.json');
writeFileSync(model, readFileSync(new URL('../examples/lorenz.json', import.meta.url)));

async function ctwin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('ctwin simulate', () => {
  it('writes traj.csv and status.csv as in the contract', async () => {
    const params = join(dir, 'p.csv');
    writeFileSync(params, 'rho,x\n28,1\n10,2\n');
    const out = join(dir, 'traj.csv'), status = join(dir, 'status.csv');
    const r = await ctwin('simulate', '--model', model, '--params', params, '--t1', '2', '--saveat', '0:1:2', '--backend', 'cpu', '--out', out, '--status-out', status);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('traj,t,x,y,z');
    expect(lines).toHaveLength(1 + 2 * 3);
    expect(lines[1]).toBe('0,0,1,0,0');
    expect(lines[4]).toBe('1,0,2,0,0');
    expect(readFileSync(status, 'utf8').trim().split('\n')).toEqual(['traj,status,steps,rejected', expect.stringMatching(/^0,success,\d+,\d+$/), expect.stringMatching(/^1,success,\d+,\d+$/)]);
  });

  const bad: Array<[string, string[], RegExp, string?]> = [
    ['no command flags', ['simulate'], /--model is required/],
    ['unknown flag', ['simulate', '--model', model, '--t1', '1', '--out', 'X', '--bogus', '1'], /Unknown option '--bogus'/],
    ['non-numeric t1', ['simulate', '--model', model, '--t1', 'ten', '--out', 'X'], /--t1 ten: expected a number/],
    ['t1 before t0', ['simulate', '--model', model, '--t0', '5', '--t1', '1', '--out', 'X'], /t1 \(1\) must be greater than t0 \(5\)/],
    ['unknown method', ['simulate', '--model', model, '--t1', '1', '--method', 'euler', '--out', 'X'], /--method euler: unknown/],
    ['rk4 without dt', ['simulate', '--model', model, '--t1', '1', '--method', 'rk4', '--out', 'X'], /needs dt \(--dt\)/],
    ['bad saveat', ['simulate', '--model', model, '--t1', '1', '--saveat', '0:0:1', '--out', 'X'], /--saveat 0:0:1: the step must be positive/],
    ['saveat outside span', ['simulate', '--model', model, '--t1', '1', '--saveat', '0,2', '--out', 'X'], /save time 2 lies outside/],
    ['missing model file', ['simulate', '--model', join(dir, 'nope.json'), '--t1', '1', '--out', 'X'], /nope\.json: cannot read the model file \(ENOENT\)/],
    ['bad params column', ['simulate', '--model', model, '--t1', '1', '--params', 'BADCOL', '--out', 'X'], /p-badcol\.csv:1:2: column "kappa" is neither a parameter nor a state/, 'rho,kappa\n1,2\n'],
    ['bad params cell', ['simulate', '--model', model, '--t1', '1', '--params', 'BADCELL', '--out', 'X'], /p-badcell\.csv:3:1: "abc" in column "rho" is not a finite number/, 'rho\n1\nabc\n'],
    ['batch disagrees with params', ['simulate', '--model', model, '--t1', '1', '--batch', '5', '--params', 'OK', '--out', 'X'], /--batch 5 disagrees/, 'rho\n1\n2\n'],
    ['output directory missing', ['simulate', '--model', model, '--t1', '1', '--out', '/nonexistent/dir/t.csv'], /directory \/nonexistent\/dir does not exist/],
  ];
  it.each(bad)('%s → exit 2, a clear message, no output file', async (name, args, message, csv) => {
    const sub = mkdtempSync(join(dir, 'case-'));
    const out = join(sub, 'traj.csv');
    const filled = args.map((a) => {
      if (a === 'X') return out;
      if (['BADCOL', 'BADCELL', 'OK'].includes(a)) { const f = join(sub, `p-${a.toLowerCase()}.csv`); writeFileSync(f, csv!); return f; }
      return a;
    });
    const r = await ctwin(...filled);
    expect(r.code, `${name}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(sub).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a malformed model file names its line and column', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "states": { "x": 1 },\n  "params": {},\n  "equations": { "x": "-k*x" } }');
    const r = await ctwin('simulate', '--model', broken, '--t1', '1', '--out', join(dir, 'never.csv'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.json:3:\d+: equation for "x": unknown symbol "k"/);
    expect(existsSync(join(dir, 'never.csv'))).toBe(false);
  });

  it('ctwin doctor reports the adapter or the CPU fallback', async () => {
    const r = await ctwin('doctor');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GPU backend: (available|unavailable)/);
  });
});
