/**
 * Host-side dense linear algebra in f64: the transposed solve for the factors of the generated LU
 * (src/codegen/step.ts, `luFactor`), which only the Rosenbrock adjoint needs, and a small dense
 * solve for the normal equations of the observation and covariate fits (src/twin).
 */

/**
 * Solves A x = b for a small dense n×n A (row-major) by Gaussian elimination with partial pivoting;
 * A and b are left untouched.
 */
export function solveDense(A: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const M = Float64Array.from({ length: n * n }, (_, i) => A[i]!), x = Float64Array.from({ length: n }, (_, i) => b[i]!);
  return solveDenseInPlace(M, x, n);
}

/** `solveDense` without allocation, for inner loops: M is overwritten, x holds b in and the solution out. */
export function solveDenseInPlace(M: Float64Array, x: Float64Array, n: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]!) > Math.abs(M[p * n + c]!)) p = r;
    if (p !== c) {
      for (let j = 0; j < n; j++) { const s = M[c * n + j]!; M[c * n + j] = M[p * n + j]!; M[p * n + j] = s; }
      const s = x[c]!; x[c] = x[p]!; x[p] = s;
    }
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c]! / M[c * n + c]!;
      for (let j = c; j < n; j++) M[r * n + j]! -= f * M[c * n + j]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let j = c + 1; j < n; j++) s -= M[c * n + j]! * x[j]!;
    x[c] = s / M[c * n + c]!;
  }
  return x;
}

/**
 * Solves Aᵀ x = b in place, A = Pᵀ L U with P = P_(n−2)⋯P_0 (P_c swaps rows c and piv[c], LAPACK's
 * ipiv): Aᵀ = Uᵀ Lᵀ P, so Uᵀ z = b, Lᵀ w = z, then x = P_0 ⋯ P_(n−2) w (swaps in reverse order).
 */
export function luSolveTransposed(A: Float64Array, piv: Int32Array, n: number, b: Float64Array, tmp: Float64Array) {
  for (let i = 0; i < n; i++) { let s = b[i]!; for (let j = 0; j < i; j++) s -= A[j * n + i]! * tmp[j]!; tmp[i] = s / A[i * n + i]!; }
  for (let i = n - 1; i >= 0; i--) { let s = tmp[i]!; for (let j = i + 1; j < n; j++) s -= A[j * n + i]! * tmp[j]!; tmp[i] = s; }
  for (let c = n - 2; c >= 0; c--) { const r = piv[c]!; if (r !== c) { const s = tmp[c]!; tmp[c] = tmp[r]!; tmp[r] = s; } }
  b.set(tmp.subarray(0, n));
}
