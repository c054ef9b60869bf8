// Dose–response fits (issue #12; run by hand after `npm run build`: node bench/synergy-fit.mjs).
// On SynergyFinder's example data (test/fixtures/synergy: 2 blocks, 28 LL.4 curves — the two
// monotherapies and ZIP's 12 conditional curves per block), compares the squared error of
//   - ours (src/synergy/fit.ts: variable projection on a grid, then Levenberg–Marquardt), and
//   - ml-levenberg-marquardt 5.x (numerical gradients) from 144 starts (12 EC50s × 6 slopes × 2
//     asymptotes, bounded as ours), the library route we measured before writing our own,
// with scipy's least-squares optimum (reference_fits.json), and the wall time per block.
// Prints one JSON line.
import { readFileSync } from 'node:fs';
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { fitDoseResponse, curveResponse } from '../dist/index.js';

const fix = new URL('../test/fixtures/synergy/', import.meta.url).pathname;
const rows = readFileSync(fix + 'mathews_screening_data.csv', 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
const ref = JSON.parse(readFileSync(fix + 'reference_fits.json', 'utf8')).blocks;
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;

function libraryFit(x, y, fixedC) {
  const pos = [...new Set(x.filter((v) => v > 0))].sort((a, b) => a - b);
  const lo = Math.min(...y), hi = Math.max(...y), range = Math.max(hi - lo, 1e-9);
  const atHigh = mean(y.filter((_, i) => x[i] === Math.max(...x))), atLow = mean(y.filter((_, i) => x[i] === Math.min(...x)));
  const atLowPositive = mean(y.filter((_, i) => x[i] === pos[0]));
  const curve = (t) => (fixedC === undefined ? { model: 'LL.4', b: t[0], c: t[1], d: t[2], e: Math.exp(t[3]) } : { model: 'LL.4', b: t[0], c: fixedC, d: t[1], e: Math.exp(t[2]) });
  const logLo = Math.log(pos[0]) - 10, logHi = Math.log(pos[pos.length - 1]) + 10;
  const minValues = fixedC === undefined ? [-50, lo - 10 * range, lo - 10 * range, logLo] : [-50, lo - 10 * range, logLo];
  const maxValues = fixedC === undefined ? [50, hi + 10 * range, hi + 10 * range, logHi] : [50, hi + 10 * range, logHi];
  let best = Infinity;
  for (let k = 0; k < 12; k++) {
    const e = Math.exp(Math.log(pos[0] / 10) + (k / 11) * Math.log((pos[pos.length - 1] * 10) / (pos[0] / 10)));
    for (const b of [-8, -2, -0.5, 0.5, 2, 8]) for (const d of [atHigh, atLowPositive]) {
      const initialValues = fixedC === undefined ? [b, atLow, d, Math.log(e)] : [b, d, Math.log(e)];
      let t;
      try {
        t = levenbergMarquardt({ x, y }, (p) => (xi) => curveResponse(curve(p), xi), { initialValues, minValues, maxValues, maxIterations: 1000, errorTolerance: 1e-14, improvementThreshold: 1e-9, damping: 1e-2, gradientDifference: 1e-7, centralDifference: true }).parameterValues;
      } catch { continue; }
      const c = curve(t), sse = x.reduce((a, xi, i) => a + (y[i] - curveResponse(c, xi)) ** 2, 0);
      if (sse < best) best = sse;
    }
  }
  return best;
}

const out = { curves: 0, ours: { worst_ratio_to_scipy: 0, above_scipy_1e4: 0, ms_per_block: [] }, library: { worst_ratio_to_scipy: 0, above_scipy_1e4: 0, ratios_above: [], ms_per_block: [] } };
for (const block of ['1', '2']) {
  const rs = rows.filter((r) => r[0] === block);
  const c1 = [...new Set(rs.map((r) => +r[3]))].sort((a, b) => a - b), c2 = [...new Set(rs.map((r) => +r[4]))].sort((a, b) => a - b);
  const y = (a, b) => 100 - +rs.find((r) => +r[3] === a && +r[4] === b)[5];
  const curves = [
    [c1, c1.map((a) => y(a, 0)), undefined, ref[block].sse_drug1], [c2, c2.map((b) => y(0, b)), undefined, ref[block].sse_drug2],
    ...c2.map((b, j) => [c1, c1.map((a) => y(a, b)), y(0, b), ref[block].sse_columns[j]]),
    ...c1.map((a, i) => [c2, c2.map((b) => y(a, b)), y(a, 0), ref[block].sse_rows[i]]),
  ];
  for (const [name, fit] of [['ours', (x, v, c) => fitDoseResponse(x, v, c === undefined ? {} : { fixedC: c }).sse], ['library', libraryFit]]) {
    const t = performance.now();
    for (const [x, v, c, scipy] of curves) {
      const ratio = fit(x, v, c) / scipy, o = out[name];
      o.worst_ratio_to_scipy = Math.max(o.worst_ratio_to_scipy, ratio);
      if (ratio > 1 + 1e-4) { o.above_scipy_1e4++; o.ratios_above?.push(+ratio.toFixed(4)); }
    }
    out[name].ms_per_block.push(Math.round(performance.now() - t));
  }
  out.curves += curves.length;
}
console.log(JSON.stringify(out));
