// This CPU's theoretical peak, shared by the benchmarks that report a fraction of it
// (bench/run.mjs, bench/fma-ceiling.mjs).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { layerSizes } from '../dist/internals.js';

/**
 * Theoretical peak of this CPU: cores × clock × FLOP/cycle, with 2 FMA units per core and the
 * vector width llvmpipe generates code for (256-bit: 8 f32 or 4 f64 lanes; AVX-512 would double it).
 */
export function peak() {
  const cores = cpus().length;
  const ghz = clockGHz();
  if (!ghz) return { cores, ghz: null, f32_gflops: null, f64_gflops: null, note: 'no clock rate found: fractions of peak left out' };
  return { cores, ghz, f32_gflops: cores * ghz * 2 * 2 * 8, f64_gflops: cores * ghz * 2 * 2 * 4 };
}

/**
 * The clock: the "@ x.xxGHz" of Intel's model names, else the kernel's "cpu MHz" (virtual machines
 * whose model name has no clock, where os.cpus() reports speed 0), else os.cpus()'s speed.
 */
function clockGHz() {
  const named = /@ ([\d.]+)GHz/.exec(cpus()[0].model)?.[1];
  if (named) return Number(named);
  try {
    const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (mhz && Number(mhz) > 0) return +(Number(mhz) / 1000).toFixed(3);
  } catch { /* not Linux */ }
  return cpus()[0].speed > 0 ? cpus()[0].speed / 1000 : null;
}

/** FLOPs of one evaluation of the network `spec`: 2 per multiply–add plus one per bias (the activation not counted). */
export function mlpFlops(spec) {
  const sizes = layerSizes(spec);
  let f = 0;
  for (let l = 0; l + 1 < sizes.length; l++) f += 2 * sizes[l] * sizes[l + 1] + sizes[l + 1];
  return f;
}
