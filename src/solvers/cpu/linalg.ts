/**
 * Host-side dense linear algebra in f64: a small dense solve for the normal equations of the
 * observation and covariate fits (src/twin). (The integrators' LU and its transposed solve are
 * generated code: src/codegen/step.ts.)
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
