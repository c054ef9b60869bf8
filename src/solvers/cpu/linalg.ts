/** Dense LU with partial pivoting for the small systems of the Rosenbrock methods and their adjoint. */

/** Factors A in place (row-major n×n) so that P·A = L·U, `perm` the row order; false if singular. */
export function luFactor(A: Float64Array, perm: Int32Array, n: number): boolean {
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let c = 0; c < n; c++) {
    let piv = c, best = Math.abs(A[c * n + c]!);
    for (let r = c + 1; r < n; r++) { const v = Math.abs(A[r * n + c]!); if (v > best) { best = v; piv = r; } }
    if (!(best > 0)) return false;
    if (piv !== c) {
      for (let j = 0; j < n; j++) { const tmp = A[c * n + j]!; A[c * n + j] = A[piv * n + j]!; A[piv * n + j] = tmp; }
      const tp = perm[c]!; perm[c] = perm[piv]!; perm[piv] = tp;
    }
    const d = A[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const m = (A[r * n + c]! /= d);
      if (m !== 0) for (let j = c + 1; j < n; j++) A[r * n + j]! -= m * A[c * n + j]!;
    }
  }
  return true;
}

/** Solves A x = b in place in `b` with the factors of `luFactor` (`tmp`: n scratch values). */
export function luSolve(A: Float64Array, perm: Int32Array, n: number, b: Float64Array, tmp: Float64Array) {
  for (let i = 0; i < n; i++) tmp[i] = b[perm[i]!]!;
  for (let i = 0; i < n; i++) { let s = tmp[i]!; for (let j = 0; j < i; j++) s -= A[i * n + j]! * tmp[j]!; tmp[i] = s; }
  for (let i = n - 1; i >= 0; i--) { let s = tmp[i]!; for (let j = i + 1; j < n; j++) s -= A[i * n + j]! * tmp[j]!; tmp[i] = s / A[i * n + i]!; }
  b.set(tmp.subarray(0, n));
}

/** Solves Aᵀ x = b in place: Aᵀ = Uᵀ Lᵀ P, so Uᵀ z = b, Lᵀ w = z, then x = Pᵀ w (x[perm[i]] = w[i]). */
export function luSolveTransposed(A: Float64Array, perm: Int32Array, n: number, b: Float64Array, tmp: Float64Array) {
  for (let i = 0; i < n; i++) { let s = b[i]!; for (let j = 0; j < i; j++) s -= A[j * n + i]! * tmp[j]!; tmp[i] = s / A[i * n + i]!; }
  for (let i = n - 1; i >= 0; i--) { let s = tmp[i]!; for (let j = i + 1; j < n; j++) s -= A[j * n + i]! * tmp[j]!; tmp[i] = s; }
  for (let i = 0; i < n; i++) b[perm[i]!] = tmp[i]!;
}
