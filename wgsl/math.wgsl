// Accurate f32 elementary functions for the model language (src/codegen/emit.ts maps `tanh`,
// `sinh`, `cosh`, `tan`, `atan`, `asin`, `acos` and `log` here).
//
// Why: WGSL lets implementations make these loose — atan/asin/acos/tan up to 4096 ULP, log an
// absolute 2^-21 near 1 — and measured on llvmpipe (200 001 points each): asin 4.0e-4, acos 2.3e-4,
// atan 2.1e-5 relative error, tanh and sinh 1.7e-4 near 0 ((e^2x − 1)/(e^2x + 1) cancels). The
// versions below use only +, −, ×, ÷, sqrt and exp away from their cancellations, which WGSL
// requires to be accurate (≤ 2.5 ULP; exp 3 + 2|x| ULP), so a model means the same on every GPU.
// Accuracy measured against f64 at the same f32 inputs: see docs/numerics.md and
// test/functions.test.ts.

const CT_PI_2: f32 = 1.5707963705062866;
const CT_PI_6: f32 = 0.5235987901687622;
const CT_SQRT3: f32 = 1.7320508075688772;
// tan(π/12) = 2 − √3: below it the atan series converges fast.
const CT_TAN_PI_12: f32 = 0.2679491924311228;

// A quiet NaN made at run time from x's bits (a constant NaN is a WGSL compile error).
fn ct_nan(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) | 0x7fc00000u);
}

// x != x may be folded to false by an optimiser that assumes no NaNs; the bits cannot be.
fn ct_isnan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// atan on [0, tan(π/12)]: z − z³/3 + … − z¹¹/11 (Taylor; the first omitted term is < 3e-9 z).
fn ct_atan_small(z: f32) -> f32 {
  let z2 = z * z;
  return z + z * z2 * (-0.33333333333 + z2 * (0.2 + z2 * (-0.14285714286 + z2 * (0.11111111111 + z2 * (-0.09090909091)))));
}

// atan(x): |x| > 1 → π/2 − atan(1/|x|); above tan(π/12), atan a = π/6 + atan((√3a − 1)/(a + √3)).
fn ct_atan(x: f32) -> f32 {
  var a = abs(x);
  let big = a > 1.0;
  if (big) { a = 1.0 / a; }
  var r: f32;
  if (a > CT_TAN_PI_12) {
    r = CT_PI_6 + ct_atan_small((CT_SQRT3 * a - 1.0) / (a + CT_SQRT3));
  } else {
    r = ct_atan_small(a);
  }
  if (big) { r = CT_PI_2 - r; }
  if (ct_isnan(x)) { return x; }
  return select(r, -r, x < 0.0);
}

// asin x = atan(x / √((1 − x)(1 + x))); 1 − x is exact near 1 (Sterbenz), so no cancellation.
fn ct_asin(x: f32) -> f32 {
  let a = abs(x);
  if (a > 1.0) { return ct_nan(x); }
  if (a == 1.0) { return select(CT_PI_2, -CT_PI_2, x < 0.0); }
  return ct_atan(x / sqrt((1.0 - a) * (1.0 + a)));
}

// acos x = 2 atan(√((1 − x)/(1 + x))): accurate near x = 1, where π/2 − asin x cancels.
fn ct_acos(x: f32) -> f32 {
  if (abs(x) > 1.0) { return ct_nan(x); }
  if (x == -1.0) { return 2.0 * CT_PI_2; }
  return 2.0 * ct_atan(sqrt((1.0 - x) / (1.0 + x)));
}

// e^u − 1: Taylor to u⁸/8! for |u| ≤ 0.35 (first omitted term < 3e-10 |u|), else exp(u) − 1
// (≥ 0.42 in size there, so the subtraction loses at most 2 bits).
fn ct_expm1(u: f32) -> f32 {
  if (abs(u) > 0.35) { return exp(u) - 1.0; }
  return u * (1.0 + u * (0.5 + u * (0.16666666667 + u * (0.041666666667 + u * (0.0083333333333
    + u * (0.0013888888889 + u * (0.00019841269841 + u * 0.000024801587302)))))));
}

// tanh x = e/(e + 2), e = e^(2|x|) − 1; |x| ≥ 9 rounds to ±1 in f32.
fn ct_tanh(x: f32) -> f32 {
  if (ct_isnan(x)) { return x; }
  let a = min(abs(x), 9.0);
  let e = ct_expm1(2.0 * a);
  let r = e / (e + 2.0);
  return select(r, -r, x < 0.0);
}

// sinh x = (e + e/(e + 1))/2, e = e^|x| − 1.
fn ct_sinh(x: f32) -> f32 {
  let e = ct_expm1(abs(x));
  let r = 0.5 * (e + e / (e + 1.0));
  return select(r, -r, x < 0.0);
}

fn ct_cosh(x: f32) -> f32 {
  let E = exp(abs(x));
  return 0.5 * E + 0.5 / E;
}

// WGSL's tan is only "inherited from sin/cos"; say so explicitly so every implementation agrees.
fn ct_tan(x: f32) -> f32 {
  return sin(x) / cos(x);
}

// log x: near 1 (x ∈ [0.7, 1.4]) as 2 atanh(u), u = (x − 1)/(x + 1) — x − 1 is exact there and
// |u| ≤ 0.18, so the series to u¹³ is exact to f32; elsewhere the builtin (3 ULP outside [0.5, 2]).
fn ct_log(x: f32) -> f32 {
  if (x < 0.7 || x > 1.4) { return log(x); }
  let u = (x - 1.0) / (x + 1.0);
  let u2 = u * u;
  return 2.0 * u * (1.0 + u2 * (0.33333333333 + u2 * (0.2 + u2 * (0.14285714286 + u2 * (0.11111111111
    + u2 * (0.09090909091 + u2 * 0.076923076923))))));
}

// x^y with JavaScript's Math.pow meaning where WGSL leaves pow undefined: a negative base with an
// integer exponent (the sign from its parity), 0^y, and NaN for a negative base otherwise.
fn ct_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (x == 0.0) { return select(0.0, bitcast<f32>(bitcast<u32>(x) | 0x7f800000u), y < 0.0); }
  let r = pow(abs(x), y);
  if (x > 0.0) { return r; }
  if (floor(y) != y) { return ct_nan(x); }
  return select(r, -r, fract(y * 0.5) != 0.0);
}
