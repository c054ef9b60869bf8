// The CSV writer's number formatting alone (src/io/ascii.ts, writeF32) against the string it
// replaced (String(Number(x.toPrecision(9)))): ns per number on f32 values with the magnitudes of
// the default model's states (c ≈ 1, φ ~ 1e-5, P ~ 1e-3, R ~ 1e-4). After `npm run build`.
//
//   node bench/csv-format.mjs [--count 4000000]
import { parseArgs } from 'node:util';
import { writeF32 } from '../dist/io/ascii.js';

const { values: a } = parseArgs({ options: { count: { type: 'string', default: '4000000' } } });
const n = Number(a.count);
let seed = 1;
const u = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const vals = new Float64Array(n);
for (let i = 0; i < n; i++) { const r = u(); vals[i] = Math.fround(i % 4 === 0 ? 0.99 + 0.01 * r : i % 4 === 1 ? 1e-5 * r : i % 4 === 2 ? 0.0016 * r : 1e-4 * r); }
const buf = new Uint8Array(n * 25);
const fast = () => { let p = 0; for (let i = 0; i < n; i++) { p = writeF32(buf, p, vals, i); buf[p++] = 44; } return p; };
const slow = () => { let s = '', len = 0; for (let i = 0; i < n; i++) { s += `${String(Number(vals[i].toPrecision(9)))},`; if (s.length > 1 << 20) { len += s.length; s = ''; } } return len + s.length; };
const median = (f) => { f(); const t = []; for (let r = 0; r < 5; r++) { const t0 = performance.now(); f(); t.push(performance.now() - t0); } t.sort((x, y) => x - y); return (t[2] * 1e6) / n; };
console.log(`${n} numbers: writeF32 ${median(fast).toFixed(1)} ns/number, String(Number(x.toPrecision(9))) ${median(slow).toFixed(1)} ns/number`);
