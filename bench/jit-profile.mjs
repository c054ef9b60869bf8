// Where llvmpipe's generated code spends its time, without hardware counters (run by hand after
// `npm run build`; needs Linux perf). perf's cpu-clock event samples by timer, which works in
// virtual machines that expose no PMU; llvmpipe's JIT code has no symbols, so this script also
// copies every anonymous executable mapping out of /proc/self/mem after the solves, and
// bench/jit-annotate.py lays the samples onto that code's disassembly:
//
//   perf record -D 5000 -e cpu-clock -F 4000 -o bench/out/perf.data -- node bench/jit-profile.mjs --model condensate --seconds 15
//   python3 bench/jit-annotate.py bench/out/perf.data bench/out/jit
//
// It solves bench/run.mjs's problem for --model (condensate, lorenz or ude: dopri5, rtol 1e-6,
// atol 1e-8, B = --batch, default 1e5; the UDE with its weights compiled in) over and over for
// --seconds, after one small solve that compiles the kernel (perf's -D 5000 leaves out start-up
// and compiling), and writes the code to --out (default bench/out/jit) as jit-<start in hex>.bin.
import { mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as engine from '../dist/index.js';
import { makeProblem, solve, releaseGpu } from '../dist/index.js';
import { benchProblem, benchSolveOptions, PROBLEM_NAMES } from './problems.mjs';

const { values } = parseArgs({ options: {
  model: { type: 'string', default: 'condensate' }, seconds: { type: 'string', default: '10' },
  batch: { type: 'string', default: '1e5' }, out: { type: 'string', default: join('bench', 'out', 'jit') } } });
if (!PROBLEM_NAMES.includes(values.model)) { console.error(`--model ${values.model}: choose ${PROBLEM_NAMES.join(', ')}`); process.exit(2); }
const { model, t1 } = benchProblem(engine, values.model);
const options = benchSolveOptions(values.model);

await solve(makeProblem(model, { t1, batch: 64, saveat: [t1] }), 'dopri5', options); // compiles
const problem = makeProblem(model, { t1, batch: Number(values.batch), saveat: [t1] });
const start = performance.now();
let solves = 0;
while (performance.now() - start < Number(values.seconds) * 1000) { await solve(problem, 'dopri5', options); solves++; }
const seconds = (performance.now() - start) / 1000;

// The JIT code: llvmpipe's (and V8's) executable anonymous mappings, read while still mapped.
rmSync(values.out, { recursive: true, force: true });
mkdirSync(values.out, { recursive: true });
const mem = openSync('/proc/self/mem', 'r');
let written = 0;
for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
  const m = /^([0-9a-f]+)-([0-9a-f]+) r-xp 00000000 00:00 0\s*$/.exec(line);
  if (!m) continue;
  const lo = parseInt(m[1], 16), hi = parseInt(m[2], 16);
  if (hi - lo > 64 << 20) continue; // V8's code space reservations, not shader code
  const bytes = Buffer.alloc(hi - lo);
  try { readSync(mem, bytes, 0, bytes.length, lo); } catch { continue; }
  writeFileSync(join(values.out, `jit-${m[1]}.bin`), bytes);
  written++;
}
closeSync(mem);
console.log(JSON.stringify({ model: values.model, batch: Number(values.batch), solves, seconds: +seconds.toFixed(2), code_regions: written, out: values.out }));
await releaseGpu();
