// The UDE's network compiled natively, as the reference for bench/fma-ceiling.mjs's `mlp` shape (run
// by hand after `npm run build`: node bench/mlp-native.mjs [--runs 5]; needs an x86-64 C compiler
// with AVX2, $CC or cc).
//
// Why: issue 15 asks the UDE forward to reach 15 % of the f32 peak on llvmpipe. llvmpipe never
// issues an FMA for shader arithmetic: Mesa's gallivm_nir_options set lower_ffma32, so NIR turns
// every WGSL fma() and every a·b + c into a multiplication and an addition before LLVM sees them
// (GALLIVM_DEBUG=asm of fma-ceiling's `straight` shape: 3 842 vmulps, 3 871 vaddps, no vfmadd).
// This bench asks what a native compiler gets from the same arithmetic on the same core: the same
// network (3→16→16→3, the default weights rounded to f32), the same rational tanh (NN_TANH_WGSL,
// translated line by line to C), the same 8 lanes (one AVX2 vector of trajectories, as llvmpipe
// runs them), the same chain of 48 evaluations each on x + 10⁻³·g(x) of the last, written in the
// same order (every sum of a layer, then every activation). Built twice with -O3 -march=native:
//   -ffp-contract=off  — multiplications and additions apart, as llvmpipe must issue them;
//   -ffp-contract=fast — GCC contracts them into FMAs, which llvmpipe cannot.
// Prints, per build, the FMA instructions objdump finds and two figures, each the median of --runs:
//   alone — one process: CPU cycles per 8-lane network evaluation (CPU time × the nominal clock, as
//           fma-ceiling prints them) and the fraction of one core's f32 peak those cycles give;
//   all cores — one process per core at once, as llvmpipe runs a dispatch on all its threads: the
//           GFLOP/s over the wall time of the slowest and its fraction of the machine's f32 peak,
//           the figure fma-ceiling prints as fraction_of_f32_peak, and the cycles per evaluation
//           averaged over the processes' CPU time.
// FLOPs are counted as bench/run.mjs counts them (2 per multiply–add plus the biases, tanh not
// counted); the peak is cores × clock × 2 FMA units × 2 × 8 lanes (bench/machine.mjs).
// Before timing, each build's outputs are checked against the engine's f64 reference forward pass
// (referenceForward, exact tanh), so a wrong translation stops the bench.
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { condensateModel } from '../dist/index.js';
import { NN_TANH_WGSL } from '../dist/codegen/neural.js';
import { defaultWeights, layerSizes, weightLayout, referenceForward } from '../dist/internals.js';
import { peak, mlpFlops } from './machine.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('runs', '5'));
// 48 chained evaluations as fma-ceiling's mlp shape; 2^18 lanes per run (~0.7 s), so that starting
// the processes stays a small part of the all-cores wall time.
const EVALS = 48, GROUPS = 1 << 15;
const LANES = 8;

const model = condensateModel({ rna: false, neural: true });
const spec = model.neural;
if (spec.activation !== 'tanh') throw new Error(`the default network's activation is ${spec.activation}, not tanh: update this bench`);
const sizes = layerSizes(spec);
const theta = defaultWeights(model);
const { W, b } = weightLayout(sizes);

/** An f32 constant as a C vector: the weight rounded to f32, printed exactly (9 significant digits). */
const vec = (x) => `S(${Math.fround(x).toPrecision(9)}f)`;

