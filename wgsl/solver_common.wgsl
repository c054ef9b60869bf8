// What only WGSL needs, shared by every batched-integrator kernel (the forward solver and the
// adjoint's backward sweep). The generators (src/codegen/kernel.ts, src/codegen/adjoint.ts)
// prepend the constants N (states), P (parameters) and the `Config` struct, and append their
// bindings (among them `cfg: Config`; all from src/codegen/programs.ts), the step code of
// src/codegen/step.ts (the same for the f64 CPU path), the model's functions and `main`.


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
