// Shared by every batched-integrator kernel (the forward solver and the adjoint's backward sweep).
// The generators (src/codegen/kernel.ts, src/codegen/adjoint.ts) prepend the constants N (states),
// P (parameters), the status codes and the `Config` struct, and append their bindings (among them
// `cfg: Config`; all from src/codegen/programs.ts), the model's functions and `main`.


const FLAG_STARTED: u32 = 1u;
const FLAG_LAST_REJECTED: u32 = 2u;
const FLAG_LAST_NONFINITE: u32 = 4u;
const EPS32: f32 = 1.1920929e-7;
// t counts as t1 once within this many ulps of it.
const END_SLACK: f32 = 8.0 * EPS32;

// WGSL has no isnan/isinf; test the exponent bits, which no compiler may fold away.
fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// Compensated sums only work if the compiler keeps every rounding step. WGSL has no `precise`,
// and Mesa's NIR (lavapipe) applies inexact algebra such as (a + b) − a → b, which turns a Kahan
// correction into 0 (measured: RK4 with 1e5 f32 steps lost 3 digits). Multiplying by a uniform
// 1.0 hides the identity from the optimiser at the cost of one multiply.
fn opaque(x: f32) -> f32 {
  return x * cfg.one;
}

// t + h kept as an unevaluated sum hi + lo (Knuth's TwoSum), so that 1e6 steps of f32 time do
// not drift by 1e6 ulps.
fn add_time(t: vec2<f32>, h: f32) -> vec2<f32> {
  let s = opaque(t.x + h);
  let bp = opaque(s - t.x);
  let e = (t.x - opaque(s - bp)) + (h - bp);
  let lo = opaque(t.y + e);
  let hi = opaque(s + lo);
  return vec2<f32>(hi, lo - opaque(hi - s));
}

// (a_hi + a_lo) − (t_hi + t_lo), accurate while the two are close.
fn time_until(a_hi: f32, a_lo: f32, t: vec2<f32>) -> f32 {
  return (a_hi - t.x) + (a_lo - t.y);
}

// The whole remaining distance when h would overshoot it or stop a sliver short of it (a sliver
// being < 1e-6·h, or so close to t that the step underflow test would refuse it).
fn land_on(h: f32, distance: f32, t: f32) -> f32 {
  return select(h, distance, distance <= h * (1.0 + 1e-6) + 16.0 * EPS32 * abs(t));
}
