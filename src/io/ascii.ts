/**
 * Numbers as ASCII bytes straight into a buffer, for the large CSV outputs (10⁸ numbers): no string
 * per number. `writeF32` prints exactly what `String(Number(x.toPrecision(9)))` prints (nine
 * significant digits round-trip every f32; the shortest form of the rounded decimal, in JavaScript's
 * Number-to-String layout), which is what the CSV of a GPU solve always held; 35 ns against 345 ns per number
 * (`node bench/csv-format.mjs`).
 */

const ZERO = 48, DOT = 46, MINUS = 45, E = 101, PLUS = 43;
/** 10^k for k = 0…22, exact in f64. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
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
 * Writes values[index], an f32 value (any double is accepted; NaN and ±Infinity as JavaScript spells
 * them), with nine significant digits, trailing zeros dropped, laid out as JavaScript's
 * Number-to-String does (plain from 1e-6 up to 1e21, exponential outside): Math.fround(0.1) →
 * "0.100000001". Returns the new position; needs ≤ 24 bytes. The value is read here rather than
 * passed: a double argument of a call that is not inlined is boxed, and 10⁸ boxes kept the
 * young-generation collector busy.
 */
export function writeF32(buf: Uint8Array, pos: number, values: Float64Array, index: number): number {
  let x = values[index]!;
  if (x === 0) { buf[pos] = ZERO; return pos + 1; }
  if (!Number.isFinite(x)) return writeAscii(buf, pos, String(x));
  const value = x;
  if (x < 0) { buf[pos++] = MINUS; x = -x; }
  // m = round(x·10^(8−e)) with 10^8 ≤ m < 10^9: the nine significant digits. e = ⌊log₁₀ x⌋ from
  // tables indexed by x's binary exponent: the guess ⌊log₁₀ 2^e₂⌋, plus one where x reaches the next
  // power of ten (no second multiplication to correct a guess, no branch on it).
  F64[0] = x;
  const b2 = (U32[1]! >>> 20) & 0x7ff;
  const e = EXPONENT_GUESS[b2]! + (x >= NEXT_POWER[b2]! ? 1 : 0);
  // One rounding of 10^(8−e) (none for 0 ≤ 8−e ≤ 22) and one of the product move s by < 2·1e9·2⁻⁵³
  // ≈ 2.2e-7: only a fraction that close to ½ could round the other way than the exact decimal
  // (toPrecision rounds ties up); those, and s outside [1e8, 1e9) (x next to a power of ten that
  // f64 does not hold exactly, or beyond f64's powers), take the slow path.
  const s = x * SCALE[e + SCALE_OFFSET]!;
  const fl = Math.floor(s), fraction = s - fl;
  if (!(fraction < 0.499999 || fraction > 0.500001) || !(s >= 1e8 && s < 1e9)) {
    return writeAscii(buf, pos - (value < 0 ? 1 : 0), String(Number(value.toPrecision(9))));
  }
  let m = (fraction > 0.5 ? fl + 1 : fl) | 0, n = e + 1; // the decimal point sits after n digits: x = 0.d₁…d_k × 10^n
  if (m === 1e9) { m = 1e8; n++; }
  // Drop trailing zeros: k significant digits remain.
  let k = 9;
  for (let q = (m / 10) | 0; m === 10 * q; q = (m / 10) | 0) { m = q; k--; }
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

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Per biased binary exponent b of an f64 (x = 1.f × 2^(b−1023)): ⌊(b−1023)·log₁₀ 2⌋, the decimal exponent of 2^(b−1023), and 10 to one more, the least power of ten above 2^(b−1023). */
const EXPONENT_GUESS = Int16Array.from({ length: 2048 }, (_, b) => Math.floor((b - 1023) * 0.30102999566398120));
const NEXT_POWER = Float64Array.from(EXPONENT_GUESS, (g) => Number(`1e${g + 1}`));
/** 10^(8−e) for e = −SCALE_OFFSET … 308 (f64 nearest; 0 and Infinity beyond f64's range send s out of [1e8, 1e9)). */
const SCALE_OFFSET = 330;
const SCALE = Float64Array.from({ length: SCALE_OFFSET + 309 }, (_, i) => Number(`1e${8 - (i - SCALE_OFFSET)}`));

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
