// Writing one's own Runge–Kutta method: the Cash–Karp 5(4) pair (Cash & Karp 1990, ACM TOMS 16:201,
// Table 1), which is not built in, given as data. The engine checks the tableau (row sums, Σb = 1,
// Σb̃ = 0), derives what it can do (adaptive: it has an error estimate) and runs it on either backend.
//
//   node examples/own-tableau.mjs [--backend cpu|gpu] [--json]
//
// Two checks against the exact solution of a harmonic oscillator x'' = −ω²x (x = cos ωt):
//   - fixed steps h and h/2: the error falls by 2⁵, the order of the propagated solution;
//   - adaptive steps: the error follows the requested tolerance.
import { parseArgs } from 'node:util';
import { capabilities, makeProblem, parseModel, solve } from 'condensate-twin';

const { values: args } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, json: { type: 'boolean' } } });

const b5 = [37 / 378, 0, 250 / 621, 125 / 594, 0, 512 / 1771]; // 5th order, propagated
const b4 = [2825 / 27648, 0, 18575 / 48384, 13525 / 55296, 277 / 14336, 1 / 4]; // embedded 4th order
const cashKarp = {
  kind: 'explicit', name: 'cash-karp', order: 5, errorOrder: 4, fsal: false,
  c: [0, 1 / 5, 3 / 10, 3 / 5, 1, 7 / 8],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [3 / 10, -9 / 10, 6 / 5],
    [-11 / 54, 5 / 2, -70 / 27, 35 / 27],
    [1631 / 55296, 175 / 512, 575 / 13824, 44275 / 110592, 253 / 4096],
  ],
  b: b5,
  btilde: b5.map((b, i) => b - b4[i]),
};

const omega = 2;
const model = parseModel({ name: 'oscillator', states: { x: 1, v: 0 }, params: { omega }, equations: { x: 'v', v: '-omega^2*x' } });
const t1 = 10;
const exact = Math.cos(omega * t1);
const errorAt = async (options) => {
  const sol = await solve(makeProblem(model, { t1, saveat: [t1] }), cashKarp, { backend: args.backend, ...options });
  return { error: Math.abs(sol.y[0] - exact), steps: sol.stats.steps[0] };
};

const coarse = await errorAt({ adaptive: false, dt: 0.1 });
const fine = await errorAt({ adaptive: false, dt: 0.05 });
const observedOrder = Math.log2(coarse.error / fine.error);
const adaptive = [];
for (const rtol of [1e-4, 1e-6, 1e-8]) {
  if (args.backend !== 'cpu' && rtol < 1e-6) continue; // f32 on the GPU: rtol ≥ 1e-6
  adaptive.push({ rtol, ...(await errorAt({ rtol, atol: rtol * 1e-2 })) });
}

const result = { capabilities: capabilities(cashKarp), fixed: { coarse, fine, observedOrder }, adaptive };
if (args.json) console.log(JSON.stringify(result));
else {
  console.log(`cash-karp: ${JSON.stringify(result.capabilities)}`);
  console.log(`fixed steps: error ${coarse.error.toExponential(2)} at h = 0.1, ${fine.error.toExponential(2)} at h = 0.05 → observed order ${observedOrder.toFixed(2)} (expected 5)`);
  for (const a of adaptive) console.log(`adaptive, rtol ${a.rtol}: error ${a.error.toExponential(2)} in ${a.steps} steps`);
}
