/** `ctwin` end to end: the DESIGN.md contract, and bad input → clear message, exit 2, no output file. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { gpu, requireGpu } from './helpers/gpu.js';
import { filterDawnWarnings } from '../src/cli/dawn-filter.js';
import { makeProblem, parseModel, solve } from '../src/index.js';

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
    // The computed rows (t = 1, 2) against an independent fine-step RK4 solve of the same Lorenz system.
    const lorenz = parseModel(JSON.parse(readFileSync(model, 'utf8')));
    for (const [traj, rho, x0] of [[0, 28, 1], [1, 10, 2]] as const) {
      const P = lorenz.params.map((p) => (p.name === 'rho' ? rho : p.value));
      const ref = await solve(makeProblem(lorenz, { t1: 2, saveat: [1, 2], params: Float64Array.from(P), initial: Float64Array.of(x0, 0, 0) }),
        'rk4', { dt: 1e-4, backend: 'cpu', maxSteps: 1e6 });
      for (const t of [1, 2]) {
        const cells = lines[1 + traj * 3 + t]!.split(',').map(Number);
        expect(cells.slice(0, 2)).toEqual([traj, t]);
        for (let k = 0; k < 3; k++) {
          const r = ref.y[(t - 1) * 3 + k]!;
          expect(Math.abs(cells[2 + k]! - r) / Math.max(1, Math.abs(r)), `traj ${traj} t ${t} state ${k}`).toBeLessThan(1e-5);
        }
      }
    }
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
  // Each case is its own process; they run side by side.
  it.concurrent.for(bad)('%s → exit 2, a clear message, no output file', async ([name, args, message, csv], { expect }) => {
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

  it('ctwin doctor reports what the test process found: the adapter, or the CPU fallback and why', async () => {
    const r = await ctwin('doctor');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(gpu.ok ? /GPU backend: available/ : /GPU backend: unavailable/);
  });
});

describe('ctwin gradient', () => {
  const decay = join(dir, 'decay.json');
  writeFileSync(decay, JSON.stringify({ name: 'decay', states: { x: 2 }, params: { k: 0.5, unused: 1 }, equations: { x: '-k*x' } }));
  const data = join(dir, 'data.csv');
  writeFileSync(data, 'traj,t,observable,value\n0,1,x,1.3\n0,2,x,NA\n0,3,x,0.4\n1,2,x,0.6\n');

  it('prints the loss and per-trajectory gradients of the contract, equal to the analytic ones', async () => {
    const params = join(dir, 'decay-p.csv');
    writeFileSync(params, 'k,x\n0.5,2\n0.3,1\n');
    const r = await ctwin('gradient', '--model', decay, '--data', data, '--params', params, '--sigma', '0.5', '--rtol', '1e-12', '--atol', '1e-14');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // x(t) = x0 e^(−kt): L = Σ ½((x(t) − v)/σ)², ∂L/∂k = Σ r/σ · (−t x(t)), ∂L/∂x0 = Σ r/σ · e^(−kt).
    const terms = [[0.5, 2, 1, 1.3], [0.5, 2, 3, 0.4], [0.3, 1, 2, 0.6]] as const;
    let L = 0;
    const gk = [0, 0], gx = [0, 0];
    terms.forEach(([k, x0, t, v], i) => {
      const b = i < 2 ? 0 : 1, x = x0 * Math.exp(-k * t), r = (x - v) / 0.5;
      L += 0.5 * r * r; gk[b]! += (r / 0.5) * (-t * x); gx[b]! += (r / 0.5) * Math.exp(-k * t);
    });
    expect(out.loss).toBeCloseTo(L, 9);
    expect(out.grad).toHaveLength(2);
    out.grad.forEach((g: { traj: number; params: Record<string, number>; initial: Record<string, number> }, b: number) => {
      expect(g.traj).toBe(b);
      expect(g.params.k).toBeCloseTo(gk[b]!, 8);
      expect(g.params.unused).toBe(0);
      expect(g.initial.x).toBeCloseTo(gx[b]!, 8);
    });
  });

  it('--backend gpu: the f32 GPU adjoint gives the analytic gradient to f32 accuracy', async (ctx) => {
    requireGpu(ctx);
    const params = join(dir, 'decay-p.csv');
    writeFileSync(params, 'k,x\n0.5,2\n0.3,1\n');
    const terms = [[0.5, 2, 1, 1.3], [0.5, 2, 3, 0.4], [0.3, 1, 2, 0.6]] as const;
    const gk = [0, 0], gx = [0, 0];
    terms.forEach(([k, x0, t, v], i) => {
      const b = i < 2 ? 0 : 1, x = x0 * Math.exp(-k * t), r = (x - v) / 0.5;
      gk[b]! += (r / 0.5) * (-t * x); gx[b]! += (r / 0.5) * Math.exp(-k * t);
    });
    const rg = await ctwin('gradient', '--model', decay, '--data', data, '--params', params, '--sigma', '0.5', '--backend', 'gpu');
    expect(rg.code, rg.stderr).toBe(0);
    const outG = JSON.parse(rg.stdout);
    expect(outG.backend).toBe('gpu');
    outG.grad.forEach((g: { params: Record<string, number>; initial: Record<string, number> }, b: number) => {
      expect(Math.abs(g.params.k! / gk[b]! - 1)).toBeLessThan(2e-5);
      expect(g.params.unused).toBe(0);
      expect(Math.abs(g.initial.x! / gx[b]! - 1)).toBeLessThan(2e-5);
      console.log(`ctwin gradient --backend gpu, traj ${b}: ∂k ${(g.params.k! / gk[b]! - 1).toExponential(1)}, ∂x0 ${(g.initial.x! / gx[b]! - 1).toExponential(1)} relative`);
    });
  });

  const bad: Array<[string, string[], RegExp, string?]> = [
    ['no data flag', ['gradient', '--model', decay], /--data is required/],
    ['unknown observable', ['gradient', '--model', decay, '--data', 'CSV'], /:2:3: "z" is neither a state nor an observable/, 'traj,t,observable,value\n0,1,z,1\n'],
    ['bad value', ['gradient', '--model', decay, '--data', 'CSV'], /:3:4: "abc" in column "value" is not a finite number/, 'traj,t,observable,value\n0,1,x,1\n0,2,x,abc\n'],
    ['missing column', ['gradient', '--model', decay, '--data', 'CSV'], /:1:1: the data file needs a "value" column/, 'traj,t,observable\n0,1,x\n'],
    ['unknown column', ['gradient', '--model', decay, '--data', 'CSV'], /:1:5: unknown column "weight"/, 'traj,t,observable,value,weight\n0,1,x,1,2\n'],
    ['negative sigma', ['gradient', '--model', decay, '--data', 'CSV', '--sigma=-1'], /--sigma -1: must be positive/, 'traj,t,observable,value\n0,1,x,1\n'],
    ['GPU adjoint finer than f32', ['gradient', '--model', decay, '--data', 'CSV', '--backend', 'gpu', '--rtol', '1e-10'], /rtol 1e-10 is finer than the GPU's f32 arithmetic resolves/, 'traj,t,observable,value\n0,1,x,1\n'],
    ['log-normal with a zero value', ['gradient', '--model', decay, '--data', 'CSV', '--noise', 'lognormal'], /:2:4: log-normal noise needs positive values/, 'traj,t,observable,value\n0,1,x,0\n'],
  ];
  it.concurrent.for(bad)('%s → exit 2 and a clear message', async ([name, args, message, csv], { expect }) => {
    const sub = mkdtempSync(join(dir, 'grad-'));
    const filled = args.map((a) => { if (a !== 'CSV') return a; const f = join(sub, 'd.csv'); writeFileSync(f, csv!); return f; });
    const r = await ctwin(...filled);
    expect(r.code, `${name}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('ctwin basics', () => {
  it('bare ctwin prints the usage and exits 0; --version prints the package version', async () => {
    const bare = await ctwin();
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/^usage: ctwin <command>/);
    expect(bare.stdout).toMatch(/exit codes:\n +0 +success\n +1 +internal error.*\n +2 +bad input.*\n +3 +`simulate`: some trajectories did not reach t1.*\n +130 +interrupted/);
    const v = await ctwin('--version');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`ctwin (condensate-twin) ${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}`);
  });

  it.for(['simulate', 'gradient', 'doctor'])('ctwin %s --help prints that command\'s usage and exits 0', async (command) => {
    const r = await ctwin(command, '--help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: ctwin ${command}`));
    expect(r.stderr).toBe('');
  });

  it('the driver\'s "artificially reduced" warnings never reach stderr', async () => {
    const r = await ctwin('simulate', '--model', model, '--t1', '1', '--out', join(dir, 'quiet.csv'), '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/artificially reduced/);
  });

  it('the stderr filter drops only complete Dawn warning lines and passes progress at once', () => {
    const seen: string[] = [];
    const f = filterDawnWarnings((text) => seen.push(text));
    f.push('simulating: 10/100 trajectories\r');
    expect(seen).toEqual(['simulating: 10/100 trajectories\r']);
    f.push('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit');
    f.push(' dynamic offset allocation limit.\nWarning: something else\nnotice: x\n');
    // No Vulkan driver at all: the loader's lines and Dawn's stack frame go too.
    f.push('Warning: loader_get_json: Failed to open JSON file /x.json\nWarning: vkCreateInstance: Found no drivers!\n');
    f.push('Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER\n    at CheckVkSuccessImpl (/a/VulkanError.cpp:106)\n');
    f.end();
    expect(seen.join('')).toBe('simulating: 10/100 trajectories\rWarning: something else\nnotice: x\n');
  });

  it('a model constant beyond f32 is bad input: exit 2, the constant and where it is', async () => {
    const m = join(dir, 'huge.json');
    writeFileSync(m, '{ "name": "huge", "states": { "x": 1 }, "params": {},\n  "equations": { "x": "-1e40*x" } }');
    const r = await ctwin('simulate', '--model', m, '--t1', '1', '--out', join(dir, 'huge.csv'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/huge\.json:2:\d+: equation for "x": the constant 1e\+40 overflows f32/);
    expect(r.stderr).not.toMatch(/    at /);
  });
});

describe('ctwin simulate with failed trajectories', () => {
  // dx/dt = x² from x(0) = 1 blows up at t = 1; a second trajectory starting at 0 stays at 0.
  const blowup = join(dir, 'blowup.json');
  writeFileSync(blowup, JSON.stringify({ name: 'blowup', states: { x: 1 }, params: {}, equations: { x: 'x^2' } }));
  const rows = join(dir, 'blowup-p.csv');
  writeFileSync(rows, 'x\n1\n0\n');

  it('exits 3 and says how many, which status, at what t and what to try; status.csv is still written', async () => {
    const out = join(dir, 'blowup.csv'), status = join(dir, 'blowup-status.csv');
    const r = await ctwin('simulate', '--model', blowup, '--params', rows, '--t1', '2', '--backend', 'cpu', '--out', out, '--status-out', status);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/error: (dt_underflow|max_steps|non_finite) for 1 of 2 trajectories \(did not reach t1 = 2\): 0 at t = (1|0\.99\d*); /);
    expect(r.stderr).toMatch(/pass --allow-failures to exit 0/);
    expect(readFileSync(status, 'utf8').split('\n')[2]).toMatch(/^1,success,/);
    expect(existsSync(out)).toBe(true);
  });

  it('--allow-failures exits 0 and keeps the message as a warning', async () => {
    const r = await ctwin('simulate', '--model', blowup, '--params', rows, '--t1', '2', '--backend', 'cpu', '--out', join(dir, 'blowup2.csv'), '--allow-failures');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: \w+ for 1 of 2 trajectories/);
  });
});

describe('ctwin gradient at scale and with failures', () => {
  it('reads 10⁶ data rows (1000 trajectories × 1000 times)', async () => {
    const m = join(dir, 'decay-big.json');
    writeFileSync(m, JSON.stringify({ name: 'decay', states: { x: 2 }, params: { k: 0.5 }, equations: { x: '-k*x' } }));
    const lines = ['traj,t,observable,value'];
    for (let b = 0; b < 1000; b++) for (let i = 1; i <= 1000; i++) lines.push(`${b},${i / 100},x,${(2 * Math.exp(-0.005 * i)).toFixed(6)}`);
    const data = join(dir, 'big.csv');
    writeFileSync(data, lines.join('\n') + '\n');
    const r = await ctwin('gradient', '--model', m, '--data', data, '--backend', 'cpu');
    expect(r.code, r.stderr.slice(0, 500)).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.grad).toHaveLength(1000);
    // The data are the exact solution to 6 decimals: the loss is at rounding level.
    expect(res.loss).toBeLessThan(1e-6);
  }, 120_000);

  it('a trajectory that fails has status and null entries, and the warning says null', async () => {
    const m = join(dir, 'blowup-g.json');
    writeFileSync(m, JSON.stringify({ name: 'blowup', states: { x: 1 }, params: { a: 1 }, equations: { x: 'a*x^2' } }));
    const data = join(dir, 'blowup-d.csv');
    writeFileSync(data, 'traj,t,observable,value\n0,2,x,1\n');
    const r = await ctwin('gradient', '--model', m, '--data', data, '--backend', 'cpu');
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.loss).toBeNull();
    expect(res.grad[0].status).not.toBe('success');
    expect(res.grad[0].params.a).toBeNull();
    expect(r.stderr).toMatch(/gradient entries are null/);
    expect(r.stderr).not.toMatch(/NaN/);
  });
});
