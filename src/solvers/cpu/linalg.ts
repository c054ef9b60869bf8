/**
 * The transposed solve for the factors of the generated LU (src/codegen/step.ts, `luFactor`):
 * only the Rosenbrock adjoint needs it, on the CPU.
 */

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
