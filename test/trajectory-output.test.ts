/**
 * Trajectory files (src/io/trajectories.ts): the fast CSV number formatter against V8's own
 * toPrecision (an independent reference), and `ctwin simulate` into CSV, Arrow IPC and Parquet in
 * several chunks, read back — Arrow with apache-arrow's reader, Parquet with hyparquet (a reader
 * that shares no code with the writer, hyparquet-writer), and with pyarrow where it is installed —
 * against the same solve in memory.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { writeF32 } from '../src/io/ascii.js';
import { openTrajectories } from '../src/io/trajectories.js';
import { makeProblem, parseModel, solve, solveInChunks } from '../src/index.js';
import { releaseGpu } from '../src/gpu/runtime.js';
import { requireGpu } from './helpers/gpu.js';

afterAll(releaseGpu);
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ctwin-out-'));

describe('writeF32: the CSV digits of an f32', () => {
  it('prints exactly String(Number(x.toPrecision(9))) for 400 000 random f32 bit patterns and the edge cases, and reads back as the same f32', () => {
    const buf = new Uint8Array(64), dec = new TextDecoder();
    const f32 = new Float32Array(1), bits = new Uint32Array(f32.buffer);
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const values: number[] = [0, -0, 1, -1, 0.1, 1e21, 1e20, 123456789, 1e-6, 1e-7, 9.99999944e-7, 0.5, 1e9, 3.4e38, -3.4e38, 1.17549435e-38, 1.4e-45, NaN, Infinity, -Infinity, 0.000123, 99999.9961];
    for (let i = 0; i < 200_000; i++) { bits[0] = (next() >>> 16) | (next() & 0xffff0000); values.push(f32[0]!); }
    for (let i = 0; i < 200_000; i++) values.push((next() / 2 ** 32) * 10 ** ((next() % 24) - 12));
    // Each power of ten an f32 can hold, and its f32 neighbours (where the decimal exponent changes).
    for (let k = -45; k <= 38; k++) {
      f32[0] = 10 ** k;
      const b = bits[0]!;
      for (let d = -2; d <= 2; d++) { bits[0] = b + d; values.push(f32[0]!); }
    }
    let mismatches = 0;
    const one = new Float64Array(1);
    for (const v of values) {
      const x = Math.fround(v);
      one[0] = x;
      const got = dec.decode(buf.subarray(0, writeF32(buf, 0, one, 0)));
      const want = String(Number(x.toPrecision(9)));
      if (got !== want) { mismatches++; if (mismatches < 5) console.log(`${x}: ${got} ≠ ${want}`); }
      if (Number.isFinite(x)) expect(Math.fround(Number(got)) === x, got).toBe(true);
    }
    expect(mismatches).toBe(0);
  });

  it('prints any double as toPrecision(9) would, subnormals and f64 extremes included', () => {
    const buf = new Uint8Array(64), dec = new TextDecoder(), one = new Float64Array(1);
    const words = new Uint32Array(one.buffer);
    let seed = 11;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const values = [5e-324, -5e-324, 2.2250738585072014e-308, 1e-320, 1.7976931348623157e308, 1e308, 1e300, 1e-300, 0.1, 1 / 3, 123456789.5, 99999999950, 1e21, 9.999999995e20];
    for (let i = 0; i < 100_000; i++) { words[0] = next(); words[1] = next(); if (Number.isFinite(one[0]!)) values.push(one[0]!); }
    let mismatches = 0;
    for (const x of values) {
      one[0] = x;
      const got = dec.decode(buf.subarray(0, writeF32(buf, 0, one, 0)));
      const want = String(Number(x.toPrecision(9)));
      if (got !== want) { mismatches++; if (mismatches < 5) console.log(`${x}: ${got} ≠ ${want}`); }
    }
    expect(mismatches).toBe(0);
  });
});

/** A small model whose trajectories differ by parameter (so every row is distinct). */
const model = parseModel({ name: 'decay2', states: { x: 1, y: 0 }, params: { k: 0.7, k2: 0.3 }, equations: { x: '-k*x', y: 'k*x - k2*y' } });
const B = 37, saveat = [0, 0.5, 1, 2, 3.25];
function paramsFile() {
  const f = join(dir, 'p.csv');
  writeFileSync(f, ['k,k2', ...Array.from({ length: B }, (_, b) => `${0.3 + 0.05 * b},${0.1 + 0.01 * b}`)].join('\n') + '\n');
  return f;
}