/** NN_TANH_WGSL in C: `let` → const __m256, min/clamp → AVX intrinsics, literals → f32 vectors. */
function tanhC() {
  const lines = NN_TANH_WGSL.trim().split('\n');
  if (lines[0] !== 'fn nn_tanh(x: f32) -> f32 {' || lines.at(-1) !== '}') throw new Error('NN_TANH_WGSL changed shape: update tanhC in this bench');
  const body = lines.slice(1, -1).map((line) => {
    const c = line
      .replace(/\b\d+\.\d+(?:e[-+]?\d+)?/g, (lit) => vec(Number(lit)))
      .replace(/\blet (\w+) =/, 'const __m256 $1 =')
      .replace(/\bmin\(/g, 'vmin(').replace(/\bclamp\(/g, 'vclamp(');
    if (/\b(let|var|fn|f32|max|select|abs)\b/.test(c)) throw new Error(`cannot translate to C: ${line.trim()}`);
    return c;
  });
  return ['static inline __m256 nn_tanh(__m256 x) {', ...body, '}'].join('\n');
}

/** The network, layer by layer in the order src/codegen/neural.ts writes it (every sum, then every activation). */
function networkC() {
  const out = ['static inline void nn_forward(const __m256 *x, __m256 *g) {'];
  let prev = Array.from({ length: sizes[0] }, (_, i) => `x[${i}]`);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l], nOut = sizes[l + 1], last = l + 2 === sizes.length;
    for (let i = 0; i < nOut; i++) {
      const terms = prev.map((p, j) => `${vec(theta[W[l] + i * nIn + j])} * ${p}`);
      out.push(`  const __m256 z${l + 1}_${i} = ${[...terms, vec(theta[b[l] + i])].join(' + ')};`);
    }
    prev = Array.from({ length: nOut }, (_, i) => `z${l + 1}_${i}`);
    if (!last) {
      for (let i = 0; i < nOut; i++) out.push(`  const __m256 a${l + 1}_${i} = nn_tanh(z${l + 1}_${i});`);
      prev = Array.from({ length: nOut }, (_, i) => `a${l + 1}_${i}`);
    }
  }
  prev.forEach((p, i) => out.push(`  g[${i}] = ${p};`));
  out.push('}');
  return out.join('\n');
}

const nIn = sizes[0], nOut = sizes.at(-1);
if (nIn !== nOut) throw new Error('the chained evaluation needs as many outputs as inputs');
/** The check inputs: lane k of input m. */
const checkInput = (k, m) => 0.37 * (k - 3.5) + 0.11 * m;
const source = `// generated by bench/mlp-native.mjs from the engine's default UDE network; do not edit
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define S(c) _mm256_set1_ps(c)
static inline __m256 vmin(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
static inline __m256 vclamp(__m256 a, __m256 lo, __m256 hi) { return _mm256_min_ps(_mm256_max_ps(a, lo), hi); }
${tanhC()}
${networkC()}
int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == 'c') { /* check: one evaluation of ${LANES} lanes, printed */
    __m256 x[${nIn}], g[${nOut}];
${Array.from({ length: nIn }, (_, m) => `    x[${m}] = _mm256_setr_ps(${Array.from({ length: LANES }, (_, k) => `${checkInput(k, m)}f`).join(', ')});`).join('\n')}
    nn_forward(x, g);
    for (int m = 0; m < ${nOut}; m++) for (int k = 0; k < ${LANES}; k++) printf("%.9g\\n", (double)g[m][k]);
    return 0;
  }
  long groups = argc > 1 ? atol(argv[1]) : ${GROUPS};
  struct timespec c0, c1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  float acc = 0;
  for (long n = 0; n < groups; n++) {
    __m256 u[${nIn}];
    const __m256 x = _mm256_add_ps(S(1e-9f * (float)(n * ${LANES})), _mm256_setr_ps(0, 1e-9f, 2e-9f, 3e-9f, 4e-9f, 5e-9f, 6e-9f, 7e-9f));
    for (int m = 0; m < ${nIn}; m++) u[m] = x + S(0.1f * (float)m);
    for (int e = 0; e < ${EVALS}; e++) {
      __m256 g[${nOut}];
      nn_forward(u, g);
      for (int m = 0; m < ${nIn}; m++) u[m] = u[m] + S(1e-3f) * g[m];
    }
    for (int m = 0; m < ${nIn}; m++) for (int k = 0; k < ${LANES}; k++) acc += u[m][k];
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  printf("%.9f %g\\n", (c1.tv_sec - c0.tv_sec) + 1e-9 * (c1.tv_nsec - c0.tv_nsec), (double)acc);
  return 0;
}
`;

