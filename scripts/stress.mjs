// Runs the GPU solver in N fresh processes and counts crashes (WEBGPU.md: the dawn.node instance
// crash showed in ~20–25 % of fresh processes; with the instance held by src/gpu/runtime.ts it
// must be 0). Usage: node scripts/stress.mjs [N=200] [--canary]  (--canary adds
// node --no-concurrent-osr, the mode in which the old bug crashed almost every run).
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const canary = args.includes('--canary');
const child = `
  import { parseModel, makeProblem, solve, releaseGpu } from './dist/index.js';
  const m = parseModel({ name: 'stress', states: { c: 1, phi: 0.1, P: 0 }, params: { k: 0.5, csat: 0.8 },
    equations: { c: '-k*(c - csat)*phi', phi: 'k*(c - csat)*phi*(1 - phi)', P: 'phi - 0.2*P' } });
  const sol = await solve(makeProblem(m, { t1: 20, batch: 4096, saveat: [20] }), 'dopri5', { backend: 'gpu' });
  if (!sol.status.every((s) => s === 1)) { console.error('bad status'); process.exit(3); }
  await releaseGpu();
`;
let crashes = 0, done = 0;
const failures = new Map();
async function one() {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...(canary ? ['--no-concurrent-osr'] : []), '--input-type=module', '-e', child],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      done++;
      if (code !== 0) {
        crashes++;
        const key = signal ?? `exit ${code}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
        process.stderr.write(`run ${done}: ${key} ${err.split('\n').filter((l) => !l.startsWith('Warning')).slice(-2).join(' | ')}\n`);
      }
      resolve();
    });
  });
}
const parallel = Math.max(1, cpus().length);
const queue = Array.from({ length: N }, (_, i) => i);
await Promise.all(Array.from({ length: parallel }, async () => { while (queue.pop() !== undefined) await one(); }));
console.log(JSON.stringify({ runs: N, crashes, canary, failures: Object.fromEntries(failures) }));
process.exitCode = crashes === 0 ? 0 : 1;