async function simulateTo(out: string, backend: 'cpu' | 'gpu') {
  const modelFile = join(dir, 'decay2.json');
  writeFileSync(modelFile, JSON.stringify({ name: 'decay2', states: { x: 1, y: 0 }, params: { k: 0.7, k2: 0.3 }, equations: { x: '-k*x', y: 'k*x - k2*y' } }));
  const { stdout } = await run('node', [CLI, 'simulate', '--model', modelFile, '--params', paramsFile(), '--t1', '3.25', '--saveat', saveat.join(','),
    '--backend', backend, '--chunk', '10', '--out', out, '--json'], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
  return JSON.parse(stdout) as { chunks: number; format: string; backend: string };
}

/** The long table a file should hold: rows (traj, t, x, y) from the same solve in memory. */
async function expectedRows(backend: 'cpu' | 'gpu') {
  const params = new Float64Array(B * 2);
  for (let b = 0; b < B; b++) params.set([0.3 + 0.05 * b, 0.1 + 0.01 * b], b * 2);
  const sol = await solve(makeProblem(model, { t1: 3.25, saveat, params }), 'dopri5', { backend });
  return Array.from({ length: B * saveat.length }, (_, r) => ({ traj: Math.floor(r / saveat.length), t: saveat[r % saveat.length]!, x: sol.y[2 * r]!, y: sol.y[2 * r + 1]! }));
}

const hasPyarrow = (() => { try { execFileSync('python3', ['-c', 'import pyarrow'], { stdio: 'ignore' }); return true; } catch { return false; } })();

describe.each(['cpu', 'gpu'] as const)('ctwin simulate --out, %s backend, in chunks of 10 trajectories', (backend) => {
  const same = (a: number, b: number) => (backend === 'gpu' ? Math.fround(a) === Math.fround(b) : a === b);
  const check = (rows: Array<{ traj: number; t: number; x: number; y: number }>, want: Awaited<ReturnType<typeof expectedRows>>) => {
    expect(rows.length).toBe(want.length);
    rows.forEach((r, i) => {
      const w = want[i]!;
      expect([r.traj, r.t]).toEqual([w.traj, w.t]);
      expect(same(r.x, w.x) && same(r.y, w.y), `row ${i}: ${r.x}, ${r.y} vs ${w.x}, ${w.y}`).toBe(true);
    });
  };
  const skipWithoutGpu = (ctx: TestContext) => { if (backend === 'gpu') requireGpu(ctx); };

  it('CSV: the values of the solve (f32 digits from the GPU, shortest f64 from the CPU)', async (ctx) => {
    skipWithoutGpu(ctx);
    const out = join(dir, `t-${backend}.csv`);
    const r = await simulateTo(out, backend);
    expect([r.chunks, r.format, r.backend]).toEqual([4, 'csv', backend]);
    const [header, ...lines] = readFileSync(out, 'utf8').trim().split('\n');
    expect(header).toBe('traj,t,x,y');
    check(lines.map((l) => { const [traj, t, x, y] = l.split(',').map(Number); return { traj: traj!, t: t!, x: x!, y: y! }; }), await expectedRows(backend));
  });

  it('Arrow IPC (.arrow): int32 traj, float64 t, the states as float32 (GPU) or float64 (CPU), one record batch per chunk', async (ctx) => {
    skipWithoutGpu(ctx);
    const out = join(dir, `t-${backend}.arrow`);
    await simulateTo(out, backend);
    const table = tableFromIPC(readFileSync(out));
    expect(table.batches.length).toBe(4);
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['traj:Int32', 't:Float64', `x:Float${backend === 'gpu' ? 32 : 64}`, `y:Float${backend === 'gpu' ? 32 : 64}`]);
    check(table.toArray().map((r) => ({ traj: r.traj as number, t: r.t as number, x: r.x as number, y: r.y as number })), await expectedRows(backend));
  });

  it('Parquet: the same table, read back by hyparquet', async (ctx) => {
    skipWithoutGpu(ctx);
    const out = join(dir, `t-${backend}.parquet`);
    await simulateTo(out, backend);
    const bytes = readFileSync(out);
    const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    check(rows as Array<{ traj: number; t: number; x: number; y: number }>, await expectedRows(backend));
  });

  it('pyarrow (an independent reader) reads the Arrow and Parquet files', async (ctx) => {
    skipWithoutGpu(ctx);
    if (!hasPyarrow) { ctx.skip('python3 with pyarrow is not installed'); return; }
    for (const ext of ['arrow', 'parquet']) {
      const out = join(dir, `py-${backend}.${ext}`);
      await simulateTo(out, backend);
      const code = ext === 'arrow' ? `import pyarrow.feather as f; t = f.read_table("${out}")` : `import pyarrow.parquet as p; t = p.read_table("${out}")`;
      const sums = JSON.parse(execFileSync('python3', ['-c', `${code}\nimport json; print(json.dumps([t.num_rows, sum(t.column("x").to_pylist()), sum(t.column("traj").to_pylist())]))`], { encoding: 'utf8' })) as number[];
      const want = await expectedRows(backend);
      expect(sums[0]).toBe(want.length);
      expect(sums[1]).toBeCloseTo(want.reduce((s, r) => s + (backend === 'gpu' ? Math.fround(r.x) : r.x), 0), 4);
      expect(sums[2]).toBe(want.reduce((s, r) => s + r.traj, 0));
    }
  });
});

describe('chunked writing', () => {
  it('solveInChunks gives the chunks in order with the states of one whole solve; an aborted file leaves nothing behind', async () => {
    const params = new Float64Array(B * 2);
    for (let b = 0; b < B; b++) params.set([0.3 + 0.05 * b, 0.1 + 0.01 * b], b * 2);
    const problem = makeProblem(model, { t1: 3.25, saveat, params });
    const whole = await solve(problem, 'dopri5', { backend: 'cpu' });
    const starts: number[] = [];
    const summary = await solveInChunks(problem, 'dopri5', { backend: 'cpu' }, 8, (sol, start) => {
      starts.push(start);
      expect(Array.from(sol.y)).toEqual(Array.from(whole.y.subarray(start * saveat.length * 2, (start + sol.batch) * saveat.length * 2)));
    });
    expect(starts).toEqual([0, 8, 16, 24, 32]);
    expect(summary.chunks).toBe(5);
    expect(Array.from(summary.status)).toEqual(Array.from(whole.status));

    for (const ext of ['csv', 'arrow', 'parquet']) {
      const out = join(dir, `aborted.${ext}`);
      const sink = openTrajectories(out, model, saveat, 'f64');
      await sink.write({ start: 0, count: B, y: whole.y });
      sink.abort();
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