mkdirSync(join('bench', 'out'), { recursive: true });
const file = join('bench', 'out', 'mlp_native.c');
writeFileSync(file, source);
const machine = peak();
const flops = mlpFlops(spec);
/** One core's f32 FLOPs per cycle in bench/machine.mjs's peak (2 FMA units × 2 × 8 lanes). */
const f32PerCycle = machine.ghz ? machine.f32_gflops / (machine.cores * machine.ghz) : null;
console.log(JSON.stringify({ machine, network: sizes.join('→'), flops_per_evaluation: flops, evaluations: EVALS, lanes: GROUPS * LANES }));

const BUILDS = { 'mul+add': '-ffp-contract=off', fma: '-ffp-contract=fast' };
const execFileAsync = promisify(execFile);
const median = (xs) => [...xs].sort((a, c) => a - c)[Math.floor((xs.length - 1) / 2)];
for (const [name, flag] of Object.entries(BUILDS)) {
  const exe = join('bench', 'out', `mlp_native_${name === 'fma' ? 'fma' : 'muladd'}`);
  execFileSync(process.env.CC ?? 'cc', ['-O3', '-march=native', flag, file, '-o', exe]);
  let fmaInstructions = null;
  try { fmaInstructions = (execFileSync('objdump', ['-d', exe], { encoding: 'utf8', maxBuffer: 1 << 28 }).match(/\bvfn?m(add|sub)\w*ps\b/g) ?? []).length; } catch { /* no objdump */ }

  // The check: every lane and output against the f64 reference with the exact tanh. The f32 weights,
  // f32 arithmetic and the rational (3.3e-7) stay far below 1e-4 on these outputs.
  const got = execFileSync(exe, ['check'], { encoding: 'utf8' }).trim().split('\n').map(Number);
  let worst = 0;
  for (let k = 0; k < LANES; k++) {
    const { y } = referenceForward(sizes, 'tanh', theta, Array.from({ length: nIn }, (_, m) => checkInput(k, m)));
    for (let m = 0; m < nOut; m++) worst = Math.max(worst, Math.abs(got[m * LANES + k] - y[m]) / Math.max(1, Math.abs(y[m])));
  }
  if (!(worst < 1e-4)) throw new Error(`${name} build: the C network differs from referenceForward by ${worst} (translation broken?)`);

  const run = async () => { const { stdout } = await execFileAsync(exe, [String(GROUPS)]); return Number(stdout.trim().split(' ')[0]); };
  const alone = [], together = [], togetherCycles = [];
  for (let r = 0; r <= runs; r++) {
    const seconds = await run();
    const start = performance.now();
    const each = await Promise.all(Array.from({ length: machine.cores }, run));
    const wall = (performance.now() - start) / 1000;
    if (r === 0) continue; // run 0 warms up
    together.push((flops * GROUPS * LANES * EVALS * machine.cores) / wall / 1e9);
    if (machine.ghz) {
      alone.push((seconds * machine.ghz * 1e9) / (GROUPS * EVALS));
      togetherCycles.push((each.reduce((a, c) => a + c, 0) / each.length) * machine.ghz * 1e9 / (GROUPS * EVALS));
    }
  }
  const c = alone.length ? median(alone) : null, gflops = median(together);
  console.log(JSON.stringify({ build: name, cflags: `-O3 -march=native ${flag}`, fma_instructions: fmaInstructions, max_rel_error_vs_f64: +worst.toExponential(2), runs,
    alone: { cpu_cycles_per_evaluation_on_8_lanes: c === null ? null : +c.toFixed(1), min: alone.length ? +Math.min(...alone).toFixed(1) : null, max: alone.length ? +Math.max(...alone).toFixed(1) : null,
      fraction_of_core_f32_peak: c === null ? null : +((flops * LANES) / (c * f32PerCycle)).toFixed(3) },
    all_cores: { processes: machine.cores, median_gflop_per_s: +gflops.toFixed(1), min: +Math.min(...together).toFixed(1), max: +Math.max(...together).toFixed(1),
      fraction_of_f32_peak: machine.f32_gflops ? +(gflops / machine.f32_gflops).toFixed(3) : null,
      cpu_cycles_per_evaluation_on_8_lanes: togetherCycles.length ? +median(togetherCycles).toFixed(1) : null } }));
}
