#!/usr/bin/env node
// Start-up cost (issue #9, goal ≤ 0.4 s): whole-process wall time of `ctwin simulate` of one
// trajectory of a one-state model on the CPU backend, and of importing the package. Run after
// `npm run build`: node bench/startup.mjs [--runs 15]. Prints one JSON line per measurement
// (median, min, max over the runs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ctwin-startup-'));
const model = join(dir, 'decay.json');
writeFileSync(model, JSON.stringify({ name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } }));

function time(label, args) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${label}: exit ${r.status}\n${r.stderr}`);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({ bench: label, runs, median_s: +(ms[runs >> 1] / 1000).toFixed(3), min_s: +(ms[0] / 1000).toFixed(3), max_s: +(ms[runs - 1] / 1000).toFixed(3) }));
}

time('node alone', ['-e', '']);
time('import condensate-twin', ['--input-type=module', '-e', `await import(${JSON.stringify(join(root, 'dist/index.js'))})`]);
time('ctwin simulate, 1 trajectory, 1 state, CPU', [join(root, 'dist/cli/main.js'), 'simulate', '--model', model, '--t1', '1', '--backend', 'cpu', '--out', join(dir, 'traj.csv'), '--quiet']);
