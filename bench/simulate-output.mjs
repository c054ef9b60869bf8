// Large outputs (issue 15): `ctwin simulate` of the default model (examples/condensate.json),
// 10⁶ trajectories × 61 save times (t = 0:10:600), into CSV, Arrow IPC and Parquet. For each: wall
// time, peak memory (GNU time's maximum resident set of the process that integrates and writes)
// and the file's size; and the integration alone (the same chunks, written nowhere), which the
// writing should stay close to. After `npm run build`; needs /usr/bin/time.
//
//   node bench/simulate-output.mjs [--batch 1000000] [--backend auto|gpu|cpu] [--dir /tmp] [--formats csv,arrow,parquet]
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, makeProblem, solveInChunks, releaseGpu, releaseCpuWorkers } from '../dist/index.js';
import { defaultChunk } from '../dist/cli/simulate.js';

const { values: a } = parseArgs({ options: {
  batch: { type: 'string', default: '1000000' }, backend: { type: 'string', default: 'auto' },
  dir: { type: 'string', default: '/tmp' }, formats: { type: 'string', default: 'csv,arrow,parquet' },
} });
const modelPath = new URL('../examples/condensate.json', import.meta.url).pathname;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const B = Number(a.batch), saveat = Array.from({ length: 61 }, (_, i) => 10 * i);

// The integration alone: the CLI's chunks, handed to a callback that writes nothing.
const model = loadModel(modelPath);
const problem = makeProblem(model, { t1: 600, batch: B, saveat });
const chunk = defaultChunk(saveat.length, model.states.length);
const t0 = performance.now();
const summary = await solveInChunks(problem, 'dopri5', { backend: a.backend }, chunk, () => {});
const integration = (performance.now() - t0) / 1000;
console.log(`${model.name}: ${B} trajectories × ${saveat.length} saves on ${summary.backend}, ${summary.chunks} chunks of ${chunk}`);
console.log(`integration alone: ${integration.toFixed(1)} s\n`);
releaseGpu();
await releaseCpuWorkers();

console.log('| format | wall | × integration | peak memory | file |');
console.log('|---|---|---|---|---|');
for (const format of a.formats.split(',')) {
  const out = join(a.dir, `ctwin-bench.${format}`);
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'node', cli, 'simulate', '--model', modelPath, '--batch', String(B), '--t1', '600',
    '--saveat', '0:10:600', '--backend', a.backend, '--out', out, '--quiet'], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  if (r.status !== 0) throw new Error(`ctwin simulate failed: ${r.stderr}`);
  const [wall, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  const size = statSync(out).size;
  rmSync(out);
  console.log(`| ${format} | ${wall.toFixed(1)} s | ${(wall / integration).toFixed(2)} | ${(kb / 1024).toFixed(0)} MiB | ${(size / 2 ** 20).toFixed(0)} MiB |`);
}
