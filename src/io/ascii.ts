/**
 * Numbers as ASCII bytes straight into a buffer, for the large CSV outputs (10⁸ numbers): no string
 * per number. `writeF32` prints exactly what `String(Number(x.toPrecision(9)))` prints (nine
 * significant digits round-trip every f32; the shortest form of the rounded decimal, in JavaScript's
 * Number-to-String layout), which is what the CSV of a GPU solve always held; it is ~10× faster.
 */

const ZERO = 48, DOT = 46, MINUS = 45, E = 101, PLUS = 43;
/** 10^k for k = 0…22, exact in f64, and the f64 nearest 10^−k. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const NEG_POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e-${k}`));
/** "00" … "99" as byte pairs. */
const TWO_DIGITS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i % 2 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** Writes an ASCII string (numbers' text, headers), one byte per character; no view per call. */
export function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/** Writes a non-negative integer below 2⁵³ in decimal. */
export function writeUint(buf: Uint8Array, pos: number, n: number): number {
  if (n < 10) { buf[pos] = ZERO + n; return pos + 1; }
  if (n > 0x7fffffff) return writeAscii(buf, pos, String(n));
  // int32 arithmetic from here (V8 keeps it in registers).
  let digits = 1;
  for (let m = n; m >= 10; m = (m / 10) | 0) digits++;
  for (let i = pos + digits - 1; i >= pos; i--) { const q = (n / 10) | 0; buf[i] = ZERO + n - 10 * q; n = q; }
  return pos + digits;
}

/**
 * Writes f32 value x (any double is accepted; NaN and ±Infinity as JavaScript spells them) with nine
 * significant digits, trailing zeros dropped, laid out as JavaScript's Number-to-String does
 * (plain from 1e-6 up to 1e21, exponential outside): Math.fround(0.1) → "0.100000001". Returns
 * the new position; needs ≤ 24 bytes.
 */
export function writeF32(buf: Uint8Array, pos: number, x: number): number {
  if (x === 0) { buf[pos] = ZERO; return pos + 1; }
  if (!Number.isFinite(x)) return writeAscii(buf, pos, String(x));
  const value = x;
  if (x < 0) { buf[pos++] = MINUS; x = -x; }
  // m = round(x·10^(8−e)) with 10^8 ≤ m < 10^9: the nine significant digits. e from the table
  // (a first guess; the scaled value's range corrects it by one either way).
  let e = decimalExponent(x);
  let s = scaled(x, 8 - e);
  if (s >= 1e9) { e++; s = scaled(x, 8 - e); } else if (s < 1e8) { e--; s = scaled(x, 8 - e); }
  // `scaled` rounds at most twice (×10^−k is not exact), moving s by < 2·1e9·2⁻⁵³ ≈ 2.2e-7: only a
  // fraction that close to ½ could round the other way than the exact decimal (toPrecision rounds
  // ties up); those, and magnitudes beyond the table (NaN from `scaled`), take the slow path.
  const fl = Math.floor(s), fraction = s - fl;
  if (!(fraction < 0.499999 || fraction > 0.500001)) {
    return writeAscii(buf, pos - (value < 0 ? 1 : 0), String(Number(value.toPrecision(9))));
  }
  let m = (fraction > 0.5 ? fl + 1 : fl) | 0;
  if (m === 1e9) { m = 1e8; e++; }
  // Drop trailing zeros: k significant digits remain.
  let k = 9;
  for (let q = (m / 10) | 0; m === 10 * q; q = (m / 10) | 0) { m = q; k--; }
  const n = e + 1; // the decimal point sits after n digits: x = 0.d₁…d_k × 10^n
  if (n >= k && n <= 21) {
    pos = writeDigits(buf, pos, m, k);
    for (let i = k; i < n; i++) buf[pos++] = ZERO;
    return pos;
  }
  if (n > 0 && n <= 21) {
    // d₁…d_n . d_(n+1)…d_k
    const lo = POW10[k - n]!, head = Math.floor(m / lo);
    pos = writeDigits(buf, pos, head, n);
    buf[pos++] = DOT;
    return writeDigits(buf, pos, m - head * lo, k - n);
  }
  if (n <= 0 && n > -6) {
    buf[pos++] = ZERO; buf[pos++] = DOT;
    for (let i = 0; i < -n; i++) buf[pos++] = ZERO;
    return writeDigits(buf, pos, m, k);
  }
  // d₁[.d₂…d_k]e±(n−1)
  const lo = POW10[k - 1]!, head = Math.floor(m / lo);
  buf[pos++] = ZERO + head;
  if (k > 1) { buf[pos++] = DOT; pos = writeDigits(buf, pos, m - head * lo, k - 1); }
  buf[pos++] = E;
  buf[pos++] = n - 1 < 0 ? MINUS : PLUS;
  return writeUint(buf, pos, Math.abs(n - 1));
}

/** x·10^k in f64: one rounding for k ≥ 0 (10^k is exact up to 22), two for k < 0; NaN beyond ±22. */
function scaled(x: number, k: number): number {
  if (k >= 0) return k <= 22 ? x * POW10[k]! : NaN;
  return k >= -22 ? x * NEG_POW10[-k]! : NaN;
}

/** ⌊log₁₀ x⌋ for x > 0, possibly off by one (callers correct it). */
function decimalExponent(x: number): number {
  // log₁₀ 2 · (binary exponent): exact enough for a guess, and much cheaper than Math.log10.
  F64[0] = x;
  const e2 = ((U32[1]! >>> 20) & 0x7ff) - 1023;
  return Math.floor(e2 * 0.30102999566398120);
}
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** Exactly `count` decimal digits of 0 ≤ m < 10^count (leading zeros kept), two at a time. */
function writeDigits(buf: Uint8Array, pos: number, m: number, count: number): number {
  let i = pos + count;
  while (i - pos >= 2) {
    const q = (m / 100) | 0, r = (m - 100 * q) << 1;
    buf[--i] = TWO_DIGITS[r + 1]!; buf[--i] = TWO_DIGITS[r]!;
    m = q;
  }
  if (i > pos) buf[--i] = ZERO + m;
  return pos + count;
}
